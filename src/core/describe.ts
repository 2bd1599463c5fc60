/** A value as an error message quotes it: its JSON, cut at 60 characters; containers by kind only. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  const s = JSON.stringify(v);
  if (s.length <= 60) return s;
  // Never between the two halves of a surrogate pair: the message would hold a lone one, which no store keeps.
  const cut = isHighSurrogate(s.charCodeAt(56)) ? 56 : 57;
  return `${s.slice(0, cut)}...`;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

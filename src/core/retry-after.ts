/**
 * An HTTP Retry-After value (RFC 9110 §10.2.3: delay-seconds or an HTTP date)
 * in milliseconds; undefined when absent or unreadable. A date in the past is 0.
 */
export function retryAfterMs(header: string | string[] | null | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value === null || value.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  // Every HTTP-date form starts with a day name; Date.parse alone takes "-1" or "1.5" as years.
  if (!/^\s*[A-Za-z]{3}/.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

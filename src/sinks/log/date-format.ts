/**
 * The subset of Java's SimpleDateFormat that logback `%d{…}` patterns use,
 * rendered in UTC: the rollover day is a UTC day, so every line of one file
 * carries a date of that file's day.
 */
export type DateFormatter = (date: Date) => string;

/** logback's `%date` with no option and `%d{ISO8601}`. */
export const ISO8601_PATTERN = 'yyyy-MM-dd HH:mm:ss,SSS';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

const pad = (n: number, width: number) => String(n).padStart(width, '0');

type Field = (d: Date, width: number) => string;

const FIELDS: Readonly<Record<string, Field>> = {
  y: (d, w) => (w === 2 ? pad(d.getUTCFullYear() % 100, 2) : pad(d.getUTCFullYear(), w)),
  M: (d, w) => (w >= 3 ? MONTHS[d.getUTCMonth()]! : pad(d.getUTCMonth() + 1, w)),
  d: (d, w) => pad(d.getUTCDate(), w),
  H: (d, w) => pad(d.getUTCHours(), w),
  m: (d, w) => pad(d.getUTCMinutes(), w),
  s: (d, w) => pad(d.getUTCSeconds(), w),
  S: (d, w) => pad(d.getUTCMilliseconds(), 3).slice(0, Math.max(w, 3)).padEnd(w, '0'),
  E: (d) => DAYS[d.getUTCDay()]!,
  // Zone letters: the time is UTC, so the offset is always zero.
  Z: () => '+0000',
  X: () => 'Z',
};

/** Compiles `pattern`; throws Error with the offending letter when it is not supported. */
export function compileDateFormat(pattern: string): DateFormatter {
  const parts: (string | DateFormatter)[] = [];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === "'") {
      // 'text' is literal; '' is a single quote, inside or outside quoted text.
      let j = i + 1;
      let text = '';
      for (;;) {
        if (j >= pattern.length) throw new Error(`unterminated quote in date pattern "${pattern}"`);
        if (pattern[j] === "'") {
          if (pattern[j + 1] === "'") {
            text += "'";
            j += 2;
            continue;
          }
          break;
        }
        text += pattern[j];
        j++;
      }
      parts.push(j === i + 1 ? "'" : text);
      i = j + 1;
      continue;
    }
    if (/[A-Za-z]/.test(c)) {
      let j = i;
      while (pattern[j] === c) j++;
      const width = j - i;
      const field = FIELDS[c];
      if (!field) throw new Error(`date pattern letter "${c}" is not supported (use y M d H m s S E Z X and 'quoted text')`);
      parts.push((d) => field(d, width));
      i = j;
      continue;
    }
    parts.push(c);
    i++;
  }
  return (date) => parts.map((p) => (typeof p === 'string' ? p : p(date))).join('');
}

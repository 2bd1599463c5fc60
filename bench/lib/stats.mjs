/** Small numeric helpers shared by the benchmarks: percentiles, rates, ratios and a plain-text table. */

/** The p-th percentile (0–100) of `values`, nearest-rank; NaN for an empty list. */
export function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function perSecond(count, ms) {
  return ms > 0 ? (count * 1000) / ms : Number.NaN;
}

/** a / b rounded for display; the JSON keeps the unrounded value. */
export function ratio(a, b) {
  return b > 0 && Number.isFinite(a) ? a / b : Number.NaN;
}

/** Human formatting: thousands separators for rates, 2 decimals for small numbers. */
export function fmt(value, unit = '') {
  if (value === undefined || value === null || Number.isNaN(value)) return '–';
  if (typeof value === 'string') return value;
  const abs = Math.abs(value);
  const text = abs >= 100 || Number.isInteger(value) ? Math.round(value).toLocaleString('en-US') : abs >= 10 ? value.toFixed(1) : value.toFixed(2);
  return unit ? `${text} ${unit}` : text;
}

export function fmtRatio(value) {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : '–';
}

/** Renders rows (arrays of cells) under a header as an aligned text table. */
export function table(header, rows) {
  const cells = [header, ...rows].map((r) => r.map((c) => String(c)));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

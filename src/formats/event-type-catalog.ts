/**
 * The event-type catalog: every type the event sources of format-registry.ts
 * declare, so that `include` / `exclude` lists are validated at start-up: a
 * typo such as "logn" must fail loudly instead of silently routing nothing.
 */
import { EVENT_SOURCES } from './format-registry.js';

const KNOWN: readonly string[] = EVENT_SOURCES.flatMap((s) => Object.keys(s.eventTypes.types ?? {}));

/**
 * Open namespaces: the operation names of these producers are not a closed
 * list (Temporal Cloud operations, CloudTrail eventNames), so any name under
 * the prefix is accepted.
 */
const OPEN_NAMESPACES: readonly string[] = EVENT_SOURCES.flatMap((s) => s.eventTypes.openNamespace ?? []);

export function knownEventTypes(extra: readonly string[] = []): Set<string> {
  return new Set([...KNOWN, ...extra]);
}

/**
 * Checks one include/exclude entry. Returns null when valid, else the problem
 * (with a suggestion when a known type is one edit or transposition away).
 * Entries may end in `*` to match a prefix, e.g. `temporal.*` or `admin_*`.
 */
export function eventTypeProblem(entry: string, known: ReadonlySet<string>): string | null {
  if (entry.endsWith('*')) {
    const prefix = entry.slice(0, -1);
    if (prefix === '' || OPEN_NAMESPACES.some((ns) => ns.startsWith(prefix) || prefix.startsWith(ns))) return null;
    for (const t of known) if (t.startsWith(prefix)) return null;
    return `pattern "${entry}" matches no known event type`;
  }
  if (known.has(entry)) return null;
  if (OPEN_NAMESPACES.some((ns) => entry.startsWith(ns) && entry.length > ns.length)) return null;
  const near = [...known].filter((t) => editDistance(t, entry) <= 2).sort();
  const hint = near.length > 0 ? ` (did you mean ${near.map((t) => `"${t}"`).join(' or ')}?)` : '';
  return `unknown event type "${entry}"${hint}; add it to audit.eventTypes if your producer sends it`;
}

export function matchesEventType(pattern: string, type: string): boolean {
  return pattern.endsWith('*') ? type.startsWith(pattern.slice(0, -1)) : pattern === type;
}

function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
    }
  }
  return d[a.length]![b.length]!;
}

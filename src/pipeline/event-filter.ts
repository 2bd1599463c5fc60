import { matchesEventType } from '../formats/event-type-catalog.js';

/**
 * As in Blitz: include picks the events first, then exclude removes from them.
 * No include: all.
 */
export function eventTypeFilter(include?: readonly string[], exclude?: readonly string[]): (type: string) => boolean {
  return (type) => {
    if (include && !include.some((p) => matchesEventType(p, type))) return false;
    if (exclude && exclude.some((p) => matchesEventType(p, type))) return false;
    return true;
  };
}

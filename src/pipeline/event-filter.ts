import { matchesEventType } from '../core/event-types.js';

/**
 * Seed 002: "the list of events is first defined by the include setting, and
 * then the events specified in exclude are excluded from it". No include: all.
 */
export function eventTypeFilter(include?: readonly string[], exclude?: readonly string[]): (type: string) => boolean {
  return (type) => {
    if (include && !include.some((p) => matchesEventType(p, type))) return false;
    if (exclude && exclude.some((p) => matchesEventType(p, type))) return false;
    return true;
  };
}

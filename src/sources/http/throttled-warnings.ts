import type { Logger } from 'pino';

/**
 * Warnings that may recur at request rates, each kind logged at most once per
 * interval with how often it happened since the last line: a producer sending
 * bad data in a loop must not flood the log. Every occurrence is still counted
 * in component_errors_total, and each producer learns the details from its answer.
 */
export class ThrottledWarnings {
  private readonly kinds = new Map<string, { loggedAt: number; count: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 60_000,
  ) {}

  /** `count` occurrences of `kind`; `fields` is only built when a line is written. */
  note(kind: string, count: number, line: () => { fields: Record<string, unknown>; countField: string; msg: string }): void {
    let k = this.kinds.get(kind);
    if (!k) this.kinds.set(kind, (k = { loggedAt: -Infinity, count: 0 }));
    k.count += count;
    const now = Date.now();
    if (now - k.loggedAt < this.intervalMs) return;
    const { fields, countField, msg } = line();
    this.logger.warn({ ...fields, [countField]: k.count }, msg);
    k.loggedAt = now;
    k.count = 0;
  }
}

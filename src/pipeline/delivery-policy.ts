/**
 * Blitz Identity Provider's delivery policy, decided per event over the emitters the event
 * was routed to (after include/exclude):
 * - neither list set: every routed emitter must confirm;
 * - `emitToAllOf`: each listed emitter the event was routed to must confirm;
 * - `emitAtLeastOneOf`: if the event was routed to any listed emitter, one of them must confirm.
 * Routed emitters in neither list are best-effort: they get the event, but
 * their failure does not fail the producer's request (docs/failure-modes.md, row 11).
 */
export class DeliveryPolicy {
  private readonly atLeastOneOf: ReadonlySet<string> | undefined;
  private readonly toAllOf: ReadonlySet<string> | undefined;

  constructor(opts: { emitAtLeastOneOf?: readonly string[] | undefined; emitToAllOf?: readonly string[] | undefined }) {
    this.atLeastOneOf = opts.emitAtLeastOneOf ? new Set(opts.emitAtLeastOneOf) : undefined;
    this.toAllOf = opts.emitToAllOf ? new Set(opts.emitToAllOf) : undefined;
  }

  /** Whether `emitter` can make the policy fail; non-required emitters are best-effort. */
  isRequired(emitter: string): boolean {
    if (!this.atLeastOneOf && !this.toAllOf) return true;
    return Boolean(this.atLeastOneOf?.has(emitter) || this.toAllOf?.has(emitter));
  }

  /** The required emitters that did not confirm; empty when the policy holds. */
  missing(routed: readonly string[], confirmed: ReadonlySet<string>): string[] {
    if (!this.atLeastOneOf && !this.toAllOf) return routed.filter((e) => !confirmed.has(e));
    const missing = this.toAllOf ? routed.filter((e) => this.toAllOf!.has(e) && !confirmed.has(e)) : [];
    if (this.atLeastOneOf) {
      const candidates = routed.filter((e) => this.atLeastOneOf!.has(e));
      if (candidates.length > 0 && !candidates.some((e) => confirmed.has(e))) missing.push(...candidates);
    }
    return missing;
  }
}

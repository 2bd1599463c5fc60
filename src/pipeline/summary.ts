import type { Logger } from 'pino';
import type { Pipeline } from './pipeline.js';

interface Totals {
  received: number;
  delivered: Map<string, number>;
  deadLettered: number;
  queued: number;
  /** Emitters in state failing or retrying, sorted. */
  troubled: string[];
}

/** One summary line: the message and its fields. */
export interface SummaryLine {
  msg: string;
  fields: {
    periodSec: number;
    received: number;
    delivered: Record<string, number>;
    deadLettered: number;
    queued: number;
    failing: string[];
    retrying: string[];
  };
}

/**
 * What the pipeline did since the previous look, for a person watching the
 * log at `info`, where the server is otherwise silent after its start. Nothing
 * is said for a period in which nothing happened and nothing changed, so an
 * idle server does not write a line a minute.
 */
export class ActivitySummary {
  // From zero: the first line covers the start too, and a backlog left by the last run shows as queued.
  private last: Totals = { received: 0, delivered: new Map(), deadLettered: 0, queued: 0, troubled: [] };
  private lastAt = Date.now();

  constructor(private readonly pipeline: Pipeline) {}

  /** The line for the period since the last call, or undefined when it was quiet. */
  async next(): Promise<SummaryLine | undefined> {
    const now = this.totalsNow(await this.receivedTotal());
    const previous = this.last;
    const periodSec = Math.round((Date.now() - this.lastAt) / 1000);
    this.last = now;
    this.lastAt = Date.now();
    const delivered: Record<string, number> = {};
    for (const [name, n] of now.delivered) {
      const d = n - (previous.delivered.get(name) ?? 0);
      if (d > 0) delivered[name] = d;
    }
    const received = now.received - previous.received;
    const deadLettered = now.deadLettered - previous.deadLettered;
    const quiet =
      received === 0 &&
      Object.keys(delivered).length === 0 &&
      deadLettered === 0 &&
      now.queued === previous.queued &&
      now.troubled.join() === previous.troubled.join();
    if (quiet) return undefined;

    const states = new Map(this.pipeline.emitters.map((e) => [e.name, e.status().state]));
    const failing = now.troubled.filter((n) => states.get(n) === 'failing');
    const retrying = now.troubled.filter((n) => states.get(n) === 'retrying');
    const sent = Object.values(delivered).reduce((a, b) => a + b, 0);
    const perEmitter = Object.entries(delivered).map(([name, n]) => `${name} ${n}`).join(', ');
    const parts = [
      `received ${received}`,
      `delivered ${sent}${perEmitter ? ` (${perEmitter})` : ''}`,
      ...(deadLettered > 0 ? [`dead-lettered ${deadLettered}`] : []),
      `queued ${now.queued}`,
      `failing: ${failing.join(', ') || 'none'}`,
      ...(retrying.length > 0 ? [`retrying: ${retrying.join(', ')}`] : []),
    ];
    return {
      msg: `last ${periodSec} s: ${parts.join(', ')}`,
      fields: { periodSec, received, delivered, deadLettered, queued: now.queued, failing, retrying },
    };
  }

  /** Events handed to the router, from HTTP ingest and every source. */
  private async receivedTotal(): Promise<number> {
    return this.pipeline.metrics.router.receivedTotal();
  }

  private totalsNow(received: number): Totals {
    const delivered = new Map<string, number>();
    let deadLettered = 0;
    let queued = 0;
    const troubled: string[] = [];
    for (const e of this.pipeline.emitters) {
      const s = e.status();
      delivered.set(e.name, s.delivered);
      deadLettered += s.deadLettered;
      queued += s.depth;
      if (s.state === 'failing' || s.state === 'retrying') troubled.push(e.name);
    }
    return { received, delivered, deadLettered, queued, troubled: troubled.sort() };
  }
}

/**
 * Logs an ActivitySummary line at info every `everySec` seconds (0: never).
 * Returns the function that stops it.
 */
export function startSummaryLog(pipeline: Pipeline, logger: Logger, everySec: number): () => void {
  if (everySec <= 0) return () => undefined;
  const summary = new ActivitySummary(pipeline);
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    summary
      .next()
      .then((line) => line && logger.info({ summary: line.fields }, line.msg))
      .catch((err: unknown) => logger.warn({ err }, 'activity summary failed'))
      .finally(() => (busy = false));
  }, everySec * 1000);
  timer.unref();
  return () => clearInterval(timer);
}

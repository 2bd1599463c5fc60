import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { pino, type Logger } from 'pino';
import { Emitter } from '../../src/pipeline/emitter.js';
import { eventTypeFilter } from '../../src/pipeline/event-filter.js';
import { PipelineMetrics } from '../../src/pipeline/metrics.js';
import { DeadLetterFile } from '../../src/queue/dead-letter-file.js';
import { EmbeddedJournal } from '../../src/queue/embedded-journal.js';
import type { BatchLimits, Sink } from '../../src/sinks/sink.js';
import { tempDir } from './temp.js';

export interface EmitterHarnessOptions {
  name?: string;
  type?: string;
  /** Queue cap in bytes (default 100 MB). */
  maxBytes?: number;
  whenFull?: 'block' | 'dropOldest';
  include?: string[];
  retry?: { initialBackoffMs: number; maxBackoffMs: number };
  /** Where the journal and dead-letter file go (default: a fresh temp dir). */
  dir?: string;
  /** The dead-letter file path (default `<dir>/dead.ndjson`). */
  deadLetterFile?: string;
  /** Where the emitter logs (default: nowhere). */
  logger?: Logger;
  /** The emitter's secret scrubber (a tenant destination's). */
  scrub?: (text: string) => string;
  /** A journal shared with other emitters (from `openJournal`); default: one of its own. */
  journal?: EmbeddedJournal;
  /** The emitter's batch keys over the sink's own (as a config's `batch` block). */
  batch?: Partial<BatchLimits>;
  /** Also close the sink when the test ends. */
  closeSink?: boolean;
}

/**
 * A real emitter (its own journal, dead-letter file, delivery loop) around
 * `sink`, started, and stopped with its journal closed when the test ends.
 */
export async function startEmitter(t: TestContext, sink: Sink, opts: EmitterHarnessOptions = {}) {
  const name = opts.name ?? 'e';
  const dir = opts.dir ?? (await tempDir(t));
  const logger = opts.logger ?? pino({ level: 'silent' });
  const journal = opts.journal ?? EmbeddedJournal.open({ dir: join(dir, `${name}.journal`), logger });
  const queue = journal.addDestination(name, { maxBytes: opts.maxBytes ?? 1e8, whenFull: opts.whenFull ?? 'block' });
  const deadLetter = new DeadLetterFile(opts.deadLetterFile ?? join(dir, 'dead.ndjson'), name);
  const metrics = new PipelineMetrics();
  const emitter = new Emitter({
    name,
    type: opts.type ?? 'test',
    sink,
    journal,
    queue,
    deadLetter,
    accepts: eventTypeFilter(opts.include),
    retry: opts.retry ?? { initialBackoffMs: 20, maxBackoffMs: 200 },
    batch: { ...sink.batch, ...opts.batch },
    logger,
    metrics,
    scrub: opts.scrub,
  });
  emitter.start();
  t.after(async () => {
    await emitter.stop(Date.now());
    if (!opts.journal) await journal.close();
    if (opts.closeSink) await sink.close();
  });
  return { emitter, journal, queue, deadLetter, dir, metrics };
}

/** A journal for several emitters of one test (a router's), closed after them when the test ends. */
export async function openJournal(t: TestContext, dir?: string): Promise<EmbeddedJournal> {
  const journal = EmbeddedJournal.open({ dir: join(dir ?? (await tempDir(t)), 'journal'), logger: pino({ level: 'silent' }) });
  t.after(() => journal.close());
  return journal;
}

import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { Emitter } from '../../src/pipeline/emitter.js';
import { eventTypeFilter } from '../../src/pipeline/event-filter.js';
import { PipelineMetrics } from '../../src/pipeline/metrics.js';
import { DeadLetterFile } from '../../src/queue/dead-letter-file.js';
import { DiskQueue } from '../../src/queue/disk-queue.js';
import type { Sink } from '../../src/sinks/sink.js';
import { tempDir } from './temp.js';

export interface EmitterHarnessOptions {
  name?: string;
  type?: string;
  /** Queue cap in bytes (default 100 MB). */
  maxBytes?: number;
  whenFull?: 'block' | 'dropOldest';
  include?: string[];
  retry?: { initialBackoffMs: number; maxBackoffMs: number };
  /** Where the queue and dead-letter file go (default: a fresh temp dir). */
  dir?: string;
  /** The dead-letter file path (default `<dir>/dead.ndjson`). */
  deadLetterFile?: string;
  /** Also close the sink when the test ends. */
  closeSink?: boolean;
}

/**
 * A real emitter (disk queue, dead-letter file, delivery loop) around `sink`,
 * started, and stopped with its queue closed when the test ends.
 */
export async function startEmitter(t: TestContext, sink: Sink, opts: EmitterHarnessOptions = {}) {
  const name = opts.name ?? 'e';
  const dir = opts.dir ?? (await tempDir(t));
  const logger = pino({ level: 'silent' });
  const queue = new DiskQueue({ name, file: join(dir, `${name}.queue.db`), maxBytes: opts.maxBytes ?? 1e8, whenFull: opts.whenFull ?? 'block', logger });
  const deadLetter = new DeadLetterFile(opts.deadLetterFile ?? join(dir, 'dead.ndjson'), name);
  const metrics = new PipelineMetrics();
  const emitter = new Emitter({
    name,
    type: opts.type ?? 'test',
    sink,
    queue,
    deadLetter,
    accepts: eventTypeFilter(opts.include),
    retry: opts.retry ?? { initialBackoffMs: 20, maxBackoffMs: 200 },
    batch: sink.batch,
    logger,
    metrics,
  });
  emitter.start();
  t.after(async () => {
    await emitter.stop(Date.now());
    emitter.closeQueue();
    if (opts.closeSink) await sink.close();
  });
  return { emitter, queue, deadLetter, dir, metrics };
}

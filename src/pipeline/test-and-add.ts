import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { AuditstreamError, errorMessage } from '../core/errors.js';
import type { CheckStep, ConnectGuard, Sink } from '../sinks/sink.js';
import type { ResolvedEmitter } from './emitter-config.js';
import { createSink } from './pipeline.js';

/** How long one Test & Add may take before it is reported as failed; a hung destination must not hang the caller. */
export const TEST_AND_ADD_TIMEOUT_MS = 30_000;

export interface TestAndAddResult {
  emitter: string;
  /** Every step passed. */
  ok: boolean;
  steps: CheckStep[];
}

export interface TestAndAddContext {
  /** Absolute data dir: a sink created for the test derives its paths from it. */
  dataDir: string;
  logger: Logger;
  metrics: Registry;
  /** The emitter's running sink, tested in place (no second connection) and left open. Absent: one is created and closed. */
  running?: Sink;
  /** A tenant's destination: its test connects only where the destination policy lets it. */
  connectGuard?: ConnectGuard;
}

/**
 * "Test & Add": proves an emitter's credentials and destination work without
 * sending events. Takes the resolved config, not a name, so a destination
 * that is not in the config file yet can be tested before it is added. The
 * answer is the same whatever goes wrong: a step that throws becomes a failed
 * `check` step naming the error code.
 */
export async function testAndAdd(emitter: ResolvedEmitter, ctx: TestAndAddContext): Promise<TestAndAddResult> {
  let sink: Sink | undefined = ctx.running;
  try {
    sink ??= await createSink(emitter, { emitterName: emitter.name, dataDir: ctx.dataDir, logger: ctx.logger, metrics: ctx.metrics, ...(ctx.connectGuard ? { connectGuard: ctx.connectGuard } : {}) });
    const steps = await sink.check(AbortSignal.timeout(TEST_AND_ADD_TIMEOUT_MS));
    return { emitter: emitter.name, ok: steps.every((s) => s.ok), steps };
  } catch (err) {
    const code = err instanceof AuditstreamError ? err.code : 'ERROR';
    return { emitter: emitter.name, ok: false, steps: [{ step: 'check', ok: false, detail: `${code}: ${errorMessage(err)}` }] };
  } finally {
    if (sink && !ctx.running) await sink.close().catch(() => undefined);
  }
}

import type { Logger } from 'pino';
import { errorMessage } from '../../core/errors.js';
import { sleep } from '../../core/async.js';
import { HeldLease } from './held-lease.js';
import { SHARD_END, type Lease, type LeaseTable } from './lease-table.js';
import { leasesToCreate, type ShardInfo, type StartingPosition } from './shard-sync.js';

/** What the coordinator needs from a running shard reader. */
export interface RunningReader {
  readonly done: Promise<'shard-end' | 'lost' | 'stopped'>;
  stop(drainMs: number): Promise<unknown>;
  status(): Record<string, unknown>;
}

export interface LeaseCoordinatorOptions {
  table: LeaseTable;
  /** The lease namespace of this stream inside the application: `region/streamName` or the ARN. */
  stream: string;
  workerId: string;
  leaseDurationMs: number;
  shardSyncIntervalMs: number;
  startingPosition: StartingPosition;
  listShards: (signal: AbortSignal) => Promise<ShardInfo[]>;
  startReader: (lease: HeldLease) => RunningReader;
  logger: Logger;
}

interface Holding {
  lease: HeldLease;
  reader: RunningReader;
}

/**
 * Keeps this worker's fair share of one stream's shards, the KCL way: renew
 * what it holds, take unowned or expired leases up to its share, and — only
 * when nothing is free — steal one lease at a time from the worker holding
 * the most. A shard becomes takeable only after all its parents reached
 * SHARD_END, so a reshard keeps per-key order and nothing is read twice as new.
 */
export class LeaseCoordinator {
  private readonly held = new Map<string, Holding>();
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private lastSyncAt = -Infinity;
  private syncWanted = true;
  private wake: (() => void) | undefined;
  private lastError: string | undefined;
  private leaseCount = 0;

  constructor(private readonly o: LeaseCoordinatorOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  /**
   * Stops every reader (an in-flight publish gets `drainMs` to be acknowledged
   * and checkpointed) and releases the leases so other workers take them at once.
   */
  async stop(drainMs: number): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await this.loop;
    await Promise.all(
      [...this.held.values()].map(async (h) => {
        await h.reader.stop(drainMs);
        await h.lease.release().catch((err) => this.o.logger.warn({ shard: h.lease.shardId, err: errorMessage(err) }, 'lease release failed'));
      }),
    );
    this.held.clear();
  }

  status(): Record<string, unknown> {
    return {
      stream: this.o.stream,
      leases: this.leaseCount,
      held: [...this.held.values()].map((h) => h.reader.status()),
      lastError: this.lastError,
    };
  }

  private async run(): Promise<void> {
    // Renewals three times per lease term: one failed renewal does not cost the lease.
    const intervalMs = Math.max(100, this.o.leaseDurationMs / 3);
    while (!this.abort.signal.aborted) {
      try {
        await this.pass();
        this.lastError = undefined;
      } catch (err) {
        if (this.abort.signal.aborted) break;
        this.lastError = errorMessage(err);
        this.o.logger.warn({ stream: this.o.stream, err: this.lastError }, 'lease pass failed');
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        void sleep(intervalMs, this.abort.signal).then(resolve);
      });
      this.wake = undefined;
    }
  }

  private async pass(): Promise<void> {
    await this.renewAll();
    let syncError: unknown;
    if (this.syncWanted || performance.now() - this.lastSyncAt >= this.o.shardSyncIntervalMs) {
      // A failed ListShards (throttled, unreachable) must not keep this worker from taking over expired leases.
      await this.syncShards().catch((err: unknown) => {
        syncError = err;
      });
    }
    if (this.abort.signal.aborted) return;
    await this.balance(await this.o.table.list(this.o.stream));
    if (syncError !== undefined) throw syncError;
  }

  private async syncShards(): Promise<void> {
    const shards = await this.o.listShards(this.abort.signal);
    const existing = await this.o.table.list(this.o.stream);
    const fresh = leasesToCreate(shards, existing, this.o.startingPosition);
    if (fresh.length > 0) {
      await this.o.table.createIfAbsent(this.o.stream, fresh);
      this.o.logger.info({ stream: this.o.stream, shards: fresh.map((l) => l.leaseKey) }, 'new shards found');
    }
    this.lastSyncAt = performance.now();
    this.syncWanted = false;
  }

  private async renewAll(): Promise<void> {
    await Promise.all(
      [...this.held.values()].map(async (h) => {
        let ok: boolean;
        try {
          ok = await h.lease.renew();
        } catch (err) {
          this.o.logger.warn({ shard: h.lease.shardId, err: errorMessage(err) }, 'lease renewal failed');
          ok = !h.lease.lost;
        }
        if (!ok) {
          this.o.logger.info({ shard: h.lease.shardId }, 'lease lost to another worker; reader stopped');
          this.held.delete(h.lease.shardId);
          // Stop without draining: the new owner reads from the last checkpoint; our checkpoints would be refused anyway.
          await h.reader.stop(0);
        }
      }),
    );
  }

  private async balance(leases: Lease[]): Promise<void> {
    this.leaseCount = leases.length;
    const finished = new Set(leases.filter((l) => l.checkpoint === SHARD_END).map((l) => l.leaseKey));
    const exists = new Set(leases.map((l) => l.leaseKey));
    // A parent without a lease row was trimmed from the stream before we ever saw it: nothing left to wait for.
    const eligible = leases.filter(
      (l) => l.checkpoint !== SHARD_END && l.parentShardIds.every((p) => finished.has(p) || !exists.has(p)),
    );
    const me = this.o.workerId;
    const counts = new Map<string, Lease[]>();
    const free: Lease[] = [];
    for (const l of eligible) {
      if (this.held.has(l.leaseKey)) continue;
      // Owned by this worker id but not held in memory: left by an earlier run with the same workerId.
      if (l.leaseOwner === null || l.expiresInMs === 0 || l.leaseOwner === me) free.push(l);
      else counts.set(l.leaseOwner, [...(counts.get(l.leaseOwner) ?? []), l]);
    }
    const workers = counts.size + 1;
    const target = Math.ceil(eligible.length / workers);
    let need = target - this.held.size;
    if (need <= 0) return;

    if (free.length > 0) {
      // Shuffled so that workers starting together do not all race for the same lease.
      for (const l of shuffle(free)) {
        if (need <= 0 || this.abort.signal.aborted) break;
        if (await this.take(l, l.leaseOwner === me)) need--;
      }
      return;
    }

    let most: Lease[] = [];
    for (const owned of counts.values()) if (owned.length > most.length) most = owned;
    // Steal only from a worker above its share, or at its share while we are two or more below ours (KCL's rule; it avoids ping-pong).
    if (most.length > target || (most.length === target && need > 1)) {
      const victim = most[Math.floor(Math.random() * most.length)]!;
      if (await this.take(victim, true)) {
        this.o.logger.info({ shard: victim.leaseKey, from: victim.leaseOwner }, 'lease stolen to balance shards');
      }
    }
  }

  private async take(l: Lease, steal: boolean): Promise<boolean> {
    const taken = await this.o.table.take(this.o.stream, l.leaseKey, l.leaseCounter, this.o.workerId, this.o.leaseDurationMs, steal);
    if (!taken || this.abort.signal.aborted) {
      if (taken) await this.o.table.release(this.o.stream, l.leaseKey, taken.leaseCounter, this.o.workerId);
      return false;
    }
    const lease = new HeldLease(this.o.table, this.o.workerId, this.o.leaseDurationMs, taken);
    const reader = this.o.startReader(lease);
    const holding = { lease, reader };
    this.held.set(l.leaseKey, holding);
    this.o.logger.info({ shard: l.leaseKey, checkpoint: taken.checkpoint }, 'lease taken');
    reader.done.then(
      (end) => this.readerEnded(holding, end),
      (err) => {
        this.o.logger.error({ shard: l.leaseKey, err: errorMessage(err) }, 'shard reader failed');
        return this.readerEnded(holding, 'stopped');
      },
    );
    return true;
  }

  /** A finished shard's lease is given up at once and its children looked for, so they start without waiting a sync interval. */
  private async readerEnded(h: Holding, end: 'shard-end' | 'lost' | 'stopped'): Promise<void> {
    if (this.held.get(h.lease.shardId) !== h || this.abort.signal.aborted) return;
    this.held.delete(h.lease.shardId);
    if (end === 'shard-end') {
      this.o.logger.info({ shard: h.lease.shardId }, 'shard finished');
      this.syncWanted = true;
    }
    if (end !== 'lost') await h.lease.release().catch(() => {});
    this.wake?.();
  }
}

function shuffle<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

import { Serial } from '../../core/async.js';
import type { Lease, LeaseTable } from './lease-table.js';

/**
 * A lease this worker holds. Renewals and checkpoints are compare-and-sets on
 * the same counter, so they run one at a time: a checkpoint racing a renewal
 * would otherwise see the counter it just bumped and think the lease lost.
 */
export class HeldLease {
  private lease: Lease;
  private readonly serial = new Serial();
  /** Local monotonic deadline: past it, a renewal that could not reach the table means the lease may be someone else's. */
  private validUntil: number;
  private lostFlag = false;

  constructor(
    private readonly table: LeaseTable,
    private readonly owner: string,
    private readonly durationMs: number,
    lease: Lease,
  ) {
    this.lease = lease;
    this.validUntil = performance.now() + lease.expiresInMs;
  }

  get shardId(): string {
    return this.lease.leaseKey;
  }
  get checkpoint(): string {
    return this.lease.checkpoint;
  }
  get subSequenceNumber(): number {
    return this.lease.checkpointSubSequenceNumber;
  }
  get lost(): boolean {
    return this.lostFlag;
  }

  /** False when the lease is lost: another worker changed it, or it could not be renewed before it ran out. */
  renew(): Promise<boolean> {
    return this.serial.run(async () => {
      if (this.lostFlag) return false;
      const startedAt = performance.now();
      let renewed: Lease | null;
      try {
        renewed = await this.table.renew(this.lease.stream, this.lease.leaseKey, this.lease.leaseCounter, this.owner, this.durationMs);
      } catch (err) {
        if (performance.now() >= this.validUntil) this.lostFlag = true;
        throw err;
      }
      if (!renewed) {
        this.lostFlag = true;
        return false;
      }
      // Measured from when the request left: the table's clock started the new term no earlier than that.
      this.validUntil = startedAt + renewed.expiresInMs;
      this.lease = { ...renewed, checkpoint: this.lease.checkpoint, checkpointSubSequenceNumber: this.lease.checkpointSubSequenceNumber };
      return true;
    });
  }

  /** Records progress; false when the lease was lost (the reader must stop without reading further). */
  saveCheckpoint(checkpoint: string, subSequenceNumber: number): Promise<boolean> {
    return this.serial.run(async () => {
      if (this.lostFlag) return false;
      const ok = await this.table.checkpoint(
        this.lease.stream,
        this.lease.leaseKey,
        this.lease.leaseCounter,
        this.owner,
        checkpoint,
        subSequenceNumber,
      );
      if (!ok) {
        this.lostFlag = true;
        return false;
      }
      this.lease = { ...this.lease, checkpoint, checkpointSubSequenceNumber: subSequenceNumber, ownerSwitchesSinceCheckpoint: 0 };
      return true;
    });
  }

  /** Gives the lease up so another worker takes it without waiting for expiry. */
  release(): Promise<boolean> {
    return this.serial.run(async () => {
      if (this.lostFlag) return false;
      this.lostFlag = true;
      return this.table.release(this.lease.stream, this.lease.leaseKey, this.lease.leaseCounter, this.owner);
    });
  }

}

import type { GetShardIteratorCommandInput } from '@aws-sdk/client-kinesis';
import { AT_TIMESTAMP, LATEST, SHARD_END, TRIM_HORIZON } from './lease-table.js';

/**
 * Where a shard reader stands: a lease checkpoint. A sequence number with a
 * subsequence number means "every user record up to and including user
 * record `subSequenceNumber` of Kinesis record `sequenceNumber` was acknowledged".
 */
export interface Position {
  checkpoint: string;
  subSequenceNumber: number;
}

export function isSequenceNumber(checkpoint: string): boolean {
  return /^\d+$/.test(checkpoint);
}

/**
 * The GetShardIterator request that resumes at `position`. A sequence-number
 * checkpoint resumes AT that record, not after it: an aggregated record may be
 * only partly done, and `alreadyDone` skips the user records that were.
 */
export function iteratorRequest(
  position: Position,
  startingTimestamp: Date | undefined,
): Pick<GetShardIteratorCommandInput, 'ShardIteratorType' | 'StartingSequenceNumber' | 'Timestamp'> {
  const c = position.checkpoint;
  if (isSequenceNumber(c)) return { ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: c };
  if (c === TRIM_HORIZON) return { ShardIteratorType: 'TRIM_HORIZON' };
  if (c === LATEST) return { ShardIteratorType: 'LATEST' };
  if (c === AT_TIMESTAMP) {
    if (!startingTimestamp) throw new Error('checkpoint AT_TIMESTAMP needs startingTimestamp');
    return { ShardIteratorType: 'AT_TIMESTAMP', Timestamp: startingTimestamp };
  }
  if (c === SHARD_END) throw new Error('a finished shard has no iterator');
  throw new Error(`unreadable checkpoint ${JSON.stringify(c)}`);
}

/** Whether user record `subSequenceNumber` of record `sequenceNumber` is at or before `position`. */
export function alreadyDone(position: Position, sequenceNumber: string, subSequenceNumber: number): boolean {
  return position.checkpoint === sequenceNumber && subSequenceNumber <= position.subSequenceNumber;
}

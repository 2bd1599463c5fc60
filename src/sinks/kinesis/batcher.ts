/**
 * Turns a batch of events into Kinesis records ("units"): one record per event,
 * or KPL aggregated records packing many events. A unit remembers which events
 * it carries, so a per-record PutRecords result becomes per-event outcomes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { encodeEvent } from '../../codecs/codec.js';
import type { AuditEvent } from '../../core/event.js';
import { valueAtPath } from '../../core/field-path.js';
import { KplAggregator, type UserRecord } from '../../formats/containers/kpl.js';
import { KINESIS_LIMITS, type KinesisSinkConfig } from './config.js';
import { hashKeyOf, randomHashKeyIn, type ShardMap, type ShardRange } from './shard-map.js';

export interface PutUnit {
  data: Buffer;
  partitionKey: string;
  /** Decimal; set when the record is routed by hash key instead of its partition key's MD5. */
  explicitHashKey?: string;
  /** The hash key Kinesis routes by. */
  hashKey: bigint;
  /** The shard the map says receives this record; undefined without a map. */
  shardId?: string;
  /** Indexes into the batch of the events this record carries, in order. */
  events: number[];
  /** What the record counts against the request and record limits: data plus partition key. */
  bytes: number;
}

export interface RecordPlan {
  units: PutUnit[];
  rejected: { index: number; reason: string }[];
}

type BuilderConfig = Pick<KinesisSinkConfig, 'partitionKey' | 'explicitHashKey' | 'codec' | 'aggregation'>;

const MIB = 1024 * 1024;

function randomKey(): string {
  return randomBytes(12).toString('base64url');
}

export class RecordBuilder {
  constructor(private readonly cfg: BuilderConfig) {}

  get keyed(): boolean {
    return this.cfg.partitionKey !== 'random';
  }

  /** One event as record data (Foxpass's record format): the codec's text, then "\n". */
  encode(event: AuditEvent): Buffer {
    return Buffer.from(`${encodeEvent(event, this.cfg.codec)}\n`, 'utf8');
  }

  /**
   * The ordering key of an event when partitionKey names a field. An event
   * without the field gets its own id: no ordering constraint, spread evenly.
   */
  fieldKeyOf(event: AuditEvent): string {
    const value = valueAtPath(event, this.cfg.partitionKey);
    if (value === undefined || value === null || value === '') return event.id;
    const key = typeof value === 'string' ? value : JSON.stringify(value);
    // Kinesis caps partition keys at 256 characters; a digest keeps long distinct values distinct.
    return key.length <= KINESIS_LIMITS.partitionKeyChars ? key : createHash('sha256').update(key).digest('hex');
  }

  plan(events: readonly AuditEvent[], map: ShardMap | null): RecordPlan {
    const encoded = events.map((e) => this.encode(e));
    const keys = events.map((e) => (this.keyed ? this.fieldKeyOf(e) : randomKey()));
    return this.cfg.aggregation ? this.planAggregated(encoded, keys, map) : this.planPlain(encoded, keys, map);
  }

  private route(partitionKey: string, explicitHashKey: string | undefined, map: ShardMap | null): { hashKey: bigint; shardId?: string } {
    const hashKey = explicitHashKey !== undefined ? BigInt(explicitHashKey) : hashKeyOf(partitionKey);
    const shardId = map?.shardFor(hashKey)?.shardId;
    return shardId ? { hashKey, shardId } : { hashKey };
  }

  private planPlain(encoded: Buffer[], keys: string[], map: ShardMap | null): RecordPlan {
    const plan: RecordPlan = { units: [], rejected: [] };
    const ehk = this.cfg.explicitHashKey;
    encoded.forEach((data, i) => {
      const partitionKey = keys[i]!;
      const bytes = data.length + Buffer.byteLength(partitionKey, 'utf8');
      if (bytes > KINESIS_LIMITS.bytesPerRecord) {
        plan.rejected.push({ index: i, reason: oversize(bytes, 'data plus partition key') });
        return;
      }
      plan.units.push({
        data,
        partitionKey,
        ...(ehk !== undefined ? { explicitHashKey: ehk } : {}),
        ...this.route(partitionKey, ehk, map),
        events: [i],
        bytes,
      });
    });
    return plan;
  }

  /**
   * Groups events by destination so each aggregated record holds only events
   * that belong on the shard it lands on — a KCL consumer drops user records
   * whose hash key is outside the shard after a reshard. Keyed: by the key's
   * shard (or by key, without a map). Random: round-robin over the open shards,
   * each aggregate pinned to its shard with an explicit hash key.
   */
  private planAggregated(encoded: Buffer[], keys: string[], map: ShardMap | null): RecordPlan {
    const plan: RecordPlan = { units: [], rejected: [] };
    const groups = new Map<string, { members: number[]; shard?: ShardRange }>();
    const join = (id: string, i: number, shard?: ShardRange) => {
      let g = groups.get(id);
      if (!g) groups.set(id, (g = shard ? { members: [], shard } : { members: [] }));
      g.members.push(i);
    };
    const fixedEhk = this.cfg.explicitHashKey;
    const offset = map && map.shards.length > 0 ? Math.floor(Math.random() * map.shards.length) : 0;
    encoded.forEach((_, i) => {
      if (fixedEhk !== undefined) join('explicit', i);
      else if (this.keyed) join(map?.shardFor(hashKeyOf(keys[i]!))?.shardId ?? `key:${keys[i]}`, i);
      else if (map && map.shards.length > 0) {
        const shard = map.shards[(offset + i) % map.shards.length]!;
        join(shard.shardId, i, shard);
      } else join('any', i);
    });

    for (const group of groups.values()) {
      let agg = new KplAggregator();
      let members: number[] = [];
      /** Random mode: the one key all user records of this aggregate share. */
      let sharedKey: string | undefined;
      /** The aggregate's own partition key: the shared key, or its first user record's key. */
      let outerKey: string | undefined;
      let aggEhk: string | undefined;

      const start = () => {
        agg = new KplAggregator();
        members = [];
        sharedKey = this.keyed ? undefined : randomKey();
        outerKey = sharedKey;
        aggEhk = fixedEhk ?? (group.shard ? randomHashKeyIn(group.shard).toString() : undefined);
      };
      const flush = () => {
        if (members.length === 0) return;
        const data = agg.build();
        const partitionKey = outerKey!;
        plan.units.push({
          data,
          partitionKey,
          ...(aggEhk !== undefined ? { explicitHashKey: aggEhk } : {}),
          ...this.route(partitionKey, aggEhk, map),
          events: members,
          bytes: data.length + Buffer.byteLength(partitionKey, 'utf8'),
        });
      };
      const userRecord = (i: number): UserRecord => ({
        partitionKey: sharedKey ?? keys[i]!,
        ...(aggEhk !== undefined ? { explicitHashKey: aggEhk } : {}),
        data: encoded[i]!,
      });
      const sizeWith = (rec: UserRecord) => agg.sizeWith(rec) + Buffer.byteLength(outerKey ?? rec.partitionKey, 'utf8');

      start();
      for (const i of group.members) {
        let rec = userRecord(i);
        if (members.length > 0 && sizeWith(rec) > KINESIS_LIMITS.bytesPerRecord) {
          flush();
          start();
          rec = userRecord(i);
        }
        const alone = sizeWith(rec);
        if (members.length === 0 && alone > KINESIS_LIMITS.bytesPerRecord) {
          plan.rejected.push({ index: i, reason: oversize(alone, 'as a KPL aggregated record with its partition key') });
          continue;
        }
        agg.add(rec);
        members.push(i);
        outerKey ??= rec.partitionKey;
      }
      flush();
    }
    return plan;
  }
}

function oversize(bytes: number, what: string): string {
  return `event is ${bytes} bytes (${what}), over the Kinesis record limit of 1 MiB (${MIB} bytes)`;
}

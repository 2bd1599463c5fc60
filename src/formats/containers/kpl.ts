/**
 * KPL aggregated records (the Kinesis Producer Library's format), written and
 * read with a hand-written protobuf codec: the message has four fields, and a
 * protobuf dependency would be larger than the code.
 *
 *   F3 89 9A C2 | protobuf AggregatedRecord | MD5(protobuf bytes), 16 bytes
 *
 *   message AggregatedRecord {
 *     repeated string partition_key_table     = 1;
 *     repeated string explicit_hash_key_table = 2;
 *     repeated Record records                 = 3;
 *   }
 *   message Record {
 *     required uint64 partition_key_index     = 1;
 *     optional uint64 explicit_hash_key_index = 2;
 *     required bytes  data                    = 3;
 *     repeated Tag    tags                    = 4;   // read and ignored
 *   }
 */
import { createHash } from 'node:crypto';
import { InvalidEventError } from '../../core/errors.js';

export const KPL_MAGIC: Buffer = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);
const MD5_BYTES = 16;

export interface UserRecord {
  partitionKey: string;
  /** Decimal 128-bit hash key that overrides the partition key's MD5 for shard choice. */
  explicitHashKey?: string;
  data: Buffer;
}

/**
 * Kinesis's own bound on a partition key, in Unicode characters. A user
 * record's key goes into its events' origin, and one key of the table can be
 * named by every user record: a longer key is damage (the KPL never writes
 * one), refused before it is copied onto thousands of events.
 */
export const MAX_PARTITION_KEY_CHARS = 256;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

/** Bytes a length-delimited field with a one-byte tag takes for a payload of `len` bytes. */
function lenFieldSize(len: number): number {
  return 1 + varintSize(len) + len;
}

class Writer {
  private readonly buf: Buffer;
  private pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  varint(n: number): void {
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }
  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }
  bytes(field: number, data: Buffer): void {
    this.tag(field, WIRE_LEN);
    this.varint(data.length);
    data.copy(this.buf, this.pos);
    this.pos += data.length;
  }
  done(): Buffer {
    if (this.pos !== this.buf.length) throw new RangeError(`KPL encoder sized ${this.buf.length} bytes but wrote ${this.pos}`);
    return this.buf;
  }
}

/**
 * Builds one aggregated record incrementally, so a batcher can ask how big the
 * record would be with one more user record before adding it (Kinesis caps a
 * record's data plus partition key at 1 MiB).
 */
export class KplAggregator {
  private readonly partitionKeys = new Map<string, number>();
  private readonly hashKeys = new Map<string, number>();
  private readonly records: { pk: number; ehk: number | undefined; data: Buffer }[] = [];
  private protobufBytes = 0;

  get count(): number {
    return this.records.length;
  }

  /** Serialized size of the aggregated record as built so far. */
  get size(): number {
    return KPL_MAGIC.length + this.protobufBytes + MD5_BYTES;
  }

  /** The size this aggregated record would have with `record` added. */
  sizeWith(record: UserRecord): number {
    return this.size + this.growth(record);
  }

  add(record: UserRecord): void {
    this.protobufBytes += this.growth(record);
    const pk = this.indexOf(this.partitionKeys, record.partitionKey);
    const ehk = record.explicitHashKey === undefined ? undefined : this.indexOf(this.hashKeys, record.explicitHashKey);
    this.records.push({ pk, ehk, data: record.data });
  }

  build(): Buffer {
    const w = new Writer(this.protobufBytes);
    for (const key of this.partitionKeys.keys()) w.bytes(1, Buffer.from(key, 'utf8'));
    for (const key of this.hashKeys.keys()) w.bytes(2, Buffer.from(key, 'utf8'));
    for (const r of this.records) {
      w.tag(3, WIRE_LEN);
      w.varint(recordSize(r.pk, r.ehk, r.data.length));
      w.tag(1, WIRE_VARINT);
      w.varint(r.pk);
      if (r.ehk !== undefined) {
        w.tag(2, WIRE_VARINT);
        w.varint(r.ehk);
      }
      w.bytes(3, r.data);
    }
    const protobuf = w.done();
    return Buffer.concat([KPL_MAGIC, protobuf, createHash('md5').update(protobuf).digest()]);
  }

  private growth(record: UserRecord): number {
    let grow = 0;
    let pk = this.partitionKeys.get(record.partitionKey);
    if (pk === undefined) {
      pk = this.partitionKeys.size;
      grow += lenFieldSize(Buffer.byteLength(record.partitionKey, 'utf8'));
    }
    let ehk: number | undefined;
    if (record.explicitHashKey !== undefined) {
      ehk = this.hashKeys.get(record.explicitHashKey);
      if (ehk === undefined) {
        ehk = this.hashKeys.size;
        grow += lenFieldSize(Buffer.byteLength(record.explicitHashKey, 'utf8'));
      }
    }
    return grow + lenFieldSize(recordSize(pk, ehk, record.data.length));
  }

  private indexOf(table: Map<string, number>, key: string): number {
    let i = table.get(key);
    if (i === undefined) {
      i = table.size;
      table.set(key, i);
    }
    return i;
  }
}

function recordSize(pk: number, ehk: number | undefined, dataLen: number): number {
  return 1 + varintSize(pk) + (ehk === undefined ? 0 : 1 + varintSize(ehk)) + lenFieldSize(dataLen);
}

/** Aggregates `records` into one KPL record (the caller keeps it under 1 MiB). */
export function aggregate(records: readonly UserRecord[]): Buffer {
  const agg = new KplAggregator();
  for (const r of records) agg.add(r);
  return agg.build();
}

export function isAggregated(data: Buffer): boolean {
  return data.length >= KPL_MAGIC.length + MD5_BYTES && data.subarray(0, KPL_MAGIC.length).equals(KPL_MAGIC);
}

/**
 * The user records inside a KPL aggregated record, or null when `data` is not
 * aggregated (no magic prefix). Throws InvalidEventError when it carries the
 * magic but is damaged: wrong MD5, truncated or malformed protobuf.
 */
export function deaggregate(data: Buffer): UserRecord[] | null {
  if (!isAggregated(data)) return null;
  const protobuf = data.subarray(KPL_MAGIC.length, data.length - MD5_BYTES);
  const expected = data.subarray(data.length - MD5_BYTES);
  const actual = createHash('md5').update(protobuf).digest();
  if (!actual.equals(expected)) {
    throw new InvalidEventError(
      `KPL aggregated record (${data.length} bytes) fails its MD5 check: stored ${expected.toString('hex')}, computed ${actual.toString('hex')}`,
    );
  }
  const partitionKeys: string[] = [];
  const hashKeys: string[] = [];
  const raw: { pk: number; ehk: number | undefined; data: Buffer }[] = [];
  const top = new Reader(protobuf, 'AggregatedRecord');
  while (!top.done()) {
    const { field, wire } = top.tag();
    if (field === 1 && wire === WIRE_LEN) partitionKeys.push(partitionKeyOf(top.bytes(), partitionKeys.length));
    else if (field === 2 && wire === WIRE_LEN) hashKeys.push(top.bytes().toString('utf8'));
    else if (field === 3 && wire === WIRE_LEN) raw.push(readRecord(new Reader(top.bytes(), `records[${raw.length}]`)));
    else top.skip(wire);
  }
  return raw.map((r, i) => {
    const partitionKey = partitionKeys[r.pk];
    if (partitionKey === undefined) {
      throw new InvalidEventError(`KPL records[${i}].partition_key_index ${r.pk} is outside the table of ${partitionKeys.length} keys`);
    }
    const out: UserRecord = { partitionKey, data: r.data };
    if (r.ehk !== undefined) {
      const ehk = hashKeys[r.ehk];
      if (ehk === undefined) {
        throw new InvalidEventError(`KPL records[${i}].explicit_hash_key_index ${r.ehk} is outside the table of ${hashKeys.length} keys`);
      }
      out.explicitHashKey = ehk;
    }
    return out;
  });
}

function partitionKeyOf(bytes: Buffer, index: number): string {
  const key = bytes.toString('utf8');
  // Code points, as Kinesis counts them; the UTF-16 length is at least that, so most keys need no count.
  if (key.length > MAX_PARTITION_KEY_CHARS && [...key].length > MAX_PARTITION_KEY_CHARS) {
    throw new InvalidEventError(`KPL partition_key_table[${index}] is ${[...key].length} characters, over the ${MAX_PARTITION_KEY_CHARS} Kinesis allows a partition key`);
  }
  return key;
}

function readRecord(r: Reader): { pk: number; ehk: number | undefined; data: Buffer } {
  let pk: number | undefined;
  let ehk: number | undefined;
  let data: Buffer | undefined;
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_VARINT) pk = r.varint();
    else if (field === 2 && wire === WIRE_VARINT) ehk = r.varint();
    else if (field === 3 && wire === WIRE_LEN) data = r.bytes();
    else r.skip(wire);
  }
  if (pk === undefined || data === undefined) {
    throw new InvalidEventError(`KPL ${r.what} lacks its required ${pk === undefined ? 'partition_key_index' : 'data'} field`);
  }
  return { pk, ehk, data };
}

class Reader {
  private pos = 0;
  constructor(
    private readonly buf: Buffer,
    readonly what: string,
  ) {}
  done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): number {
    let n = 0;
    let mul = 1;
    for (;;) {
      if (this.pos >= this.buf.length) this.truncated();
      const b = this.buf[this.pos++]!;
      n += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 0x80;
      if (mul > 2 ** 63) throw new InvalidEventError(`KPL ${this.what}: varint longer than 10 bytes at offset ${this.pos}`);
    }
    if (!Number.isSafeInteger(n)) throw new InvalidEventError(`KPL ${this.what}: varint ${n} too large at offset ${this.pos}`);
    return n;
  }
  tag(): { field: number; wire: number } {
    const t = this.varint();
    return { field: Math.floor(t / 8), wire: t % 8 };
  }
  bytes(): Buffer {
    const len = this.varint();
    if (this.pos + len > this.buf.length) this.truncated();
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_LEN) this.bytes();
    else if (wire === WIRE_FIXED64 || wire === WIRE_FIXED32) {
      this.pos += wire === WIRE_FIXED64 ? 8 : 4;
      if (this.pos > this.buf.length) this.truncated();
    } else throw new InvalidEventError(`KPL ${this.what}: unsupported protobuf wire type ${wire} at offset ${this.pos}`);
  }
  private truncated(): never {
    throw new InvalidEventError(`KPL ${this.what}: protobuf truncated at offset ${this.pos} of ${this.buf.length} bytes`);
  }
}

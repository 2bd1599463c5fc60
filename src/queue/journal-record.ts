import { crc32 } from 'node:zlib';
import type { JournalEntry } from './journal.js';

/**
 * The journal's on-disk framing (docs/journal.md, "On-disk format"). All
 * integers little-endian. A segment starts with a 16-byte header, then records:
 *
 *   u32 bodyLength | u32 crc32(body) | body
 *
 * body of a route set (kind 1): u8 kind | u32 routeSetId | u16 count | count × (u16 length | UTF-8 destination id)
 * body of an event   (kind 2): u8 kind | u64 seq | u64 enqueuedAt (ms) | u32 routeSetId
 *                              | u16 eventId length | eventId | u16 partitionKey length (0xFFFF: none) | partitionKey | payload
 *
 * Route-set ids are local to a segment: a set is defined in the segment before
 * its first event there, so every segment can be read (and deleted) alone.
 */
export const SEGMENT_MAGIC = Buffer.from('ASJRNL\u0000\u0001', 'latin1');
export const SEGMENT_HEADER_BYTES = 16;
export const RECORD_FRAME_BYTES = 8;
/** A length beyond this is a torn or corrupt length field, not a record. */
export const MAX_RECORD_BODY_BYTES = 512 * 1024 * 1024;

const KIND_ROUTE_SET = 1;
const KIND_EVENT = 2;
const NO_KEY = 0xffff;
/** Longest event id or partition key a record holds (u16 length; 0xFFFF means none). */
export const MAX_FIELD_BYTES = NO_KEY - 1;
const EVENT_FIXED_BYTES = 1 + 8 + 8 + 4 + 2 + 2;

export function segmentHeader(segmentNumber: number): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(b, 0);
  writeU64(b, 8, segmentNumber);
  return b;
}

export function isSegmentHeader(b: Buffer): boolean {
  return b.length >= SEGMENT_HEADER_BYTES && b.subarray(0, SEGMENT_MAGIC.length).equals(SEGMENT_MAGIC);
}

export function encodeRouteSet(routeSetId: number, destinations: readonly string[]): Buffer {
  const names = destinations.map((d) => Buffer.from(d, 'utf8'));
  const body = Buffer.alloc(1 + 4 + 2 + names.reduce((n, b) => n + 2 + b.length, 0));
  body.writeUInt8(KIND_ROUTE_SET, 0);
  body.writeUInt32LE(routeSetId, 1);
  body.writeUInt16LE(names.length, 5);
  let at = 7;
  for (const n of names) {
    body.writeUInt16LE(n.length, at);
    n.copy(body, at + 2);
    at += 2 + n.length;
  }
  return frame(body);
}

export interface EventRecordFields {
  seq: number;
  enqueuedAt: number;
  routeSetId: number;
  eventId: string;
  partitionKey: string | null;
  payload: Buffer;
}

/** Bytes the event record of `f` takes, frame included. Throws RangeError when its id or key is too long for the format. */
export function eventRecordLength(f: EventRecordFields): number {
  const idLength = Buffer.byteLength(f.eventId, 'utf8');
  const keyLength = f.partitionKey === null ? 0 : Buffer.byteLength(f.partitionKey, 'utf8');
  if (idLength > MAX_FIELD_BYTES) throw new RangeError(`event id of ${idLength} bytes is too long for the journal`);
  if (keyLength > MAX_FIELD_BYTES) throw new RangeError(`partition key of ${keyLength} bytes is too long for the journal`);
  return RECORD_FRAME_BYTES + EVENT_FIXED_BYTES + idLength + keyLength + f.payload.length;
}

/**
 * Writes the event record of `f` (frame, header, payload) into `out` at `at`,
 * where eventRecordLength(f) bytes are free, and returns the offset after it.
 * Everything goes straight into the write buffer of the group commit: no
 * header Buffer of its own, no concatenation after, one checksum pass.
 */
export function writeEventRecord(out: Buffer, at: number, f: EventRecordFields): number {
  const bodyStart = at + RECORD_FRAME_BYTES;
  let i = bodyStart;
  out[i] = KIND_EVENT;
  writeU64(out, i + 1, f.seq);
  writeU64(out, i + 9, f.enqueuedAt);
  out.writeUInt32LE(f.routeSetId, i + 17);
  const idLength = out.write(f.eventId, i + 23, 'utf8');
  out.writeUInt16LE(idLength, i + 21);
  i += 23 + idLength;
  if (f.partitionKey === null) {
    out.writeUInt16LE(NO_KEY, i);
    i += 2;
  } else {
    const keyLength = out.write(f.partitionKey, i + 2, 'utf8');
    out.writeUInt16LE(keyLength, i);
    i += 2 + keyLength;
  }
  i += f.payload.copy(out, i);
  out.writeUInt32LE(i - bodyStart, at);
  out.writeUInt32LE(crc32(out.subarray(bodyStart, i)), at + 4);
  return i;
}

function frame(body: Buffer): Buffer {
  const b = Buffer.alloc(RECORD_FRAME_BYTES + body.length);
  b.writeUInt32LE(body.length, 0);
  b.writeUInt32LE(crc32(body), 4);
  body.copy(b, RECORD_FRAME_BYTES);
  return b;
}

export type DecodedRecord =
  | { kind: 'routeSet'; routeSetId: number; destinations: string[]; length: number }
  | ({ kind: 'event'; length: number; payloadOffset: number } & EventRecordFields);

export type DecodeResult = { ok: true; record: DecodedRecord } | { ok: false; reason: string; incomplete: boolean };

/**
 * Reads the record at `at` of `buf`. `incomplete` says the bytes end inside
 * the record (what a write cut short by a crash leaves), as opposed to bytes
 * that are there but wrong.
 */
export function decodeRecord(buf: Buffer, at: number): DecodeResult {
  if (buf.length - at < RECORD_FRAME_BYTES) return { ok: false, reason: 'record frame cut short', incomplete: true };
  const bodyLength = buf.readUInt32LE(at);
  if (bodyLength === 0 || bodyLength > MAX_RECORD_BODY_BYTES) return { ok: false, reason: `impossible record length ${bodyLength}`, incomplete: false };
  const end = at + RECORD_FRAME_BYTES + bodyLength;
  if (end > buf.length) return { ok: false, reason: `record of ${bodyLength} bytes cut short at ${buf.length - at - RECORD_FRAME_BYTES}`, incomplete: true };
  const body = buf.subarray(at + RECORD_FRAME_BYTES, end);
  if (crc32(body) !== buf.readUInt32LE(at + 4)) return { ok: false, reason: 'checksum mismatch', incomplete: false };
  try {
    return { ok: true, record: parseBody(body, at + RECORD_FRAME_BYTES, RECORD_FRAME_BYTES + bodyLength) };
  } catch (err) {
    return { ok: false, reason: `malformed record: ${(err as Error).message}`, incomplete: false };
  }
}

function parseBody(body: Buffer, bodyOffset: number, length: number): DecodedRecord {
  const kind = body.readUInt8(0);
  if (kind === KIND_ROUTE_SET) {
    const routeSetId = body.readUInt32LE(1);
    const count = body.readUInt16LE(5);
    const destinations: string[] = [];
    let at = 7;
    for (let i = 0; i < count; i++) {
      const n = body.readUInt16LE(at);
      if (at + 2 + n > body.length) throw new RangeError('destination id past the record end');
      destinations.push(body.toString('utf8', at + 2, at + 2 + n));
      at += 2 + n;
    }
    return { kind: 'routeSet', routeSetId, destinations, length };
  }
  if (kind !== KIND_EVENT) throw new RangeError(`unknown record kind ${kind}`);
  const idLength = body.readUInt16LE(21);
  let at = 23 + idLength;
  if (at + 2 > body.length) throw new RangeError('event id past the record end');
  const eventId = body.toString('utf8', 23, at);
  const keyLength = body.readUInt16LE(at);
  at += 2;
  let partitionKey: string | null = null;
  if (keyLength !== NO_KEY) {
    if (at + keyLength > body.length) throw new RangeError('partition key past the record end');
    partitionKey = body.toString('utf8', at, at + keyLength);
    at += keyLength;
  }
  return {
    kind: 'event',
    length,
    seq: readU64(body, 1),
    enqueuedAt: readU64(body, 9),
    routeSetId: body.readUInt32LE(17),
    eventId,
    partitionKey,
    payload: body.subarray(at),
    payloadOffset: bodyOffset + at,
  };
}

/**
 * The entry of the event record at `at` of `buf`, bytes this process wrote
 * or has already checked with decodeRecord: no checksum, no bounds checks.
 * The payload is a view of `buf`.
 */
export function verifiedEventEntry(buf: Buffer, at: number, attempts: number): JournalEntry {
  const body = at + RECORD_FRAME_BYTES;
  const end = body + buf.readUInt32LE(at);
  const idEnd = body + 23 + buf.readUInt16LE(body + 21);
  const keyLength = buf.readUInt16LE(idEnd);
  const keyEnd = keyLength === NO_KEY ? idEnd + 2 : idEnd + 2 + keyLength;
  return {
    seq: readU64(buf, body + 1),
    eventId: buf.toString('utf8', body + 23, idEnd),
    partitionKey: keyLength === NO_KEY ? null : buf.toString('utf8', idEnd + 2, keyEnd),
    enqueuedAt: readU64(buf, body + 9),
    attempts,
    payload: buf.subarray(keyEnd, end),
  };
}

// Sequence numbers and milliseconds stay below 2^53: two u32 halves avoid BigInt on every record.
function writeU64(b: Buffer, at: number, n: number): void {
  b.writeUInt32LE(n % 0x1_0000_0000, at);
  b.writeUInt32LE(Math.floor(n / 0x1_0000_0000), at + 4);
}

function readU64(b: Buffer, at: number): number {
  return b.readUInt32LE(at + 4) * 0x1_0000_0000 + b.readUInt32LE(at);
}

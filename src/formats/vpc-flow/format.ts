import type { AuditEvent, Outcome } from '../../core/event.js';
import { InvalidEventError } from '../../core/errors.js';
import { parseTime } from '../../core/time.js';
import { describe, makeEvent, type JsonObject } from '../parse-helpers/fields.js';
import type { ParseContext, ProducerFormat, RecordInput } from '../producer-format.js';
import { eventId } from '../parse-helpers/record-id.js';
import { VPC_FLOW_EVENT_TYPES, VPC_FLOW_TYPE_BY_STATUS } from './event-types.js';
import { vpcFlowOcsf } from './ocsf.js';

/** VPC Flow Logs default format, version 2: the fields in order. */
const FIELDS = [
  'version', 'account-id', 'interface-id', 'srcaddr', 'dstaddr', 'srcport', 'dstport',
  'protocol', 'packets', 'bytes', 'start', 'end', 'action', 'log-status',
] as const;
const NUMERIC: ReadonlySet<string> = new Set(['version', 'srcport', 'dstport', 'protocol', 'packets', 'bytes', 'start', 'end']);

/**
 * VPC Flow Logs records in the default format v2: 14 fields
 * separated by spaces, `-` where a field has no value (NODATA / SKIPDATA
 * records). Numbers become numbers, `-` becomes null. A FortiSIEM display
 * prefix ("2021-04-27T08:40:50.00Z [FSM-AWSKinesis] ") is tolerated because
 * users paste lines copied from that screen.
 */
export const vpcFlowFormat: ProducerFormat<'vpc-flow'> = {
  name: 'vpc-flow',
  eventTypes: { types: VPC_FLOW_EVENT_TYPES },
  ocsf: vpcFlowOcsf,

  detect(value, text) {
    if (value !== undefined) return false;
    const f = fieldsOf(text);
    return f.length === FIELDS.length && isDigits(f[0]!) && Object.hasOwn(VPC_FLOW_TYPE_BY_STATUS, f[13]!);
  },

  parse(input: RecordInput, value: unknown, ctx: ParseContext): AuditEvent[] {
    if (value !== undefined) throw new InvalidEventError('record: expected a VPC flow log line, got JSON');
    const f = fieldsOf(input.text);
    if (f.length !== FIELDS.length) {
      throw new InvalidEventError(`record: expected the ${FIELDS.length} space-separated fields of VPC Flow Logs v2 (${FIELDS.join(' ')}), got ${f.length}`);
    }
    const logStatus = f[13]!;
    const type = VPC_FLOW_TYPE_BY_STATUS[logStatus];
    if (type === undefined) throw new InvalidEventError(`log-status: expected OK, NODATA or SKIPDATA, got ${describe(logStatus)}`);
    const start = numberOrNull('start', f[10]!);
    if (start === null) throw new InvalidEventError('start: missing');
    const accountId = f[1]!;
    const srcaddr = f[3]!;
    const details: JsonObject = {};
    // account-id, srcaddr, start, action and log-status are held verbatim by tenant, clientIp, time, outcome and type.
    for (const i of [0, 2, 3, 4, 5, 6, 7, 8, 9, 11]) {
      const name = FIELDS[i]!;
      if (name === 'srcaddr' && srcaddr !== '-') continue;
      details[name] = NUMERIC.has(name) ? numberOrNull(name, f[i]!) : dashToNull(f[i]!);
    }
    return [
      makeEvent({
        id: eventId(undefined, input.idHint),
        time: parseTime(start, 'start', ctx.eventTime),
        type,
        source: 'vpc-flow',
        outcome: outcomeOf(f[12]!),
        clientIp: srcaddr === '-' ? undefined : srcaddr,
        tenant: accountId === '-' ? undefined : accountId,
        details,
        origin: input.origin,
        raw: input.text,
      }),
    ];
  },
};

// parse: auto splits a line to detect it, then again to parse it: remember the last split.
let lastText: string | undefined;
let lastFields: string[] = [];

function fieldsOf(text: string): string[] {
  if (text === lastText) return lastFields;
  lastFields = splitFields(text);
  lastText = text;
  return lastFields;
}

function splitFields(text: string): string[] {
  let f = text.trim().split(' ');
  if (f.includes('')) f = f.filter((x) => x !== '');
  // FortiSIEM shows "<receive time> [FSM-AWSKinesis] <record>".
  if (f.length > 2 && !isDigits(f[0]!) && f[1]!.startsWith('[') && f[1]!.endsWith(']')) f = f.slice(2);
  return f;
}

function outcomeOf(action: string): Outcome {
  if (action === 'ACCEPT') return 'success';
  if (action === 'REJECT') return 'failure';
  if (action === '-') return 'unknown';
  throw new InvalidEventError(`action: expected ACCEPT, REJECT or -, got ${describe(action)}`);
}

function numberOrNull(field: string, token: string): number | null {
  if (token === '-') return null;
  if (!isDigits(token)) throw new InvalidEventError(`${field}: expected a number or -, got ${describe(token)}`);
  return Number(token);
}

function dashToNull(token: string): string | null {
  return token === '-' ? null : token;
}

function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

import type { AuditEvent, Outcome } from '../../core/event.js';
import { InvalidEventError } from '../../core/errors.js';
import { parseTime } from '../../core/time.js';
import { isIP } from 'node:net';
import { describe, isObject, makeEvent, type JsonObject } from '../parse-helpers/fields.js';
import type { ParseContext, ProducerFormat, RecordInput } from '../producer-format.js';
import { eventId } from '../parse-helpers/record-id.js';
import { VPC_FLOW_EVENT_TYPES, VPC_FLOW_TYPE_BY_STATUS } from './event-types.js';
import { VPC_FLOW_FIELDS } from './fields.js';
import { DEFAULT_TGW_FLOW_FORMAT, DEFAULT_VPC_FLOW_FORMAT, vpcFlowLayout, type VpcFlowLayout } from './log-format.js';
import { vpcFlowOcsf } from './ocsf.js';

const DEFAULT_VPC = vpcFlowLayout(DEFAULT_VPC_FLOW_FORMAT);
const DEFAULT_TGW = vpcFlowLayout(DEFAULT_TGW_FLOW_FORMAT);

/** The configured format; without one, either default format, told apart by their field counts (14 and 36). */
function layoutFor(ctx: ParseContext, fieldCount: number): VpcFlowLayout {
  if (ctx.vpcFlow !== undefined) return ctx.vpcFlow;
  return fieldCount === DEFAULT_TGW.fields.length ? DEFAULT_TGW : DEFAULT_VPC;
}

/**
 * Fields an event slot holds verbatim, so they are not repeated in `details`:
 * start (time), action (outcome), log-status (type); srcaddr too when it has
 * a value (clientIp). account-id stays in details: the producer's AWS account
 * is not the auditstream tenant.
 */
const IN_SLOT: ReadonlySet<string> = new Set(['start', 'action', 'log-status']);

/**
 * VPC and Transit Gateway Flow Logs records: fields separated by spaces in
 * the order of the flow log's format (`ctx.vpcFlow`; without one, VPC's or
 * Transit Gateway's default format), `-` where a field has no value. Numbers become
 * numbers, addresses are checked, `-` becomes null. A record may come wrapped
 * as Firehose delivers it, `{"message":"<line>"}`. A FortiSIEM display
 * prefix ("2021-04-27T08:40:50.00Z [FSM-AWSKinesis] ") is tolerated because
 * users paste lines copied from that screen.
 */
export const vpcFlowFormat: ProducerFormat<'vpc-flow'> = {
  name: 'vpc-flow',
  eventTypes: { types: VPC_FLOW_EVENT_TYPES },
  ocsf: vpcFlowOcsf,

  detect(value, text, ctx) {
    const line = lineOf(value, text);
    if (line === undefined) return false;
    const f = fieldsOf(line);
    const layout = layoutFor(ctx, f.length);
    if (f.length !== layout.fields.length) return false;
    for (let i = 0; i < f.length; i++) {
      const token = f[i]!;
      if (token === '-') continue;
      const name = layout.fields[i]!;
      const kind = VPC_FLOW_FIELDS[name]!.kind;
      if (kind === 'number' && !isDigits(token)) return false;
      if (kind === 'address' && isIP(token) === 0) return false;
      if (name === 'log-status' && !Object.hasOwn(VPC_FLOW_TYPE_BY_STATUS, token)) return false;
    }
    return true;
  },

  parse(input: RecordInput, value: unknown, ctx: ParseContext): AuditEvent[] {
    const line = lineOf(value, input.text);
    if (line === undefined) throw new InvalidEventError('record: expected a VPC flow log line or {"message":"<line>"}, got JSON');
    const f = fieldsOf(line);
    const layout = layoutFor(ctx, f.length);
    if (f.length !== layout.fields.length) {
      throw new InvalidEventError(`record: has ${f.length} fields, the format has ${layout.fields.length} (${layout.fields.join(' ')})`);
    }
    const token = (name: string): string | undefined => {
      const i = layout.at.get(name);
      return i === undefined ? undefined : f[i];
    };
    const logStatus = token('log-status') ?? 'OK';
    const type = VPC_FLOW_TYPE_BY_STATUS[logStatus];
    if (type === undefined) throw new InvalidEventError(`log-status: expected OK, NODATA or SKIPDATA, got ${describe(logStatus)}`);
    const timeField = layout.at.has('start') || !layout.at.has('end') ? 'start' : 'end';
    const time = valueOf(timeField, token(timeField) ?? '-');
    if (time === null) throw new InvalidEventError(`${timeField}: missing`);
    const srcaddr = valueOf('srcaddr', token('srcaddr') ?? '-');
    const details: JsonObject = {};
    for (let i = 0; i < f.length; i++) {
      const name = layout.fields[i]!;
      const v = valueOf(name, f[i]!);
      if (IN_SLOT.has(name) || (name === 'srcaddr' && v !== null)) continue;
      details[name] = v;
    }
    return [
      makeEvent({
        id: eventId(undefined, input.idHint),
        time: parseTime(time as number, timeField, ctx.eventTime),
        type,
        source: 'vpc-flow',
        outcome: outcomeOf(token('action') ?? '-'),
        clientIp: typeof srcaddr === 'string' ? srcaddr : undefined,
        details,
        origin: input.origin,
        raw: input.text,
      }),
    ];
  },
};

/** The flow log line of a record: the text itself, or the `message` of Firehose's JSON wrapper. */
function lineOf(value: unknown, text: string): string | undefined {
  if (value === undefined) return text;
  // Checked before counting keys: parse: auto asks this of every JSON record.
  if (!isObject(value) || typeof value.message !== 'string') return undefined;
  return Object.keys(value).length === 1 ? value.message : undefined;
}

function valueOf(name: string, token: string): string | number | null {
  if (token === '-') return null;
  const kind = VPC_FLOW_FIELDS[name]!.kind;
  if (kind === 'number') {
    if (!isDigits(token)) throw new InvalidEventError(`${name}: expected a number or -, got ${describe(token)}`);
    return Number(token);
  }
  if (kind === 'address' && isIP(token) === 0) throw new InvalidEventError(`${name}: expected an IP address or -, got ${describe(token)}`);
  return token;
}

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

function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

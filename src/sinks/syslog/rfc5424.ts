import type { AuditEvent } from '../../core/event.js';

/** The fixed parts of every message an emitter writes. */
export interface MessageHeader {
  /** facility × 8; the severity is added per event. */
  facilityCode: number;
  severityOf: (event: AuditEvent) => number;
  hostname: string;
  appName: string;
  procId: string;
  /** Set: an SD-ELEMENT with this SD-ID carries the event's id, source, outcome and actor. */
  structuredDataId: string | undefined;
}

/** RFC 5424 TIMESTAMP: RFC 3339 with at most 6 fraction digits; "-" when the time cannot be read. */
function timestampOf(time: string): string {
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/.test(time)) return time;
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? '-' : new Date(ms).toISOString();
}

/** MSGID is 1–32 PRINTUSASCII: an event type is cut to 32 and anything else becomes "_". */
function msgIdOf(type: string): string {
  const id = type.replace(/[^\x21-\x7e]/g, '_').slice(0, 32);
  return id === '' ? '-' : id;
}

/** PARAM-VALUE escapes `"`, `\` and `]` (RFC 5424 §6.3.3). */
function paramValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

function structuredDataOf(event: AuditEvent, sdId: string | undefined): string {
  if (!sdId) return '-';
  const params: [string, string | undefined][] = [
    ['id', event.id],
    ['source', event.source],
    ['outcome', event.outcome],
    ['actor', event.actor],
    ['clientIp', event.clientIp],
  ];
  return `[${sdId}${params.filter(([, v]) => v !== undefined).map(([k, v]) => ` ${k}="${paramValue(v!)}"`).join('')}]`;
}

/** One RFC 5424 SYSLOG-MSG: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG`. */
export function formatMessage(event: AuditEvent, msg: string, h: MessageHeader): string {
  const pri = h.facilityCode * 8 + h.severityOf(event);
  return `<${pri}>1 ${timestampOf(event.time)} ${h.hostname} ${h.appName} ${h.procId} ${msgIdOf(event.type)} ${structuredDataOf(event, h.structuredDataId)} ${msg}`;
}

/** RFC 6587 §3.4.1 octet counting: `MSG-LEN SP SYSLOG-MSG`, the length in bytes. */
export function frame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `), body]);
}

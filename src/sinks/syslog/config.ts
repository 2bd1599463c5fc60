import { z } from 'zod';
import { codecSchema } from '../../codecs/codec.js';
import { timerMs } from '../../config/timers.js';

/** RFC 5424 §6.2.1 facility codes by their usual names. */
export const FACILITIES = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11,
  ntp: 12, security: 13, console: 14, solaris_cron: 15,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
} as const;

/** RFC 5424 §6.2.1 severities by name. */
export const SEVERITIES = { emerg: 0, alert: 1, crit: 2, err: 3, warning: 4, notice: 5, info: 6, debug: 7 } as const;

const facilityName = Object.keys(FACILITIES) as [keyof typeof FACILITIES, ...(keyof typeof FACILITIES)[]];
const severityName = z.enum(Object.keys(SEVERITIES) as [keyof typeof SEVERITIES, ...(keyof typeof SEVERITIES)[]]);

/** PRINTUSASCII (33–126) of at most `max` characters: RFC 5424's HOSTNAME, APP-NAME, PROCID. */
const printable = (max: number) => z.string().regex(new RegExp(`^[\\x21-\\x7e]{1,${max}}$`), `1–${max} printable ASCII characters without spaces`);

export const syslogSinkSchema = z
  .strictObject({
    host: z.string().min(1),
    /** Default: 6514 (RFC 5425) over TLS, 514 over TCP. */
    port: z.number().int().min(1).max(65535).optional(),
    transport: z.enum(['tcp', 'tls']).default('tcp'),
    facility: z.union([z.enum(facilityName), z.number().int().min(0).max(23)]).default('authpriv'),
    /** The severity of an event, by its outcome. */
    severity: z
      .strictObject({ success: severityName.default('info'), failure: severityName.default('warning'), unknown: severityName.default('notice') })
      .prefault({}),
    /** Default: this machine's host name. */
    hostname: printable(255).optional(),
    appName: printable(48).default('auditstream'),
    /** Default: the server's process id. */
    procId: printable(128).optional(),
    /** Adds `[<structuredDataId> id=… source=… outcome=… actor=…]` to every message. */
    structuredData: z.boolean().default(false),
    /** An SD-ID with an enterprise number of your own; 32473 is the one RFC 5612 reserves for documentation. */
    structuredDataId: z.string().regex(/^[^\s=\]"@]{1,32}@\d+(\.\d+)*$/, 'expected name@<private enterprise number>, e.g. auditstream@32473').default('auditstream@32473'),
    /** How the event becomes MSG (src/codecs/codec.ts). */
    codec: codecSchema,
    /** Longest message (after framing) the receiver takes; rsyslog's default maxMessageSize is 8 KiB. Longer events are dead-lettered, never cut. */
    maxMessageBytes: z.number().int().min(480).default(8192),
    connectTimeoutMs: timerMs.positive().default(10_000),
    /**
     * A new connection carries events only once it stayed open this long: a
     * receiver that refuses the client after the handshake (a TLS 1.3 client
     * certificate check, allowed senders) closes it within a round trip, and
     * bytes written before that would count as delivered and be lost.
     */
    newConnectionWaitMs: timerMs.min(0).default(300),
    tls: z
      .strictObject({
        caFile: z.string().min(1).optional(),
        certFile: z.string().min(1).optional(),
        keyFile: z.string().min(1).optional(),
        /** The name the server's certificate must carry; default `host`. */
        serverName: z.string().min(1).optional(),
      })
      .optional(),
  })
  .superRefine((c, ctx) => {
    if (c.tls && c.transport !== 'tls') ctx.addIssue({ code: 'custom', path: ['tls'], message: 'a tls block needs transport: tls' });
    if (c.tls?.certFile && !c.tls.keyFile) ctx.addIssue({ code: 'custom', path: ['tls', 'keyFile'], message: 'certFile needs keyFile' });
    if (c.tls?.keyFile && !c.tls.certFile) ctx.addIssue({ code: 'custom', path: ['tls', 'certFile'], message: 'keyFile needs certFile' });
  });

export type SyslogSinkConfig = z.infer<typeof syslogSinkSchema>;

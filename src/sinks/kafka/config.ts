import { z } from 'zod';
import { codecSchema } from '../../codecs/codec.js';
import { secretMap } from '../../config/secret-map.js';
import { JaasError, parseJaas, substituteParams } from './jaas.js';
import { mapTuning, TuningError } from './tuning.js';

const store = z.strictObject({
  type: z.enum(['JKS', 'PKCS12', 'PEM']),
  path: z.string().min(1),
  password: z.string().optional(),
});

const hostPort = z.string().regex(/^\s*[^\s:,]+:\d{1,5}\s*(,\s*[^\s:,]+:\d{1,5}\s*)*$/, 'expected host:port');

const JAAS_MODULES: Record<string, string> = {
  PLAIN: 'org.apache.kafka.common.security.plain.PlainLoginModule',
  'SCRAM-SHA-256': 'org.apache.kafka.common.security.scram.ScramLoginModule',
  'SCRAM-SHA-512': 'org.apache.kafka.common.security.scram.ScramLoginModule',
};

export const kafkaSinkSchema = z
  .strictObject({
    /** As Blitz writes it, `["infra-kfk01:9443"]`; an entry may also hold a comma-separated list. */
    bootstrapServers: z.array(hostPort).min(1),
    topic: z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'Kafka topic names are 1–249 characters of letters, digits, ".", "_" and "-"'),
    /** The event field whose value becomes the message key, e.g. `actor` or `details.subject_id`. */
    key: z.string().min(1).optional(),
    /** Omitted: SASL_SSL when `sasl` is set, else SSL when `ssl` is set, else PLAINTEXT. */
    securityProtocol: z.enum(['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL']).optional(),
    sasl: z
      .strictObject({
        mechanism: z.enum(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']).default('PLAIN'),
        username: z.string().min(1).optional(),
        password: z.string().optional(),
        jaasConfig: z.string().min(1).optional(),
        secureParams: secretMap(z.string(), z.string()).default({}),
      })
      .optional(),
    ssl: z
      .strictObject({
        enabledProtocols: z.array(z.string()).min(1).optional(),
        caFile: z.string().min(1).optional(),
        certFile: z.string().min(1).optional(),
        keyFile: z.string().min(1).optional(),
        keyPassword: z.string().optional(),
        keyStore: store.optional(),
        trustedStore: store.optional(),
      })
      .optional(),
    tuning: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
    /** How an event becomes the message value (src/codecs/codec.ts). */
    codec: codecSchema,
  })
  .superRefine((c, ctx) => {
    const protocol = securityProtocolOf(c);
    if (c.sasl && !protocol.startsWith('SASL_')) {
      ctx.addIssue({ code: 'custom', path: ['securityProtocol'], message: `${protocol} does not authenticate with SASL but a sasl block is set; use SASL_SSL or SASL_PLAINTEXT` });
    }
    if (!c.sasl && protocol.startsWith('SASL_')) ctx.addIssue({ code: 'custom', path: ['sasl'], message: `${protocol} needs a sasl block` });
    if (c.ssl && !protocol.endsWith('SSL')) {
      ctx.addIssue({ code: 'custom', path: ['securityProtocol'], message: `${protocol} does not use TLS but an ssl block is set; use SSL or SASL_SSL` });
    }
    if (c.ssl?.certFile && !c.ssl.keyFile) ctx.addIssue({ code: 'custom', path: ['ssl', 'keyFile'], message: 'certFile needs keyFile' });
    if (c.ssl?.keyStore && c.ssl.certFile) ctx.addIssue({ code: 'custom', path: ['ssl', 'keyStore'], message: 'give either keyStore or certFile/keyFile, not both' });
    if (c.sasl) {
      try {
        saslCredentials(c.sasl);
      } catch (err) {
        if (!(err instanceof SaslSettingError)) throw err;
        ctx.addIssue({ code: 'custom', path: ['sasl', err.key], message: err.message });
      }
    }
    try {
      mapTuning(c.tuning);
    } catch (err) {
      if (!(err instanceof TuningError)) throw err;
      // keyPath renders a dotted property as tuning["linger.ms"], one key.
      ctx.addIssue({ code: 'custom', path: ['tuning', err.property], message: err.message });
    }
  });

export type KafkaSinkConfig = z.infer<typeof kafkaSinkSchema>;

/** Omitted: SASL_SSL when `sasl` is set, else SSL when `ssl` is set, else PLAINTEXT. */
export function securityProtocolOf(c: Pick<KafkaSinkConfig, 'securityProtocol' | 'sasl' | 'ssl'>): NonNullable<KafkaSinkConfig['securityProtocol']> {
  return c.securityProtocol ?? (c.sasl ? 'SASL_SSL' : c.ssl ? 'SSL' : 'PLAINTEXT');
}
type SaslBlock = NonNullable<KafkaSinkConfig['sasl']>;

export class SaslSettingError extends Error {
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super(problem);
  }
}

/** Username and password from `username`/`password` or from Blitz's `jaasConfig` line. */
export function saslCredentials(sasl: SaslBlock): { username: string; password: string } {
  if (sasl.jaasConfig !== undefined) {
    if (sasl.username !== undefined || sasl.password !== undefined) {
      throw new SaslSettingError('jaasConfig', 'give either jaasConfig or username/password, not both');
    }
    let login;
    try {
      login = parseJaas(sasl.jaasConfig);
    } catch (err) {
      if (err instanceof JaasError) throw new SaslSettingError('jaasConfig', err.message);
      throw err;
    }
    const expected = JAAS_MODULES[sasl.mechanism]!;
    if (login.loginModule !== expected) {
      throw new SaslSettingError('jaasConfig', `mechanism ${sasl.mechanism} needs ${expected}, not ${login.loginModule}`);
    }
    const { username, password } = login.options;
    if (username === undefined || password === undefined) throw new SaslSettingError('jaasConfig', 'needs username="…" and password="…"');
    return { username: substitute('jaasConfig', username, sasl.secureParams), password: substitute('jaasConfig', password, sasl.secureParams) };
  }
  if (sasl.username === undefined || sasl.password === undefined) {
    throw new SaslSettingError(sasl.username === undefined ? 'username' : 'password', 'give username and password, or jaasConfig');
  }
  return { username: substitute('username', sasl.username, sasl.secureParams), password: substitute('password', sasl.password, sasl.secureParams) };
}

function substitute(key: string, value: string, params: Record<string, string>): string {
  try {
    return substituteParams(value, params);
  } catch (err) {
    if (err instanceof JaasError) throw new SaslSettingError(key, err.message);
    throw err;
  }
}

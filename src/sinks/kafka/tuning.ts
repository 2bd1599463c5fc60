/**
 * Kafka producer properties (the names of the Kafka documentation, as in Blitz's
 * `tuning` block) mapped onto kafkajs. A property kafkajs cannot honour is a
 * config error rather than silently ignored: a user who set it relies on it.
 */
export interface ProducerTuning {
  clientId?: string;
  /** -1 (all in-sync replicas) or 1 (leader only). */
  acks: -1 | 1;
  lingerMs?: number;
  batchBytes?: number;
  compression: 'none' | 'gzip';
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
  retries?: number;
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
  maxInFlightRequests?: number;
  idempotent: boolean;
  metadataMaxAgeMs?: number;
  allowAutoTopicCreation: boolean;
  /** Events whose message would exceed this are rejected before sending. */
  maxRequestBytes: number;
}

type Setter = (t: ProducerTuning, value: string) => void;

const int =
  (apply: (t: ProducerTuning, n: number) => void, min = 0): Setter =>
  (t, value) => {
    if (!/^-?\d+$/.test(value) || Number(value) < min) throw new Error(`expected an integer ≥ ${min}, got "${value}"`);
    apply(t, Number(value));
  };

const bool =
  (apply: (t: ProducerTuning, b: boolean) => void): Setter =>
  (t, value) => {
    if (value !== 'true' && value !== 'false') throw new Error(`expected true or false, got "${value}"`);
    apply(t, value === 'true');
  };

const PROPERTIES: Readonly<Record<string, Setter>> = {
  'client.id': (t, v) => (t.clientId = v),
  acks: (t, v) => {
    if (v === 'all' || v === '-1') t.acks = -1;
    else if (v === '1') t.acks = 1;
    // acks=0 would count events as delivered that no broker confirmed (docs/failure-modes.md, row 6).
    else if (v === '0') throw new Error('acks=0 is not allowed: an event counts as delivered only when a broker acknowledged it');
    else throw new Error(`expected all, -1 or 1, got "${v}"`);
  },
  'linger.ms': int((t, n) => (t.lingerMs = n)),
  'batch.size': int((t, n) => (t.batchBytes = n), 1),
  'compression.type': (t, v) => {
    if (v === 'none' || v === 'gzip') t.compression = v;
    else if (v === 'snappy' || v === 'lz4' || v === 'zstd') throw new Error(`${v} needs a codec kafkajs does not bundle; use gzip or none`);
    else throw new Error(`expected none or gzip, got "${v}"`);
  },
  'request.timeout.ms': int((t, n) => (t.requestTimeoutMs = n), 1),
  'socket.connection.setup.timeout.ms': int((t, n) => (t.connectionTimeoutMs = n), 1),
  retries: int((t, n) => (t.retries = n)),
  'retry.backoff.ms': int((t, n) => (t.retryBackoffMs = n)),
  'retry.backoff.max.ms': int((t, n) => (t.retryBackoffMaxMs = n), 1),
  'max.in.flight.requests.per.connection': int((t, n) => (t.maxInFlightRequests = n), 1),
  'enable.idempotence': bool((t, b) => (t.idempotent = b)),
  'metadata.max.age.ms': int((t, n) => (t.metadataMaxAgeMs = n), 1),
  'allow.auto.create.topics': bool((t, b) => (t.allowAutoTopicCreation = b)),
  'max.request.size': int((t, n) => (t.maxRequestBytes = n), 1),
};

export const SUPPORTED_TUNING: readonly string[] = Object.keys(PROPERTIES).sort();

export class TuningError extends Error {
  constructor(
    readonly property: string,
    problem: string,
  ) {
    super(problem);
  }
}

export function mapTuning(tuning: Readonly<Record<string, string | number | boolean>>): ProducerTuning {
  const t: ProducerTuning = { acks: -1, compression: 'none', idempotent: false, allowAutoTopicCreation: false, maxRequestBytes: 1024 * 1024 };
  for (const [name, value] of Object.entries(tuning)) {
    const set = PROPERTIES[name];
    if (!set) throw new TuningError(name, `unsupported producer property (supported: ${SUPPORTED_TUNING.join(', ')})`);
    try {
      set(t, String(value));
    } catch (err) {
      throw new TuningError(name, (err as Error).message);
    }
  }
  if (t.idempotent && t.acks !== -1) throw new TuningError('enable.idempotence', 'needs acks=all');
  if (t.idempotent && (t.maxInFlightRequests ?? 1) > 1) throw new TuningError('enable.idempotence', 'kafkajs needs max.in.flight.requests.per.connection=1 for it');
  return t;
}

import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { encodeEvent } from '../../codecs/codec.js';
import type { AuditEvent } from '../../core/event.js';
import { ConfigError, errorMessage, FatalError, RetriableError } from '../../core/errors.js';
import type { ConfigIssue } from '../../config/validate.js';
import type { CheckStep, DeliveryOutcome, Sink, SinkContext, SinkDefinition } from '../sink.js';
import { FACILITIES, SEVERITIES, syslogSinkSchema, type SyslogSinkConfig } from './config.js';
import { formatMessage, frame, type MessageHeader } from './rfc5424.js';
import { isTlsTrustError } from '../../core/tls-trust.js';

/**
 * Writes events to a syslog receiver as RFC 5424 messages over TCP with
 * octet counting (RFC 6587) or over TLS (RFC 5425). Syslog has no
 * application-level acknowledgement: an event counts as delivered when its
 * bytes were handed to the kernel on a connection with no error so far
 * (docs/syslog-emitter.md, Delivery, says what that can and cannot promise).
 */
export class SyslogSink implements Sink {
  readonly batch = { maxEvents: 500, maxBytes: 1024 * 1024, lingerMs: 0 };
  private readonly header: MessageHeader;
  private readonly port: number;
  private readonly tlsOptions: ConnectionOptions | undefined;
  private socket: Socket | undefined;
  private connecting: Promise<Socket> | undefined;

  constructor(
    private readonly config: SyslogSinkConfig,
    ctx: SinkContext,
  ) {
    const facility = typeof config.facility === 'number' ? config.facility : FACILITIES[config.facility];
    const severity = { success: SEVERITIES[config.severity.success], failure: SEVERITIES[config.severity.failure], unknown: SEVERITIES[config.severity.unknown] };
    this.header = {
      facilityCode: facility,
      severityOf: (e) => severity[e.outcome] ?? severity.unknown,
      // RFC 5424 HOSTNAME is PRINTUSASCII; a host name never has spaces, but be sure.
      hostname: config.hostname ?? (osHostname().replace(/[^\x21-\x7e]/g, '_').slice(0, 255) || '-'),
      appName: config.appName,
      procId: config.procId ?? String(process.pid),
      structuredDataId: config.structuredData ? config.structuredDataId : undefined,
    };
    this.port = config.port ?? (config.transport === 'tls' ? 6514 : 514);
    if (config.transport === 'tls') {
      const problem = tlsFileProblems(config)[0];
      if (problem) throw new ConfigError(`${ctx.configPath}.${problem.path.join('.')}`, problem.message);
      const t = config.tls;
      this.tlsOptions = {
        // SNI carries names only (RFC 6066); an IP address is still checked against the certificate's IP entries.
        ...(t?.serverName || !isIP(config.host) ? { servername: t?.serverName ?? config.host } : {}),
        ...(t?.caFile ? { ca: readFileSync(t.caFile) } : {}),
        ...(t?.certFile ? { cert: readFileSync(t.certFile), key: readFileSync(t.keyFile!) } : {}),
      };
    }
  }

  /** The one place an event becomes its message (kept small so it can take stored bytes instead). */
  private messageOf(event: AuditEvent): string {
    return formatMessage(event, encodeEvent(event, this.config.codec), this.header);
  }

  async send(batch: readonly AuditEvent[], signal: AbortSignal): Promise<DeliveryOutcome[]> {
    const outcomes: DeliveryOutcome[] = [];
    const frames: Buffer[] = [];
    for (const event of batch) {
      const f = frame(this.messageOf(event));
      if (f.length > this.config.maxMessageBytes) {
        outcomes.push({ status: 'rejected', reason: `syslog message of ${f.length} bytes is over maxMessageBytes (${this.config.maxMessageBytes}); the receiver would cut it` });
        continue;
      }
      frames.push(f);
      outcomes.push({ status: 'delivered' });
    }
    if (frames.length === 0) return outcomes;
    const socket = await this.connected(signal);
    // One write for the batch; its callback says the kernel took every byte.
    await new Promise<void>((resolve, reject) => {
      socket.write(Buffer.concat(frames), (err) => {
        if (err) {
          socket.destroy();
          reject(new RetriableError(`write to ${this.where()}: ${errorMessage(err)}`, { cause: err, code: 'SYSLOG_WRITE' }));
        } else resolve();
      });
    });
    return outcomes;
  }

  private where(): string {
    return `${this.config.host}:${this.port}${this.config.transport === 'tls' ? ' (TLS)' : ''}`;
  }

  /**
   * The open connection, or a new one. A connection the receiver closed
   * (rsyslog restarted, an idle timeout) is noticed by its `end`/`close` and
   * replaced before the next write, not written into.
   */
  private async connected(signal: AbortSignal): Promise<Socket> {
    const s = this.socket;
    if (s && !s.destroyed && s.writable && !s.readableEnded) return s;
    this.socket = undefined;
    this.connecting ??= this.open(signal)
      .then((socket) => {
        this.socket = socket;
        const drop = () => {
          if (this.socket === socket) this.socket = undefined;
          socket.destroy();
        };
        socket.on('end', drop);
        socket.on('close', drop);
        socket.on('error', drop);
        // A receiver never writes to us; reading keeps 'end' coming when it closes.
        socket.resume();
        return socket;
      })
      .finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private open(signal: AbortSignal): Promise<Socket> {
    signal.throwIfAborted();
    return new Promise<Socket>((resolve, reject) => {
      const { host } = this.config;
      const socket = this.tlsOptions ? tlsConnect({ host, port: this.port, ...this.tlsOptions }) : netConnect({ host, port: this.port });
      const ready = this.tlsOptions ? 'secureConnect' : 'connect';
      const timer = setTimeout(() => fail(Object.assign(new Error(`no connection within ${this.config.connectTimeoutMs} ms`), { code: 'ETIMEDOUT' })), this.config.connectTimeoutMs);
      const onAbort = () => fail(new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      const settle = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.off('error', fail);
      };
      const fail = (err: Error) => {
        settle();
        socket.destroy();
        reject(this.connectError(err));
      };
      socket.once(ready, () => {
        settle();
        socket.setKeepAlive(true, 30_000);
        socket.setNoDelay(true);
        this.stayedOpen(socket, signal).then(resolve, reject);
      });
      socket.on('error', fail);
    });
  }

  /** Resolves with `socket` if the receiver kept it open for newConnectionWaitMs (see the config key). */
  private stayedOpen(socket: Socket, signal: AbortSignal): Promise<Socket> {
    const waitMs = this.config.newConnectionWaitMs;
    if (waitMs === 0) return Promise.resolve(socket);
    return new Promise<Socket>((resolve, reject) => {
      let cause: Error | undefined;
      const closed = () => {
        done();
        socket.destroy();
        const why = cause ? `: ${(cause as NodeJS.ErrnoException).code ?? cause.message}` : '';
        reject(
          new RetriableError(
            `${this.where()} closed the connection within ${waitMs} ms of opening it, before any event was sent${why}: it refuses this client (client certificate, allowed senders) or is shutting down`,
            { cause, code: 'SYSLOG_REFUSED' },
          ),
        );
      };
      const onError = (err: Error) => (cause = err);
      const timer = setTimeout(() => {
        done();
        resolve(socket);
      }, waitMs);
      const onAbort = () => {
        done();
        socket.destroy();
        reject(this.connectError(new Error('aborted')));
      };
      function done() {
        clearTimeout(timer);
        socket.off('error', onError);
        socket.off('close', closed);
        socket.off('end', closed);
        signal.removeEventListener('abort', onAbort);
      }
      socket.on('error', onError);
      socket.once('close', closed);
      socket.once('end', closed);
      signal.addEventListener('abort', onAbort, { once: true });
      // Reading is what lets a reset or FIN arrive as an event.
      socket.resume();
    });
  }

  private connectError(err: Error): RetriableError | FatalError {
    const code = (err as NodeJS.ErrnoException).code;
    const message = `connect to ${this.where()}: ${code && !err.message.includes(code) ? `${code} ` : ''}${err.message}`;
    if (isTlsTrustError(code)) return new FatalError(`${message} (set tls.caFile to the CA that signed the receiver's certificate)`, { cause: err, code: `TLS_${code}` });
    return new RetriableError(message, { cause: err, code: `SYSLOG_${code ?? 'UNAVAILABLE'}` });
  }

  /** Resolve and connect (and the TLS handshake); nothing is written, since any message would land in the receiver's log. */
  async check(signal: AbortSignal): Promise<CheckStep[]> {
    const steps: CheckStep[] = [];
    try {
      const { address } = await lookup(this.config.host);
      steps.push({ step: `resolve ${this.config.host}`, ok: true, detail: address });
    } catch (err) {
      steps.push({ step: `resolve ${this.config.host}`, ok: false, detail: `${(err as NodeJS.ErrnoException).code ?? ''} ${errorMessage(err)}`.trim() });
      return steps;
    }
    const step = `connect to ${this.where()}`;
    try {
      const socket = await this.open(signal);
      socket.destroy();
      steps.push({ step, ok: true, detail: '' });
    } catch (err) {
      steps.push({ step, ok: false, detail: errorMessage(err) });
    }
    return steps;
  }

  async close(): Promise<void> {
    const socket = this.socket ?? (await this.connecting?.catch(() => undefined));
    this.socket = undefined;
    if (!socket || socket.destroyed) return;
    // end() sends what is buffered, then FIN; wait for it so a clean stop loses nothing.
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end();
      setTimeout(() => socket.destroy(), 2000).unref();
    });
  }
}

function tlsFileProblems(config: SyslogSinkConfig): ConfigIssue[] {
  const problems: ConfigIssue[] = [];
  for (const key of ['caFile', 'certFile', 'keyFile'] as const) {
    const file = config.tls?.[key];
    if (!file) continue;
    try {
      readFileSync(file);
    } catch (err) {
      problems.push({ path: ['tls', key], message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}` });
    }
  }
  return problems;
}

export const syslogSinkDefinition: SinkDefinition<SyslogSinkConfig> = {
  type: 'syslog',
  schema: syslogSinkSchema,
  validate: (config) => (config.transport === 'tls' ? tlsFileProblems(config) : []),
  create: (config, ctx) => new SyslogSink(config, ctx),
};

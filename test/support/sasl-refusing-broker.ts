import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { TestContext } from 'node:test';

const API_VERSIONS = 18;
const SASL_HANDSHAKE = 17;
const SASL_AUTHENTICATE = 36;
const SASL_AUTHENTICATION_FAILED = 58;

export interface SaslRefusingBroker {
  /** host:port, for `bootstrapServers`. */
  bootstrapServers: string[];
  /** How many SASL PLAIN logins it refused. */
  refused: number;
}

/**
 * A Kafka broker on loopback that offers SASL PLAIN and refuses every login
 * with a message quoting the credentials it got, as a verbose broker or a
 * proxy in front of one may; kafkajs logs that message. It speaks the
 * three requests a client sends before it is logged in (ApiVersions,
 * SaslHandshake, SaslAuthenticate) and nothing else. The librdkafka mock
 * cluster (kafka-mock.ts) implements no SASL.
 */
export async function startSaslRefusingBroker(t: TestContext): Promise<SaslRefusingBroker> {
  const sockets = new Set<Socket>();
  const broker: SaslRefusingBroker = { bootstrapServers: [], refused: 0 };
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const frame = buffered.subarray(4, 4 + buffered.readInt32BE(0));
        buffered = buffered.subarray(4 + frame.length);
        const answer = answerTo(frame, broker);
        if (answer) socket.write(answer);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  broker.bootstrapServers = [`127.0.0.1:${(server.address() as AddressInfo).port}`];
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return broker;
}

/** The response frame to one request frame (without its size), or undefined for a request it does not speak. */
function answerTo(frame: Buffer, broker: SaslRefusingBroker): Buffer | undefined {
  const apiKey = frame.readInt16BE(0);
  const apiVersion = frame.readInt16BE(2);
  const correlationId = frame.readInt32BE(4);
  const body = frame.subarray(10 + frame.readInt16BE(8));
  let out: Buffer;
  if (apiKey === API_VERSIONS) {
    const versions = [[API_VERSIONS, 0, 2], [SASL_HANDSHAKE, 0, 1], [SASL_AUTHENTICATE, 0, 0]].map(([key, min, max]) => int16s(key!, min!, max!));
    out = Buffer.concat([int16s(0), int32(versions.length), ...versions, ...(apiVersion >= 1 ? [int32(0)] : [])]);
  } else if (apiKey === SASL_HANDSHAKE) {
    out = Buffer.concat([int16s(0), int32(1), string('PLAIN')]);
  } else if (apiKey === SASL_AUTHENTICATE) {
    // PLAIN's bytes, after their length: authzid NUL username NUL password.
    const [, username, password] = body.subarray(4).toString('utf8').split('\0');
    broker.refused++;
    out = Buffer.concat([int16s(SASL_AUTHENTICATION_FAILED), string(`Authentication failed: invalid credentials ${username}:${password}`), int32(0)]);
  } else return undefined;
  return Buffer.concat([int32(4 + out.length), int32(correlationId), out]);
}

function int16s(...values: number[]): Buffer {
  const b = Buffer.alloc(2 * values.length);
  values.forEach((v, i) => b.writeInt16BE(v, 2 * i));
  return b;
}

function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
}

function string(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([int16s(bytes.length), bytes]);
}

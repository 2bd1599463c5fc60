import { connect as netConnect, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { createServer, type TLSSocket, type TlsOptions } from 'node:tls';

const METADATA_API_KEY = 3;

/**
 * A TLS-terminating proxy in front of ONE plaintext mock broker, because the
 * librdkafka mock cluster speaks neither TLS nor SASL. The broker advertises
 * its own port in Metadata responses; the proxy rewrites that port to its own
 * so the client keeps talking TLS through the proxy.
 */
export interface KafkaTlsProxy {
  port: number;
  /** Subject CN of every client certificate the proxy accepted. */
  clientCertificates: string[];
  close(): Promise<void>;
}

export async function startKafkaTlsProxy(t: TestContext, brokerPort: number, tls: TlsOptions): Promise<KafkaTlsProxy> {
  const sockets = new Set<Socket>();
  const clientCertificates: string[] = [];
  let port = 0;
  const server = createServer(tls, (client: TLSSocket) => {
    const cn = client.getPeerCertificate()?.subject?.CN;
    if (cn) clientCertificates.push(String(cn));
    const broker = netConnect(brokerPort, '127.0.0.1');
    sockets.add(client).add(broker);
    const requests = new Map<number, { apiKey: number; apiVersion: number }>();
    frames(client, (frame) => {
      requests.set(frame.readInt32BE(8), { apiKey: frame.readInt16BE(4), apiVersion: frame.readInt16BE(6) });
      broker.write(frame);
    });
    frames(broker, (frame) => {
      const req = requests.get(frame.readInt32BE(4));
      if (req?.apiKey === METADATA_API_KEY) rewriteBrokerPorts(frame, req.apiVersion, brokerPort, port);
      client.write(frame);
    });
    const end = () => {
      client.destroy();
      broker.destroy();
    };
    client.on('error', end).on('close', end);
    broker.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  t.after(close);
  return { port, clientCertificates, close };
}

/** Calls `onFrame` with each complete size-prefixed Kafka frame (size field included). */
function frames(socket: Socket, onFrame: (frame: Buffer) => void): void {
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
      const size = 4 + buf.readInt32BE(0);
      onFrame(buf.subarray(0, size));
      buf = buf.subarray(size);
    }
  });
}

/**
 * Metadata response v0–v8 (non-flexible; kafkajs uses ≤ v6): size, correlation
 * id, [throttle_time_ms v3+], brokers[int32]{node_id, host string, port, [rack v1+]}.
 */
function rewriteBrokerPorts(frame: Buffer, version: number, from: number, to: number): void {
  let o = 8 + (version >= 3 ? 4 : 0);
  const brokers = frame.readInt32BE(o);
  o += 4;
  for (let i = 0; i < brokers; i++) {
    o += 4;
    o += 2 + frame.readInt16BE(o);
    if (frame.readInt32BE(o) === from) frame.writeInt32BE(to, o);
    o += 4;
    if (version >= 1) {
      const rack = frame.readInt16BE(o);
      o += 2 + Math.max(rack, 0);
    }
  }
}

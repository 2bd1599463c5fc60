import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { gunzipSync } from 'node:zlib';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The body as it came over the wire. */
  wire: Buffer;
  /** The body after Content-Encoding: gzip was undone. */
  text: string;
  at: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string | object;
  /** Drop the connection without answering (a receiver that crashed mid-request). */
  destroy?: boolean;
}

export interface HttpReceiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

/**
 * A real HTTP(S) server on loopback that records every request and answers
 * with `handle`. The tests give it the documented behaviour of the product
 * they stand in for (Splunk HEC, Elasticsearch, Datadog): those products do
 * not run here, so these are doubles of their HTTP APIs.
 */
export async function startHttpReceiver(
  t: TestContext,
  handle: (req: ReceivedRequest) => Answer | Promise<Answer>,
  opts: { tls?: { key: Buffer; cert: Buffer }; port?: number } = {},
): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = [];
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const wire = Buffer.concat(chunks);
      const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(wire) : wire).toString('utf8');
      const received: ReceivedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, wire, text, at: Date.now() };
      requests.push(received);
      const answer = await handle(received);
      if (answer.destroy) {
        req.socket.destroy();
        return;
      }
      const body = answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(body);
    });
  };
  const server = opts.tls ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, onRequest) : createHttpServer(onRequest);
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  t.after(close);
  return { url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`, port, requests, close };
}

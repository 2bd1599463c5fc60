import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: any;
}

export interface RawConnection {
  socket: Socket;
  /** Everything the server sent so far. */
  received: () => string;
  /** Resolves when the server closed (or reset) the connection. */
  closed: Promise<void>;
}

/** A plain TCP connection to an http:// URL's host and port, so a test sends exactly the bytes it means. */
export async function openRaw(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let data = '';
  socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
  // A reset is a close too: what matters is that the server let go.
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => data, closed };
}

/**
 * Sends one request exactly as given (`METHOD TARGET`, headers, body) with
 * `Connection: close` and parses the answer once the server closes.
 */
export async function rawRequest(url: string, requestLine: string, headers: Record<string, string> = {}, body = ''): Promise<RawResponse> {
  const conn = await openRaw(url);
  const head = Object.entries({ Host: new URL(url).host, Connection: 'close', ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const hasLength = Object.keys(headers).some((k) => k.toLowerCase() === 'content-length');
  const length = !hasLength && (body || /^(POST|PUT|PATCH) /.test(requestLine)) ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : '';
  conn.socket.write(`${requestLine} HTTP/1.1\r\n${head}${length}\r\n${body}`);
  await withDeadline(conn.closed, 20_000, `an answer to ${requestLine}`);
  return parseResponse(conn.received());
}

/** The first HTTP/1.1 response in `raw` (status line, headers, body by Content-Length or chunked). */
export function parseResponse(raw: string): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete HTTP response in ${JSON.stringify(raw.slice(0, 200))}`);
  const [statusLine, ...lines] = raw.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)?.[1]);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let rest = raw.slice(end + 4);
  let body = '';
  if (headers['transfer-encoding'] === 'chunked') {
    for (;;) {
      const lineEnd = rest.indexOf('\r\n');
      const size = parseInt(rest.slice(0, lineEnd), 16);
      if (!(size > 0)) break;
      body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
      rest = rest.slice(lineEnd + 2 + size + 2);
    }
  } else {
    body = headers['content-length'] !== undefined ? rest.slice(0, Number(headers['content-length'])) : rest;
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status, headers, body, json };
}

/** `promise`, or a failure naming `what` after `ms`: an upper bound, so a server that never lets go fails the test. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
    }),
  ]);
}

import type { FastifyError, FastifyHttpOptions, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { maxHeaderSize, STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { AuditstreamConfig } from '../config/schema.js';
import { type RefusalCounter, UNMATCHED } from './refusal-metrics.js';

type ServerConfig = AuditstreamConfig['server'];

/**
 * Fastify options that bound what one connection may cost: how long its
 * headers, its whole request and its idle keep-alive may take, and the
 * `{error, code}` answers for what the HTTP parser and the router refuse
 * before any route runs.
 */
export function transportOptions(server: ServerConfig, refused: RefusalCounter): FastifyHttpOptions<Server> {
  const { headersSec, requestSec, keepAliveSec } = server.timeouts;
  const headersMs = Math.round(headersSec * 1000);
  return {
    // Node's own default is 300 s, and Fastify sets 0 (never): a body trickled a byte at a time, or shorter than its
    // Content-Length, would hold the connection forever.
    requestTimeout: Math.round(requestSec * 1000),
    keepAliveTimeout: Math.round(keepAliveSec * 1000),
    http: {
      headersTimeout: headersMs,
      // Node sweeps for expired requests every 30 s by default, which would let a 20 s limit run to 50 s.
      connectionsCheckingInterval: Math.min(1000, headersMs / 4),
    },
    clientErrorHandler: clientErrorHandler(server.timeouts, refused),
    frameworkErrors: frameworkErrors(refused),
  };
}

/** Connections over `server.maxConnections` are closed at accept; the ones already open are served as usual. */
export function capConnections(app: FastifyInstance, maxConnections: number): void {
  app.server.maxConnections = maxConnections;
  let refused = 0;
  let lastWarning = 0;
  // 'drop' fires once per refused connection: warn at most once a minute so a flood cannot flood the log too.
  app.server.on('drop', () => {
    refused++;
    if (Date.now() - lastWarning < 60_000) return;
    app.log.warn({ refused, maxConnections }, `refused ${refused} connection(s): server.maxConnections (${maxConnections}) are open`);
    lastWarning = Date.now();
    refused = 0;
  });
}

type ClientError = Error & { code?: string; reason?: string };

/** What Node's HTTP parser refuses (or times out) before Fastify sees a request, in the API's `{error, code}` shape. */
function clientErrorHandler(timeouts: ServerConfig['timeouts'], refused: RefusalCounter) {
  return (err: ClientError, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const answer = describeClientError(err, timeouts);
    // A response already started on this socket must not get a second status line in the middle of it.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (!answer || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    refused(UNMATCHED, answer.code);
    const body = JSON.stringify({ error: answer.error, code: answer.code });
    socket.end(`HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    socket.once('finish', () => socket.destroy());
    // A peer that stops reading would keep the answer unflushed: it gets a few seconds, not forever.
    socket.setTimeout(5_000, () => socket.destroy());
  };
}

function describeClientError(err: ClientError, { headersSec, requestSec }: ServerConfig['timeouts']) {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      status: 408,
      code: 'REQUEST_TIMEOUT',
      error: `the request did not arrive in time: its headers may take server.timeouts.headersSec (${headersSec} s), the whole request with its body server.timeouts.requestSec (${requestSec} s)`,
    };
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return { status: 431, code: 'HEADERS_TOO_LARGE', error: `the request line and headers are larger than ${maxHeaderSize} bytes` };
  }
  if (err.code?.startsWith('HPE_')) {
    return { status: 400, code: 'HTTP_MALFORMED', error: `malformed HTTP request (${err.code}): ${err.reason ?? err.message}` };
  }
  return undefined;
}

/** What the router refuses before a route is chosen: a URL that is not valid percent-encoding, a too long path parameter. */
function frameworkErrors(refused: RefusalCounter) {
  return (err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void => {
    const answer =
      err.code === 'FST_ERR_BAD_URL'
        ? { status: 400, error: `the URL path is not valid percent-encoding: ${err.message}`, code: 'BAD_URL' }
        : err.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? { status: 414, error: 'a path parameter (such as an event id) is longer than the router accepts', code: 'URL_TOO_LONG' }
          : { status: err.statusCode ?? 500, error: err.message, code: err.code ?? `HTTP_${err.statusCode ?? 500}` };
    // No route hook runs for these answers, so the refusal is counted here.
    refused(UNMATCHED, answer.code);
    void reply.code(answer.status).send({ error: answer.error, code: answer.code });
  };
}

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConfigError } from '../core/errors.js';
import { FirehoseRefusedError } from '../sources/firehose/errors.js';
import type { FirehoseSource } from '../sources/firehose/source.js';
import { HttpError } from './http-error.js';
import { routeSchemas } from './schemas.js';

const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * POST <source.path>: hands a Firehose delivery to its source. Firehose
 * cannot send an API key, so the route authenticates with the source's access
 * keys (X-Amz-Firehose-Access-Key) before the body is read, and every answer,
 * errors included, is in Firehose's shape `{requestId, timestamp[,
 * errorMessage]}` (plus `error` and `code`, as every error of the API has):
 * Firehose counts an answer of another shape as a failed delivery.
 */
export function registerFirehoseRoute(api: FastifyInstance, source: FirehoseSource): void {
  if (api.hasRoute({ method: 'POST', url: source.path })) {
    throw new ConfigError(`${source.configPath}.path`, `POST ${source.path} is already a route; give this source another path`);
  }
  api.post(
    source.path,
    {
      config: { authenticatedBy: 'firehose-access-key' },
      bodyLimit: source.maxBodyBytes,
      // One operation per source: operationIds must be unique in the document.
      schema: { ...routeSchemas.firehose, operationId: `firehoseDelivery_${source.name}`, summary: `${routeSchemas.firehose.summary}: source ${source.name}` },
      // The body is documented, not validated here: the source reads it and names what is wrong in Firehose's shape.
      validatorCompiler: () => () => true,
      onRequest: async (req) => source.checkAccessKey(header(req, 'x-amz-firehose-access-key')),
      errorHandler: (err, req, reply) => refuse(err, req, reply, source),
    },
    async (req, reply) => {
      const accepted = await source.deliver({
        body: req.body as Buffer | undefined,
        requestId: header(req, 'x-amz-firehose-request-id'),
        sourceArn: header(req, 'x-amz-firehose-source-arn'),
        commonAttributes: header(req, 'x-amz-firehose-common-attributes'),
        protocol: req.protocol,
      });
      return reply.code(200).send(accepted);
    },
  );
}

/** Any error of the route, from the key check to the publish, as a non-200 Firehose answer. */
function refuse(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply, source: FirehoseSource) {
  const { status, code, message } = describeRefusal(err, source);
  if (status === 500 && !(err instanceof FirehoseRefusedError)) req.log.error({ err }, 'Firehose request failed');
  // A refused body may be left unread on the socket: close it so the connection is not reused mid-body.
  if (status === 413 || status === 415) void reply.header('Connection', 'close');
  return reply.code(status).send({
    requestId: header(req, 'x-amz-firehose-request-id') ?? '',
    timestamp: Date.now(),
    errorMessage: message,
    error: message,
    code,
  });
}

function describeRefusal(err: FastifyError | Error, source: FirehoseSource): { status: number; code: string; message: string } {
  if (err instanceof FirehoseRefusedError) return { status: err.status, code: err.code, message: err.message };
  if (err instanceof HttpError) return { status: err.statusCode, code: err.code, message: err.message };
  const code = (err as FastifyError).code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { status: 413, code: 'BODY_TOO_LARGE', message: `request body is larger than this source's maxBodyBytes (${source.maxBodyBytes} bytes); lower the Firehose stream's buffer size or raise maxBodyBytes` };
  }
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Content-Type must be application/json, as Firehose sends' };
  if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' || /incorrect header check|unexpected end of file/.test(err.message)) {
    return { status: 400, code: 'BODY_MALFORMED', message: `Content-Encoding: gzip, but the body is not valid gzip: ${err.message}` };
  }
  const status = (err as FastifyError).statusCode;
  if (status && status >= 400 && status < 500) return { status, code: code ?? 'BAD_REQUEST', message: err.message };
  return { status: 500, code: 'INTERNAL', message: 'internal error; see the server log' };
}

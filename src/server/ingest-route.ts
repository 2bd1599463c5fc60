import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  BodyEmptyError,
  BodyMalformedError,
  DeliveryFailedError,
  FormatInvalidError,
  IngestBusyError,
  IngestRefusedError,
  NoValidEventsError,
  QueueFullError,
  SourceStoppingError,
  TenantQuotaExceededError,
  TooManyEventsError,
  UnsupportedCharsetError,
} from '../sources/http/errors.js';
import type { HttpSource, IngestTenancy } from '../sources/http/source.js';
import type { Tenancy } from '../pipeline/pipeline.js';
import type { TenantQuotas } from '../tenants/tenant.js';
import { tenantNotFound } from './auth.js';
import { HttpError, retryAfterHeader } from './http-error.js';

/** POST /v1/events: hands the body to the http source and answers with what it acknowledged or why it refused. */
export function ingestHandler(source: HttpSource, tenancy: Tenancy) {
  return async function ingest(req: FastifyRequest, reply: FastifyReply) {
    const { format, tenant: named, vpcFlowFormat } = req.query as { format?: string | string[]; tenant?: string | string[]; vpcFlowFormat?: string | string[] };
    const requestTenancy = tenancyOf(req, tenancy, named);
    try {
      const accepted = await source.ingest({
        body: req.body as Buffer | undefined,
        contentType: req.headers['content-type'],
        protocol: req.protocol,
        // Sent twice (`?format=a&format=b`), it names no one format: the refusal quotes both.
        format: Array.isArray(format) ? format.join(',') : format,
        keyTextFormat: req.apiKey?.textFormat,
        tenancy: requestTenancy,
        vpcFlowFormat,
        keyVpcFlowFormat: req.apiKey?.vpcFlowFormat,
      });
      return await reply.code(202).send(accepted);
    } catch (err) {
      if (!(err instanceof IngestRefusedError)) throw err;
      return sendRefusal(reply, err);
    }
  };
}

/**
 * onRequest of POST /v1/events: a request whose tenant has no ingest quota
 * left for even one event is refused before its body is read, since any body
 * would be refused once parsed; a tenant flooding over its quota then costs
 * the server no parsing. The body left unread is discarded by Node as it
 * arrives, so the connection stays usable. A request acting for no one tenant
 * (an admin key without `?tenant=`) is checked once its events are read.
 */
export function refuseExhaustedTenant(source: HttpSource, tenancy: Tenancy) {
  return async function refuseEarly(req: FastifyRequest, reply: FastifyReply) {
    const { tenant: named } = req.query as { tenant?: string | string[] };
    try {
      source.refuseExhausted(tenancyOf(req, tenancy, named));
    } catch (err) {
      if (!(err instanceof IngestRefusedError)) throw err;
      return sendRefusal(reply, err);
    }
  };
}

function sendRefusal(reply: FastifyReply, err: IngestRefusedError): FastifyReply {
  const { status, extra, retryAfterSec } = refusalAnswer(err);
  if (retryAfterSec !== undefined) void reply.header('Retry-After', retryAfterHeader(retryAfterSec));
  return reply.code(status).send({ error: err.message, code: err.code, ...extra });
}

/** The status and the fields beyond `{error, code}` that each refusal answers with. */
function refusalAnswer(err: IngestRefusedError): { status: number; extra?: Record<string, unknown>; retryAfterSec?: number } {
  if (err instanceof TenantQuotaExceededError) return { status: 429, extra: { tenant: err.tenant, quota: err.quota }, retryAfterSec: err.retryAfterSec };
  if (err instanceof QueueFullError) return { status: 429, extra: { failed: err.failed, ...err.rejections }, retryAfterSec: err.retryAfterSec };
  if (err instanceof IngestBusyError) return { status: 429, retryAfterSec: err.retryAfterSec };
  if (err instanceof DeliveryFailedError) return { status: 503, extra: { failed: err.failed, ...err.rejections } };
  if (err instanceof NoValidEventsError) return { status: 400, extra: { accepted: 0, ...err.rejections } };
  if (err instanceof TooManyEventsError) return { status: 413 };
  if (err instanceof BodyEmptyError || err instanceof BodyMalformedError || err instanceof FormatInvalidError) return { status: 400 };
  if (err instanceof UnsupportedCharsetError) return { status: 415 };
  if (err instanceof SourceStoppingError) return { status: 503 };
  // A refusal added to the source but not to this table still answers by its class: 503 says retrying may help, 400 that it cannot.
  return { status: err.retriable ? 503 : 400 };
}

/**
 * The tenant of the request's events: a tenant key's own (a `?tenant=` naming
 * another answers 404, as for any other tenant's resource), or an admin key's
 * `?tenant=`, which must exist; an admin without one lets each event name its own.
 */
function tenancyOf(req: FastifyRequest, tenancy: Tenancy, named: string | string[] | undefined): IngestTenancy {
  if (Array.isArray(named)) throw new HttpError(400, 'BAD_REQUEST', 'tenant: give one ?tenant= at most');
  const principal = req.principal;
  let tenant: string | undefined = named === '' ? undefined : named;
  if (principal?.kind === 'tenant') {
    if (tenant !== undefined && tenant !== principal.tenant) throw tenantNotFound(tenant);
    tenant = principal.tenant;
  } else if (tenant !== undefined && !tenancy.tenants.get(tenant)) {
    throw tenantNotFound(tenant);
  }
  return {
    tenant,
    // A server without tenants treats `tenant` as the free text it was before tenants existed: an upgrade breaks no producer.
    exists: (id) => tenancy.tenants.size === 0 || tenancy.tenants.get(id) !== undefined,
    exhausted: () => {
      // Each event names its own tenant: known only once the body is read.
      if (tenant === undefined) return undefined;
      const refused = tenancy.quota.exhausted(tenant, quotasOf(tenancy, tenant));
      return refused && new TenantQuotaExceededError(refused.tenant, refused.quota, refused.retryAfterSec);
    },
    admit: (counts) => {
      // Free text in `tenant` (a server without tenants) names no one with a quota.
      const known = new Map([...counts].filter(([id]) => tenancy.tenants.get(id) !== undefined));
      const refused = tenancy.quota.take(known, (id) => quotasOf(tenancy, id));
      return refused && new TenantQuotaExceededError(refused.tenant, refused.quota, refused.retryAfterSec);
    },
  };
}

function quotasOf(tenancy: Tenancy, id: string): TenantQuotas {
  const t = tenancy.tenants.get(id);
  // Every counted tenant was checked to exist a moment ago; one deleted since has no quota left to spend.
  return t ? t.quotas : { ingestEventsPerSec: 1, ingestBurst: 0, maxDestinations: 0, maxBacklogBytes: 0 };
}

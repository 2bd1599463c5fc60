import type { Logger } from 'pino';
import type { AuditstreamConfig } from '../../config/schema.js';
import { type ComponentMetrics, eventsJsonBytes } from '../../core/component-metrics.js';
import { errorMessage } from '../../core/errors.js';
import type { AuditEvent } from '../../core/event.js';
import type { EventTimeBounds } from '../../core/time.js';
import { parseRecordSettled, TooManyPartsError, type ParseMode } from '../../formats/parse.js';
import type { ParseContext } from '../../formats/producer-format.js';
import { isTextFormat, TEXT_FORMATS, type TextFormat } from '../../formats/text-formats.js';
import { vpcFlowLayout, type VpcFlowLayout } from '../../formats/vpc-flow/log-format.js';
import type { Publisher, Source } from '../source.js';
import { splitBody } from './body-split.js';
import { bodyKindOf, parseContentType, TEXT_CHARSETS, TEXT_TYPE, type BodyKind } from './content-types.js';
import {
  BodyEmptyError,
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
} from './errors.js';
import { Pacer } from './pacer.js';
import { Rejections, type RejectionList } from './rejections.js';
import { ThrottledWarnings } from './throttled-warnings.js';

export interface HttpSourceOptions {
  limits: AuditstreamConfig['server']['limits'];
  /** `server.listen`, for GET /v1/sources. */
  listen: string;
  /** `audit.eventTime`: the window every event's time must fall in. */
  eventTime: EventTimeBounds;
  component: ComponentMetrics;
  /** Bound to `{ source: 'http' }`, as the pipeline binds every other source's logger to its name. */
  logger: Logger;
}

/** One POST /v1/events as the source sees it: the body, already decompressed, and how it was sent. */
export interface IngestRequest {
  body: Buffer | undefined;
  /** The Content-Type header as sent; only the media type counts. */
  contentType: string | undefined;
  /** `http` or `https`, for component_received_bytes_total{protocol}. */
  protocol: string;
  /** The `?format=` query parameter as sent: how a text/plain body's lines are read. */
  format?: string | undefined;
  /** The text format of the API key the request came with, used when it names no `format`. */
  keyTextFormat?: TextFormat | undefined;
  /** The `?vpcFlowFormat=` query parameter as sent (an array when repeated): the format string the VPC flow log lines were written with. */
  vpcFlowFormat?: string | string[] | undefined;
  /** The API key's `vpcFlowFormat` (checked when the config loaded), used when the request names none. */
  keyVpcFlowFormat?: string | undefined;
  /** Which tenant each event belongs to, and that tenant's quota; without it events keep the tenant they name. */
  tenancy?: IngestTenancy | undefined;
}

/** How a request's events get their tenant (docs/tenants.md, "Ingest as a tenant"). */
export interface IngestTenancy {
  /**
   * The tenant the request acts for: a tenant key's own, or an admin key's
   * `?tenant=`. Events that name none get it; an event naming another is refused.
   * Undefined: each event names its own tenant, or none.
   */
  tenant: string | undefined;
  /** Whether events may name this tenant: it exists (or the server has no tenants at all). */
  exists(tenant: string): boolean;
  /** The refusal when the request's tenant cannot take a single event now, whatever the body holds. */
  exhausted(): TenantQuotaExceededError | undefined;
  /** Takes each tenant's events from its ingest quota, all or none: the refusal when one is over. */
  admit(eventsPerTenant: ReadonlyMap<string, number>): TenantQuotaExceededError | undefined;
}

/** The events of a request were acknowledged: the delivery policy holds for every one. */
export interface IngestAccepted extends RejectionList {
  accepted: number;
  ids: string[];
}

/**
 * HTTP ingest, the source `http`: the server hands it each request body; it
 * splits the body into records, refuses bad records by index, parses the rest
 * and publishes them, answering with what was acknowledged or throwing an
 * IngestRefusedError that says why nothing was. It is configured by
 * `server.*` and run by the server, so it is not among `sources[]`.
 */
export class HttpSource implements Source {
  readonly name = 'http';
  private publisher: Publisher | undefined;
  private stopping = false;
  private readonly warnings: ThrottledWarnings;
  /** Body bytes of the requests being parsed and published now. */
  private bytesInFlight = 0;

  constructor(private readonly o: HttpSourceOptions) {
    this.warnings = new ThrottledWarnings(o.logger);
  }

  async start(publisher: Publisher): Promise<void> {
    this.publisher = publisher;
  }

  /** Refuses new requests from now on; a request already publishing finishes (the server waits for it). */
  async stop(): Promise<void> {
    this.stopping = true;
  }

  status(): Record<string, unknown> {
    return { type: 'http', listen: this.o.listen };
  }

  async ingest(req: IngestRequest): Promise<IngestAccepted> {
    try {
      return await this.read(req);
    } catch (err) {
      this.count(err);
      throw err;
    }
  }

  /**
   * Refuses a request before its body is read when its tenant's quota cannot
   * take a single event now (throws the refusal, counted as any other).
   */
  refuseExhausted(tenancy: IngestTenancy): void {
    const refused = tenancy.exhausted();
    if (!refused) return;
    this.count(refused);
    throw refused;
  }

  private async read(req: IngestRequest): Promise<IngestAccepted> {
    const { limits, component } = this.o;
    const publisher = this.publisher;
    if (this.stopping || !publisher) throw new SourceStoppingError();
    const body = req.body;
    if (body) component.receivedBytes(body.length, req.protocol);
    if (!body || body.length === 0) throw new BodyEmptyError();
    const { mediaType, charset } = parseContentType(req.contentType);
    const kind = bodyKindOf(mediaType);
    const parser = parserFor(req, kind, charset);
    const parseContext: ParseContext = { eventTime: this.o.eventTime, maxDepth: limits.maxDepth, ...vpcFlowLayoutFor(req, parser) };
    // A body's parsed events take tens of times its bytes until the journal has them: the budget bounds that
    // for the whole server. Alone, a body is always taken, so any body within maxBodyBytes can get in.
    if (this.bytesInFlight > 0 && this.bytesInFlight + body.length > limits.maxIngestBytesInFlight) throw new IngestBusyError(limits.maxIngestBytesInFlight);
    this.bytesInFlight += body.length;
    // Released once the journal has the events, not when the answer is ready: under ack: delivered a
    // request waits for its destinations, and one tenant's dead destination must not keep every other
    // producer's requests out (429 INGEST_BUSY) until emitTimeoutInSec.
    let held = true;
    const release = () => {
      if (held) this.bytesInFlight -= body.length;
      held = false;
    };
    try {
      return await this.parseAndPublish(req, body, kind, parser, parseContext, publisher, release);
    } finally {
      release();
    }
  }

  private async parseAndPublish(
    req: IngestRequest,
    body: Buffer,
    kind: BodyKind,
    parser: ParseMode,
    parseContext: ParseContext,
    publisher: Publisher,
    journalled: () => void,
  ): Promise<IngestAccepted> {
    const { limits, component } = this.o;
    const pacer = new Pacer();
    const records = await splitBody(body, kind, limits, pacer);
    const events: AuditEvent[] = [];
    const rejections = new Rejections();
    // Events and refused elements so far: a refused element costs as much to parse as an event, so both count.
    let parts = 0;
    for (const r of records) {
      if (pacer.due()) await pacer.yield();
      if (r.error) {
        rejections.add(r.index, r.error);
        continue;
      }
      const size = Buffer.byteLength(r.text);
      if (size > limits.maxEventBytes) {
        rejections.add(r.index, `event is ${size} bytes, over server.limits.maxEventBytes (${limits.maxEventBytes})`);
        continue;
      }
      // Settled: one bad element of a CloudTrail Records array or a nested array costs only itself. A record of
      // more elements than the request has room for is refused before any is parsed: one record of 1 MiB held
      // half a million `0,` elements, and parsing them held the event loop for seconds.
      let parsed;
      try {
        parsed = parseRecordSettled({ text: r.text, value: r.value }, parser, parseContext, limits.maxEventsPerRequest - parts);
      } catch (err) {
        if (err instanceof TooManyPartsError) throw new TooManyEventsError(limits.maxEventsPerRequest);
        throw err;
      }
      parts += parsed.events.length + parsed.failures.length;
      for (const e of parsed.events) {
        const refused = req.tenancy && stampTenant(e, req.tenancy);
        if (refused) rejections.add(r.index, refused.error, refused.code);
        else events.push(e);
      }
      // A text line's own words say nothing of where it was: the line number finds it in the producer's file.
      const where = kind === 'text' ? `line ${r.line}: ` : '';
      for (const f of parsed.failures) rejections.add(r.index, where + f.error.message);
      // One record may hold many events (a JSON array, a CloudTrail log file): the cap is on events, too.
      if (events.length > limits.maxEventsPerRequest) throw new TooManyEventsError(limits.maxEventsPerRequest);
    }
    if (rejections.total > 0) {
      component.error('invalid_event', 'processing', rejections.total);
      this.warnings.note('invalid_event', rejections.total, () => ({
        fields: { errors: rejections.listed.slice(0, 3) },
        countField: 'rejected',
        msg: 'records rejected; each producer is told which in its answer',
      }));
    }
    const eventBytes = eventsJsonBytes(events);
    component.received(events.length, eventBytes);
    if (events.length === 0) throw new NoValidEventsError(rejections.list());
    if (req.tenancy) {
      const refused = req.tenancy.admit(eventsPerTenant(events));
      if (refused) throw refused;
    }
    // Taken before publishing: the events are not needed once the journal has them.
    const ids = events.map((e) => e.id);
    const result = await publisher.publish(events, undefined, journalled);
    if (!result.ok) {
      if (result.retryAfterSec !== undefined) throw new QueueFullError(result.failed, rejections.list(), result.retryAfterSec);
      throw new DeliveryFailedError(result.failed, rejections.list());
    }
    component.sent(ids.length, eventBytes);
    return { accepted: ids.length, ...rejections.list(), ids };
  }

  /** Every request not acknowledged is an error of this source, by the refusal's code (body_malformed, queue_full, …). */
  private count(err: unknown): void {
    if (err instanceof IngestRefusedError) {
      this.o.component.error(err.errorType, err.stage);
      this.warnings.note(err.errorType, 1, () => ({ fields: { code: err.code, err: err.message }, countField: 'refused', msg: 'request refused' }));
      return;
    }
    // The publisher itself failed (a queue's disk, say): counted as the other sources count it.
    this.o.component.error('publish_failed', 'sending');
    this.warnings.note('publish_failed', 1, () => ({ fields: { err: errorMessage(err) }, countField: 'refused', msg: 'publish failed; request refused' }));
  }
}

/**
 * Gives an event the request's tenant, or says why it cannot have the one it
 * names. Only an explicit `tenant` field names one: producer account ids
 * (CloudTrail, VPC flow logs) are details, not tenants.
 */
function stampTenant(e: AuditEvent, tenancy: IngestTenancy): { error: string; code: string } | undefined {
  const named = e.tenant;
  if (tenancy.tenant !== undefined) {
    if (named !== undefined && named !== tenancy.tenant) {
      return { code: 'TENANT_MISMATCH', error: `tenant: the event names tenant "${named.slice(0, 64)}", but this request acts for tenant "${tenancy.tenant}"` };
    }
    e.tenant = tenancy.tenant;
    return undefined;
  }
  // Accepted for a tenant that does not exist, the event would reach no tenant's destinations: refused instead.
  if (named !== undefined && !tenancy.exists(named)) return { code: 'TENANT_NOT_FOUND', error: `tenant: no tenant "${named.slice(0, 64)}"` };
  return undefined;
}

function eventsPerTenant(events: readonly AuditEvent[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of events) if (e.tenant !== undefined) counts.set(e.tenant, (counts.get(e.tenant) ?? 0) + 1);
  return counts;
}

/**
 * The parser of a request's records: JSON bodies are always detected record by
 * record; a text/plain body is read as `?format=` says, else as its API key's
 * `textFormat` says, else `auto`. Checked before the body is split, so a wrong
 * request costs nothing.
 */
function parserFor(req: IngestRequest, kind: BodyKind, charset: string | undefined): ParseMode {
  if (kind !== 'text') {
    if (req.format !== undefined) {
      throw new FormatInvalidError(`format: applies to Content-Type: ${TEXT_TYPE} bodies only (JSON records are detected record by record); drop it or send the lines as ${TEXT_TYPE}`);
    }
    return 'auto';
  }
  if (charset !== undefined && !TEXT_CHARSETS.includes(charset)) throw new UnsupportedCharsetError(charset);
  if (req.format === undefined) return req.keyTextFormat ?? 'auto';
  if (!isTextFormat(req.format)) throw new FormatInvalidError(`format: "${req.format}" is not a text format; use one of ${TEXT_FORMATS.join(', ')}`);
  return req.format;
}

/** A format string longer than every documented field together is not one. */
const MAX_VPC_FLOW_FORMAT_CHARS = 4096;

/**
 * The fields of the request's VPC flow log lines: `?vpcFlowFormat=`, else the
 * API key's, else none (the default formats). Checked as a source's
 * `vpcFlowFormat` is, so a typo is refused whole rather than line by line.
 */
function vpcFlowLayoutFor(req: IngestRequest, parser: ParseMode): { vpcFlow?: VpcFlowLayout } {
  if (req.vpcFlowFormat === undefined) {
    return req.keyVpcFlowFormat !== undefined && (parser === 'vpc-flow' || parser === 'auto') ? { vpcFlow: vpcFlowLayout(req.keyVpcFlowFormat) } : {};
  }
  if (parser !== 'vpc-flow' && parser !== 'auto') {
    throw new FormatInvalidError(`vpcFlowFormat: applies to VPC flow log lines (a ${TEXT_TYPE} body read as vpc-flow or auto); this request is read as ${parser}`);
  }
  // Two format strings could run together into a third one nobody wrote.
  if (Array.isArray(req.vpcFlowFormat)) throw new FormatInvalidError(`vpcFlowFormat: sent ${req.vpcFlowFormat.length} times; send the flow log's format string once`);
  if (req.vpcFlowFormat.length > MAX_VPC_FLOW_FORMAT_CHARS) throw new FormatInvalidError(`vpcFlowFormat: longer than ${MAX_VPC_FLOW_FORMAT_CHARS} characters`);
  try {
    return { vpcFlow: vpcFlowLayout(req.vpcFlowFormat) };
  } catch (err) {
    throw new FormatInvalidError(`vpcFlowFormat: ${errorMessage(err)}`);
  }
}

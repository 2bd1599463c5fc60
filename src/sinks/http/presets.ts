import { hostname as osHostname } from 'node:os';
import { encodeEvent, type Codec } from '../../codecs/codec.js';
import type { AuditEvent } from '../../core/event.js';
import type { HttpSinkConfig } from './config.js';

/** What differs between destinations: where the body goes, its shape and its limits. */
export interface BodyShape {
  /** Added to a URL that has no path of its own. */
  path: string;
  contentType: string;
  /** Per request, as the product documents them: a batch is split into requests that fit. */
  maxEntries: number;
  maxRequestBytes: number;
  /** The one place an event becomes the bytes of its entry (kept small so it can take stored bytes instead). */
  entryOf(event: AuditEvent): string;
  bodyOf(entries: readonly string[]): string;
  /** Bytes the body adds around the entries: separators, brackets. */
  overheadBytes(entries: number): number;
}

const MiB = 1024 * 1024;

/** The codec's text as a JSON value: json and ocsf are JSON objects already, raw is any text. */
function jsonValueOf(event: AuditEvent, codec: Codec): string {
  const text = encodeEvent(event, codec);
  return codec === 'raw' ? JSON.stringify(text) : text;
}

const jsonArray = { bodyOf: (entries: readonly string[]) => `[${entries.join(',')}]`, overheadBytes: (n: number) => n + 1 };
const lines = { bodyOf: (entries: readonly string[]) => entries.join('\n') + '\n', overheadBytes: (n: number) => n };

export function bodyShapeOf(c: HttpSinkConfig): BodyShape {
  switch (c.preset) {
    case 'generic':
      return c.format === 'ndjson'
        ? { path: '/', contentType: 'application/x-ndjson', maxEntries: 1000, maxRequestBytes: 4 * MiB, entryOf: (e) => encodeEvent(e, c.codec).replace(/[\r\n]+/g, ' '), ...lines }
        : { path: '/', contentType: 'application/json', maxEntries: 1000, maxRequestBytes: 4 * MiB, entryOf: (e) => jsonValueOf(e, c.codec), ...jsonArray };
    case 'splunk-hec': {
      // https://docs.splunk.com/Documentation/Splunk/latest/Data/FormateventsforHTTPEventCollector
      const s = c.splunk!;
      const fixed = JSON.stringify({ host: s.host ?? osHostname(), source: s.source, sourcetype: s.sourcetype, ...(s.index ? { index: s.index } : {}) }).slice(1, -1);
      return {
        path: '/services/collector/event',
        contentType: 'application/json',
        // HEC's max_content_length was 1 MB before Splunk 8.x; staying under it works with every version.
        maxEntries: 1000,
        maxRequestBytes: 1000 * 1000,
        entryOf: (e) => {
          const ms = Date.parse(e.time);
          // Without a readable time HEC stamps the event on arrival, which beats refusing it.
          return `{${Number.isNaN(ms) ? '' : `"time":${(ms / 1000).toFixed(3)},`}${fixed},"event":${jsonValueOf(e, c.codec)}}`;
        },
        bodyOf: (entries) => entries.join('\n'),
        overheadBytes: (n) => n,
      };
    }
    case 'elasticsearch': {
      // https://www.elastic.co/guide/en/elasticsearch/reference/current/docs-bulk.html
      const index = c.elasticsearch!.index;
      return {
        path: '/_bulk',
        contentType: 'application/x-ndjson',
        maxEntries: 1000,
        maxRequestBytes: 5 * MiB,
        entryOf: (e) => {
          // `create` with the event id: a resend answers 409 instead of indexing a second copy, and data streams accept only create.
          const action = JSON.stringify({ create: { _index: index, _id: e.id } });
          const doc = c.codec === 'raw' ? JSON.stringify({ message: encodeEvent(e, 'raw') }) : encodeEvent(e, c.codec);
          // Data streams need @timestamp; the event's own time, so searches and rollover see when it happened.
          return `${action}\n{"@timestamp":${JSON.stringify(e.time)},${doc.slice(1)}`;
        },
        ...lines,
      };
    }
    case 'datadog': {
      // https://docs.datadoghq.com/api/latest/logs/#send-logs
      const d = c.datadog!;
      const fixed = JSON.stringify({ ddsource: d.ddsource, service: d.service, hostname: d.hostname ?? osHostname(), ...(d.ddtags ? { ddtags: d.ddtags } : {}) }).slice(1, -1);
      return {
        path: '/api/v2/logs',
        contentType: 'application/json',
        maxEntries: 1000,
        maxRequestBytes: 5 * 1000 * 1000,
        entryOf: (e) => `{${fixed},"message":${JSON.stringify(encodeEvent(e, c.codec))}}`,
        ...jsonArray,
      };
    }
  }
}

/** Datadog's site for US1 when no url is given. */
export const DATADOG_DEFAULT_URL = 'https://http-intake.logs.datadoghq.com';

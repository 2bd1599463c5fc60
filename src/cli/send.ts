import type { Command } from 'commander';
import { createReadStream, statSync, type ReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { ConfigError, errorMessage } from '../core/errors.js';
import { backoffDelayMs } from '../core/retry.js';
import { retryAfterMs } from '../core/retry-after.js';
import { addServerOptions, answerOf, apiKeyOf, callServer, failureOf, serverEndpoint, type ServerOptions } from './server-client.js';

interface SendOptions extends ServerOptions {
  batch: string;
  gzip?: boolean;
  retries: string;
  progress?: boolean;
}

/** One record of the input and the line of the input it starts on, which is how a rejection names it. */
interface InputRecord {
  text: string;
  line: number;
}

interface Input {
  /** NDJSON goes out as NDJSON; a JSON array or single document as JSON arrays of its records. */
  format: 'ndjson' | 'json';
  records: AsyncIterator<InputRecord>;
  /** Records in all, when the input was read whole to parse it. */
  total?: number;
  /** How much of a file has been read (0–1); undefined for stdin. */
  fractionRead(): number | undefined;
}

interface IngestAnswer {
  accepted: number;
  rejected: { index: number; error: string }[];
  rejectedTotal: number;
}

/** The longest a Retry-After is waited for; a server asking for more is retried after this long. */
const MAX_RETRY_WAIT_MS = 300_000;
/** Progress is redrawn at most this often, so that a fast send to a log is not a line per batch. */
const PROGRESS_EVERY_MS = 1_000;

export function registerSendCommand(program: Command): void {
  const send = program
    .command('send')
    .description(
      'post audit events from FILE or stdin to a running server: NDJSON (one JSON object per line), a JSON array, or one JSON document (pretty-printed is fine); ' +
        'rejections name the line of the input; 429 and 503 are retried after their Retry-After; exits 1 if any record was rejected or not acknowledged',
    )
    .argument('[file]', 'input file; "-" or absent reads stdin', '-');
  addServerOptions(send)
    .option('--batch <n>', 'records per request', '500')
    .option('--gzip', 'compress request bodies (Content-Encoding: gzip)')
    .option('--retries <n>', 'retries of a request answered 429 (queue full) or 503 (delivery policy not met, stopping) before giving up', '5')
    .option('--progress', 'show progress on stderr (default: when stderr is a terminal)')
    .option('--no-progress', 'never show progress')
    .action(async (file: string, opts: SendOptions) => {
      const batchSize = Number(opts.batch);
      if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError('--batch', `must be a positive whole number, got "${opts.batch}"`);
      const retries = Number(opts.retries);
      if (!Number.isInteger(retries) || retries < 0) throw new ConfigError('--retries', `must be a whole number, 0 or more, got "${opts.retries}"`);
      // A bad --url is the command's fault, not the records': refused before any is read.
      serverEndpoint(opts.url, 'v1/events');
      const name = file === '-' ? 'stdin' : file;
      const input = await openInput(file);
      const progress = new Progress(opts.progress ?? process.stderr.isTTY === true);
      const usedKey = apiKeyOf(opts) !== undefined;
      let accepted = 0;
      let rejected = 0;
      let sent = 0;
      let notAcked: { first: number; count: number; reason: string } | undefined;

      const post = async (batch: InputRecord[]): Promise<Response> => {
        const body = input.format === 'ndjson' ? batch.map((r) => r.text).join('\n') + '\n' : `[${batch.map((r) => r.text).join(',')}]`;
        const headers: Record<string, string> = { 'content-type': input.format === 'ndjson' ? 'application/x-ndjson' : 'application/json' };
        if (opts.gzip) headers['content-encoding'] = 'gzip';
        for (let attempt = 0; ; attempt++) {
          const res = await callServer(opts, 'v1/events', { method: 'POST', headers, body: opts.gzip ? gzipSync(body) : body });
          // 429 and 503 acknowledge nothing of the request: the same request is sent again whole.
          if ((res.status !== 429 && res.status !== 503) || attempt >= retries) return res;
          const answer = await answerOf<IngestAnswer>(res);
          const waitMs = Math.min(MAX_RETRY_WAIT_MS, retryAfterMs(res.headers.get('retry-after')) ?? backoffDelayMs(attempt, 1_000, 30_000));
          progress.note(
            `${name}: HTTP ${res.status} for ${lineRange(batch)} (${answer.error ?? res.statusText}); retry ${attempt + 1} of ${retries} in ${(waitMs / 1000).toFixed(1)} s`,
          );
          await sleep(waitMs);
        }
      };

      /** Sends one batch; false when it was not acknowledged and sending stops. */
      const flush = async (batch: InputRecord[]): Promise<boolean> => {
        let res: Response;
        try {
          res = await post(batch);
        } catch (err) {
          notAcked = { first: batch[0]!.line, count: batch.length, reason: errorMessage(err) };
          return false;
        }
        const answer = await answerOf<IngestAnswer>(res);
        // A 400 that lists rejections refused every record of the request for its own fault: it is an answer, not a failure.
        const answered = res.ok || (res.status === 400 && typeof answer.rejectedTotal === 'number' && answer.rejectedTotal > 0);
        if (!answered) {
          const retried = (res.status === 429 || res.status === 503) && retries > 0 ? ` after ${retries + 1} attempts` : '';
          const hint = res.status === 413 ? ' (send fewer records per request with --batch)' : '';
          notAcked = { first: batch[0]!.line, count: batch.length, reason: `${failureOf(res, answer, usedKey)}${retried}${hint}` };
          return false;
        }
        sent += batch.length;
        accepted += answer.accepted ?? 0;
        const listed = answer.rejected ?? [];
        for (const r of listed) {
          const line = batch[r.index]?.line;
          // The server numbers lines within its request body; the line of the input is the one that means something here.
          progress.note(`${name}:${line ?? '?'}: rejected: ${r.error.replace(/^line \d+: /, '')}`);
        }
        const total = answer.rejectedTotal ?? listed.length;
        if (total > listed.length) {
          progress.note(`${name}: … and ${total - listed.length} more rejected records in ${lineRange(batch)} (the server lists the first ${listed.length} of each request)`);
        }
        rejected += total;
        return true;
      };

      const status = () => {
        const fraction = input.fractionRead();
        const where = input.total !== undefined ? `${sent}/${input.total} records` : `${sent} records${fraction !== undefined ? ` (${Math.floor(fraction * 100)}% of ${name})` : ''}`;
        return `sent ${where} · accepted ${accepted} · rejected ${rejected}`;
      };

      let batch: InputRecord[] = [];
      let last = 0;
      let stopped = false;
      for (let next = await input.records.next(); !next.done; next = await input.records.next()) {
        last = next.value.line;
        if (stopped) {
          notAcked!.count++;
          continue;
        }
        batch.push(next.value);
        if (batch.length >= batchSize) {
          stopped = !(await flush(batch));
          batch = [];
          progress.update(status());
        }
      }
      if (!stopped && batch.length > 0) stopped = !(await flush(batch));
      progress.done(status());

      if (notAcked) {
        const lines = notAcked.first === last ? `line ${last}` : `lines ${notAcked.first}–${last}`;
        process.stderr.write(`${name}: ${notAcked.reason}\n`);
        process.stderr.write(`${name}: not acknowledged: ${notAcked.count} record(s), ${lines}: send them again\n`);
      }
      process.stdout.write(`accepted ${accepted}, rejected ${rejected}, not acknowledged ${notAcked?.count ?? 0}\n`);
      if (notAcked || rejected > 0) process.exitCode = 1;
    });
}

function lineRange(batch: InputRecord[]): string {
  const first = batch[0]!.line;
  const last = batch[batch.length - 1]!.line;
  return first === last ? `line ${first}` : `lines ${first}–${last}`;
}

/**
 * Detects the input's shape from its start: a first line that is JSON by
 * itself (and not the start of an array) means NDJSON, read as it streams.
 * Anything else — a pretty-printed document, an array — is read whole and
 * parsed: one JSON array is sent element by element, one JSON value as
 * itself, and text that is neither goes out as NDJSON so that the server
 * names every bad line and the good ones are not held back.
 */
async function openInput(file: string): Promise<Input> {
  let stream: NodeJS.ReadableStream;
  let size: number | undefined;
  if (file === '-') {
    stream = process.stdin;
  } else {
    try {
      size = statSync(file).size;
    } catch (err) {
      throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`);
    }
    stream = createReadStream(file);
  }
  const fractionRead = () => (size ? Math.min(1, (stream as ReadStream).bytesRead / size) : undefined);
  const lines = createInterface({ input: stream, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const head: string[] = [];
  let first: string | undefined;
  while (first === undefined) {
    const next = await lines.next();
    if (next.done) break;
    const line = head.length === 0 ? next.value.replace(/^\uFEFF/, '') : next.value;
    head.push(line);
    if (line.trim() !== '') first = line;
  }
  const firstIsJson = first !== undefined && parses(first);
  if (first === undefined || (firstIsJson && !first.trimStart().startsWith('['))) {
    return { format: 'ndjson', records: ndjsonRecords(head, lines), fractionRead };
  }
  const firstLine = head.length;
  const all = head;
  for (let next = await lines.next(); !next.done; next = await lines.next()) all.push(next.value);
  const text = all.join('\n');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (!firstIsJson && first.trimStart().startsWith('[')) {
      throw new Error(`${file === '-' ? 'stdin' : file} starts with "[" but is not a JSON array: ${errorMessage(err)}`);
    }
    return { format: 'ndjson', records: ndjsonRecords(all), fractionRead };
  }
  const records = Array.isArray(value) ? arrayElements(text) : [{ text: text.trim(), line: firstLine }];
  return { format: 'json', records: fromArray(records), total: records.length, fractionRead };
}

async function* ndjsonRecords(buffered: string[], rest?: AsyncIterator<string>): AsyncGenerator<InputRecord> {
  let line = 0;
  for (const text of buffered) {
    line++;
    if (text.trim() !== '') yield { text, line };
  }
  if (!rest) return;
  for (let next = await rest.next(); !next.done; next = await rest.next()) {
    line++;
    if (next.value.trim() !== '') yield { text: next.value, line };
  }
}

async function* fromArray(records: InputRecord[]): AsyncGenerator<InputRecord> {
  yield* records;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * The elements of `text`, a JSON array already known to parse, as their own
 * text (sent unchanged, as a producer wrote them) and the line each starts on.
 * JSON strings hold no raw line breaks, so every "\n" seen is a line.
 */
function arrayElements(text: string): InputRecord[] {
  const out: InputRecord[] = [];
  let depth = 0;
  let inString = false;
  let line = 1;
  let start = -1;
  let startLine = 0;
  const begin = (i: number) => {
    if (depth === 1 && start < 0) {
      start = i;
      startLine = line;
    }
  };
  const end = (i: number) => {
    if (start >= 0) out.push({ text: text.slice(start, i).trim(), line: startLine });
    start = -1;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') line++;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      begin(i);
      inString = true;
    } else if (c === '[' || c === '{') {
      begin(i);
      depth++;
    } else if (c === ']' || c === '}') {
      depth--;
      if (depth === 0) end(i);
    } else if (depth === 1) {
      if (c === ',') end(i);
      else if (!/\s/.test(c)) begin(i);
    }
  }
  return out;
}

/**
 * Progress on stderr, for people: redrawn in place on a terminal, a line at a
 * time otherwise (`--progress` into a log). Other messages clear it first so
 * that they never run into it.
 */
class Progress {
  private shownAt = 0;
  private drawn = false;
  private readonly tty = process.stderr.isTTY === true;
  constructor(private readonly enabled: boolean) {}

  update(line: string): void {
    if (!this.enabled || Date.now() - this.shownAt < PROGRESS_EVERY_MS) return;
    this.show(line);
  }

  done(line: string): void {
    if (!this.enabled) return;
    this.show(line);
    if (this.tty) process.stderr.write('\n');
    this.drawn = false;
  }

  note(message: string): void {
    if (this.drawn) process.stderr.write('\r\x1b[K');
    this.drawn = false;
    process.stderr.write(`${message}\n`);
  }

  private show(line: string): void {
    this.shownAt = Date.now();
    if (this.tty) {
      process.stderr.write(`\r\x1b[K${line}`);
      this.drawn = true;
    } else {
      process.stderr.write(`${line}\n`);
    }
  }
}

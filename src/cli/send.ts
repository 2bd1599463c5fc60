import type { Command } from 'commander';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { gzipSync } from 'node:zlib';

interface SendOptions {
  url: string;
  apiKey?: string;
  batch: string;
  gzip?: boolean;
}

export function registerSendCommand(program: Command): void {
  program
    .command('send')
    .description('post NDJSON audit events (one JSON object per line) from FILE or stdin to a running server')
    .argument('[file]', 'NDJSON file; "-" or absent reads stdin', '-')
    .option('--url <url>', 'ingest endpoint', 'http://127.0.0.1:8080/v1/events')
    .option('--api-key <key>', 'Bearer API key (default: $AUDITSTREAM_API_KEY)')
    .option('--batch <n>', 'lines per request', '500')
    .option('--gzip', 'compress request bodies (Content-Encoding: gzip)')
    .action(async (file: string, opts: SendOptions) => {
      const batchSize = Number(opts.batch);
      if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`--batch must be a positive whole number, got "${opts.batch}"`);
      const apiKey = opts.apiKey ?? process.env.AUDITSTREAM_API_KEY;
      const input = file === '-' ? process.stdin : createReadStream(file);
      const lines = createInterface({ input, crlfDelay: Infinity });
      let batch: string[] = [];
      let accepted = 0;
      let rejected = 0;
      let failed = false;
      const flush = async () => {
        if (batch.length === 0) return;
        const body = batch.join('\n') + '\n';
        batch = [];
        const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
        if (apiKey) headers.authorization = `Bearer ${apiKey}`;
        if (opts.gzip) headers['content-encoding'] = 'gzip';
        const res = await fetch(opts.url, { method: 'POST', headers, body: opts.gzip ? gzipSync(body) : body }).catch((err: Error) => {
          const cause = (err.cause as { code?: string; message?: string } | undefined) ?? {};
          throw new Error(`cannot reach ${opts.url}: ${cause.code ?? cause.message ?? err.message}`);
        });
        const answer = (await res.json().catch(() => ({}))) as {
          accepted?: number;
          rejected?: { index: number; error: string }[];
          rejectedTotal?: number;
          error?: string;
        };
        accepted += answer.accepted ?? 0;
        const listed = answer.rejected ?? [];
        for (const r of listed) process.stderr.write(`rejected record ${r.index}: ${r.error}\n`);
        // The server lists the first rejections only and counts the rest.
        const total = answer.rejectedTotal ?? listed.length;
        if (total > listed.length) process.stderr.write(`… and ${total - listed.length} more rejected records\n`);
        rejected += total;
        if (!res.ok) {
          failed = true;
          process.stderr.write(`HTTP ${res.status}: ${answer.error ?? res.statusText}\n`);
        }
      };
      for await (const line of lines) {
        if (line.trim() === '') continue;
        batch.push(line);
        if (batch.length >= batchSize) await flush();
      }
      await flush();
      process.stdout.write(`accepted ${accepted}, rejected ${rejected}\n`);
      if (failed || rejected > 0) process.exitCode = 1;
    });
}

#!/usr/bin/env node
// `npm run bench -- NAME [options]`: builds dist/, runs one benchmark (or all)
// against the compiled code, prints a table with ratios to each baseline and
// writes the full results to bench/results/NAME-TIMESTAMP.json.
// See docs/benchmarks.md.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');
const NAMES = ['ingest', 'kinesis', 'collector', 'store', 'memory', 'fanout', 'destinations', 'tenants', 'quota', 'inflight'];

const usage = `usage: npm run bench -- <${[...NAMES, 'all'].join('|')}> [options]

  --smoke        tiny sizes, one level: checks the benchmark still works (seconds)
  --events N     events for kinesis, collector, store and inflight (scales their run time)
  --tenants N    tenants for the tenants benchmark, 2 destinations each (default 1000)
  --no-build     use dist/ as it is instead of running \`npm run build\` first
  --out DIR      where to write the JSON results (default bench/results)`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    smoke: { type: 'boolean', default: false },
    events: { type: 'string' },
    tenants: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    out: { type: 'string', default: join(ROOT, 'bench', 'results') },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
const name = positionals[0];
if (values.help || !name || ![...NAMES, 'all'].includes(name) || positionals.length > 1) {
  console.error(usage);
  process.exit(values.help ? 0 : 2);
}
const events = values.events === undefined ? undefined : Number(values.events);
if (events !== undefined && !(Number.isInteger(events) && events > 0)) {
  console.error(`--events must be a positive integer, got ${values.events}`);
  process.exit(2);
}
const tenants = values.tenants === undefined ? undefined : Number(values.tenants);
if (tenants !== undefined && !(Number.isInteger(tenants) && tenants > 0)) {
  console.error(`--tenants must be a positive integer, got ${values.tenants}`);
  process.exit(2);
}

if (!values['no-build']) {
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) {
    console.error('npm run build failed; the benchmarks run against dist/');
    process.exit(1);
  }
}

// The SDK's notice about future Node versions would interleave with the tables; the benchmarks and their children don't need it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, loadavgAtStart: loadavg() };
const log = (line) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const tmp = mkdtempSync(join(tmpdir(), 'auditstream-bench-'));
mkdirSync(values.out, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const allStarted = Date.now();
const summary = [];
let failed = false;

try {
  for (const bench of name === 'all' ? NAMES : [name]) {
    const mod = await import(join(ROOT, 'bench', `${bench}.mjs`));
    log(`${bench}: ${mod.description}`);
    const started = Date.now();
    try {
      const results = await mod.run({ smoke: values.smoke, events, tenants, tmp, log });
      const record = { name: bench, smoke: values.smoke, startedAt: new Date(started).toISOString(), durationSec: (Date.now() - started) / 1000, machine, ...results };
      const file = join(values.out, `${bench}-${stamp}.json`);
      writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
      console.log(`\n## ${bench} (${record.durationSec.toFixed(0)} s) — ${mod.description}\n`);
      console.log(mod.summarize(record));
      console.log(`\nresults: ${file}`);
      summary.push({ name: bench, durationSec: record.durationSec, file });
    } catch (err) {
      failed = true;
      log(`${bench} FAILED: ${err?.stack ?? err}`);
      summary.push({ name: bench, error: String(err?.message ?? err) });
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

if (name === 'all') {
  const totalSec = (Date.now() - allStarted) / 1000;
  const file = join(values.out, `all-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify({ name: 'all', smoke: values.smoke, totalSec, machine, benchmarks: summary }, null, 2)}\n`);
  console.log(`\nall benchmarks: ${totalSec.toFixed(0)} s (${summary.map((s) => `${s.name} ${s.error ? 'FAILED' : `${s.durationSec.toFixed(0)} s`}`).join(', ')})`);
}
process.exit(failed ? 1 : 0);

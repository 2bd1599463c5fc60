/**
 * Child processes for the benchmarks: the auditstream server as users run it
 * (bin/auditstream.js → compiled dist/), and helpers to read a process's
 * memory and to stop what was started. Everything listens on 127.0.0.1 only.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');

const started = new Set();

/** Kills every child still running; called on exit so an interrupted bench leaves nothing behind. */
export function killAll() {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
process.once('exit', killAll);

/**
 * Spawns `node args…` and resolves when a stdout line matches `ready`
 * (its match is returned), rejecting if the process exits first or after `timeoutMs`.
 */
export async function spawnUntil(args, { ready, cwd = ROOT, env = {}, timeoutMs = 30_000, what = args.join(' ') }) {
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  child.once('exit', () => started.delete(child));
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-8000)));
  const match = await new Promise((resolveMatch, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start within ${timeoutMs} ms:\n${err}`)), timeoutMs);
    const onData = (d) => {
      out += d;
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        // Keep draining so a chatty child never blocks on a full pipe.
        child.stdout.resume();
        resolveMatch(m);
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (code ${code}, signal ${signal}) before it was ready:\n${err}`));
    });
  });
  return { child, match, stderr: () => err };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stop(child, graceMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * `auditstream serve` from dist/ on a free loopback port with `config`
 * (an object, written as JSON into dataDir). Resolves with its URL.
 * With AUDITSTREAM_BENCH_CPU_PROF=DIR the server writes a V8 CPU profile
 * (`node --cpu-prof`) into DIR when it stops.
 */
export async function startAuditstream(dataDir, config = undefined, { timeoutMs = 30_000 } = {}) {
  const profileDir = process.env.AUDITSTREAM_BENCH_CPU_PROF;
  const args = [...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []), join(ROOT, 'bin', 'auditstream.js'), 'serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir];
  if (config) {
    const file = join(dataDir, 'bench-config.json');
    writeFileSync(file, JSON.stringify(config));
    args.push('--config', file);
  }
  const { child, match, stderr } = await spawnUntil(args, {
    ready: /listening on (http:\/\/\S+)/,
    env: { AUDITSTREAM_LOG_LEVEL: process.env.AUDITSTREAM_LOG_LEVEL ?? 'error' },
    what: 'auditstream serve',
    timeoutMs,
  });
  return { child, url: match[1], pid: child.pid, stderr };
}

/** Current and peak resident set of a Linux process, in MiB (VmRSS, VmHWM). */
export function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024 };
}

/**
 * CPU time (user + system) a Linux process has used so far, in seconds. Read
 * before and after a run, it says how much of a core the work took — a figure
 * that stays meaningful when the shared machine is busy and wall-clock rates are not.
 */
export function cpuSecondsOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are the 12th and 13th of those.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * CPU seconds (user + system) of a process's main thread alone: in Node, the
 * event loop, without worker threads (the SQLite writer) or libuv's pool.
 */
export function mainThreadCpuSecondsOf(pid) {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * The I/O counters of a Linux process (/proc/PID/io): `wchar`/`rchar` are the
 * bytes passed to write/read calls (files, sockets and pipes alike),
 * `writeBytes`/`readBytes` what the process caused to be sent to or fetched
 * from the storage layer (0 where the kernel does not account it, e.g. tmpfs).
 */
export function ioOf(pid) {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const get = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(io)?.[1] ?? Number.NaN);
  return { rchar: get('rchar'), wchar: get('wchar'), readBytes: get('read_bytes'), writeBytes: get('write_bytes') };
}

/** USER_HZ: 100 on every Linux architecture Node supports. */
const CLOCK_TICKS = 100;

/** Reads a Prometheus text exposition into { 'name{labels}': value }. */
export async function scrapeMetrics(url) {
  const res = await fetch(`${url}/metrics`);
  const text = await res.text();
  const values = {};
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values[line.slice(0, at)] = Number(line.slice(at + 1));
  }
  return values;
}

/** Sum of every series of `name` whose labels include all of `labels` (e.g. { component_id: 'log' }). */
export function metricSum(values, name, labels = {}) {
  let sum = 0;
  for (const [series, value] of Object.entries(values)) {
    if (series !== name && !series.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`))) sum += value;
  }
  return sum;
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `condition` every `everyMs` until truthy; throws naming `what` after `timeoutMs`. */
export async function waitUntil(condition, what, timeoutMs, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await condition();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

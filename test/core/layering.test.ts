import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/**
 * The layers, lowest first. A module may import from its own layer or a lower
 * one, never from a higher one: core knows nothing of AWS or config, a sink or
 * source knows nothing of the pipeline that drives it, the pipeline nothing of
 * the HTTP server or the CLI.
 */
const LAYERS: Record<string, number> = {
  core: 0,
  aws: 1, config: 1, formats: 1, codecs: 1, queue: 1, store: 1,
  sinks: 2, sources: 2, tenants: 2,
  pipeline: 3,
  server: 4,
  cli: 5, demo: 5,
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const topOf = (path: string) => relative(SRC, path).split(sep)[0]!;

test('no module imports from a layer above its own', () => {
  const upward: string[] = [];
  for (const file of files(SRC)) {
    const from = topOf(file);
    const rank = LAYERS[from];
    if (rank === undefined) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.[^']+)'/g)) {
      const to = topOf(resolve(dirname(file), m[1]!));
      const target = LAYERS[to];
      assert.ok(target !== undefined || to.startsWith('..'), `${relative(SRC, file)} imports ${m[1]} from src/${to}, which has no layer here`);
      if (target !== undefined && target > rank) upward.push(`${relative(SRC, file)} (${from}) imports ${m[1]} (${to})`);
    }
  }
  assert.deepEqual(upward, []);
});

test('every folder of src has a layer', () => {
  const folders = readdirSync(SRC).filter((name) => statSync(join(SRC, name)).isDirectory());
  assert.deepEqual(folders.filter((f) => LAYERS[f] === undefined), []);
});

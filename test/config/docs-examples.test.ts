import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { readConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { tempDir } from '../support/temp.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const TOP_LEVEL_KEYS = new Set(Object.keys(configSchema.shape));
/**
 * A block that looks like a whole config but is meant as a part of one is
 * marked by this comment on the line just above its ```yaml fence.
 */
const SKIP_MARKER = '<!-- config-check: skip -->';

interface Example {
  where: string;
  text: string;
}

/**
 * Every ```yaml block of README.md and docs/*.md that is a whole config: a
 * mapping with a top-level config key (dataDir, server, sources, audit, …).
 * Indented fragments and lists of keys are parts of a config, not configs.
 */
function fullConfigExamples(): Example[] {
  const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  return files.flatMap((file) => {
    const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
    const out: Example[] = [];
    for (let i = 0; i < lines.length; i++) {
      if (!/^```ya?ml\s*$/.test(lines[i]!)) continue;
      const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
      const text = lines.slice(i + 1, end).join('\n');
      const marked = lines[i - 1]?.trim() === SKIP_MARKER;
      let value: unknown;
      try {
        value = YAML.parse(text);
      } catch {
        value = undefined;
      }
      const whole = typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).some((k) => TOP_LEVEL_KEYS.has(k));
      if (whole && !marked) out.push({ where: `${file}:${i + 1}`, text });
      i = end;
    }
    return out;
  });
}

test('every whole config in README.md and docs/*.md passes config check', async (t) => {
  const examples = fullConfigExamples();
  // The README's collector and its Configuration block, at least: an extractor that finds nothing proves nothing.
  assert.ok(examples.filter((e) => e.where.startsWith('README.md')).length >= 2, `found: ${examples.map((e) => e.where).join(', ')}`);
  const dir = await tempDir(t);
  const failures: string[] = [];
  for (const [i, example] of examples.entries()) {
    const file = join(dir, `example-${i}.yaml`);
    writeFileSync(file, example.text);
    try {
      // What `auditstream config check -c FILE` runs.
      Pipeline.validate(readConfig({ file, env: {} }).raw);
    } catch (err) {
      failures.push(`${example.where}:\n${(err as Error).message}`);
    }
  }
  assert.deepEqual(failures, []);
});

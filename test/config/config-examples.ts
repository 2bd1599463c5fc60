import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { configSchema } from '../../src/config/schema.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
const TOP_LEVEL_KEYS = new Set(Object.keys(configSchema.shape));
/**
 * A block that looks like a whole config but is meant as a part of one is
 * marked by this comment on the line just above its ```yaml fence.
 */
const SKIP_MARKER = '<!-- config-check: skip -->';

export interface Example {
  /** `README.md:123` or `examples/publisher.yaml`. */
  where: string;
  text: string;
  /** The file itself, for examples that are files. */
  file?: string;
}

/**
 * Every ```yaml block of README.md and docs/*.md that is a whole config: a
 * mapping with a top-level config key (dataDir, server, sources, audit, …),
 * or not YAML at all. Indented fragments and lists of keys are parts of a
 * config, not configs.
 */
export function docConfigExamples(): Example[] {
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
      let parses = true;
      try {
        value = YAML.parse(text);
      } catch {
        parses = false;
      }
      const whole = typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).some((k) => TOP_LEVEL_KEYS.has(k));
      // A block that is not YAML at all may be a config whose indentation broke: checked (and so failed), not passed over.
      if ((whole || !parses) && !marked) out.push({ where: `${file}:${i + 1}`, text });
      i = end;
    }
    return out;
  });
}

/** Every config file in examples/ (YAML or JSON). */
export function exampleFiles(): Example[] {
  return readdirSync(join(ROOT, 'examples'))
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => ({ where: `examples/${f}`, file: join(ROOT, 'examples', f), text: readFileSync(join(ROOT, 'examples', f), 'utf8') }));
}

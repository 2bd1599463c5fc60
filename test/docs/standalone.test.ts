import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** What ships or is documented: a user reads these without anything outside the repository. */
const SHIPPED = ['README.md', 'CHANGELOG.md', 'docs', 'examples', 'deploy', 'src'];

/**
 * Citations of documents that only ever lived outside the repository (the
 * design notes, the producer documents numbered 000–004, the field notes).
 * `test/fixtures/seeds/` is a folder in the repository, so the README may
 * name it.
 */
const CITATIONS: { what: string; re: RegExp }[] = [
  { what: 'a numbered seed document', re: /\bseeds?[ -]?0\d\d\b/i },
  { what: 'the word "seed" used as a citation', re: /\bseeds?\b/i },
  { what: 'the field notes', re: /field[ -]?notes?\b/i },
  { what: 'DESIGN.md', re: /\bDESIGN\.md\b/i },
  { what: 'a path outside the repository', re: /\.\.\/shared\b/ },
];
const ALLOWED_PATH = /test\/fixtures\/seeds\//g;

function filesUnder(rel: string): string[] {
  const abs = join(ROOT, rel);
  if (!existsSync(abs)) return [];
  if (statSync(abs).isFile()) return [rel];
  return readdirSync(abs, { withFileTypes: true }).flatMap((d) => {
    const child = `${rel}/${d.name}`;
    return d.isDirectory() ? filesUnder(child) : [child];
  });
}

function isText(file: string): boolean {
  const bytes = readFileSync(join(ROOT, file));
  return !bytes.subarray(0, 8000).includes(0);
}

/** Offending `file:line: text` entries for one file's text. */
export function citationsIn(file: string, text: string): string[] {
  const found: string[] = [];
  text.split('\n').forEach((line, i) => {
    const checked = line.replace(ALLOWED_PATH, '');
    for (const { what, re } of CITATIONS) {
      if (re.test(checked)) {
        found.push(`${file}:${i + 1}: cites ${what}: ${line.trim().slice(0, 160)}`);
        break;
      }
    }
  });
  return found;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const slug = m[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    out.add(slug);
  }
  return out;
}

/** Relative links of a markdown file whose target file or heading does not exist, as `file:line: …`. */
export function brokenLinksIn(file: string, text: string): string[] {
  const broken: string[] = [];
  let fenced = false;
  text.split('\n').forEach((line, i) => {
    if (/^\s*```/.test(line)) fenced = !fenced;
    if (fenced) return;
    for (const m of line.matchAll(/\]\(([^()\s]+)(?:\s+"[^"]*")?\)/g)) {
      const href = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(href)) continue; // https:, mailto:
      const [path = '', anchor] = href.split('#');
      const target = path === '' ? join(ROOT, file) : resolve(ROOT, dirname(file), decodeURIComponent(path));
      const where = `${file}:${i + 1}: ${href}`;
      if (target !== ROOT && !target.startsWith(ROOT + sep)) {
        broken.push(`${where}: points outside the repository`);
      } else if (!existsSync(target)) {
        broken.push(`${where}: no such file ${relative(ROOT, target)}`);
      } else if (anchor && target.endsWith('.md') && !anchors(readFileSync(target, 'utf8')).has(anchor)) {
        broken.push(`${where}: no heading #${anchor} in ${relative(ROOT, target)}`);
      }
    }
  });
  return broken;
}

test('shipped and documented files cite no document that is not in the repository', () => {
  const files = SHIPPED.flatMap(filesUnder).filter(isText);
  // src/ and docs/ at least: a walk that finds nothing would pass.
  assert.ok(files.some((f) => f.startsWith('src/')) && files.some((f) => f.startsWith('docs/')), `found: ${files.length} files`);
  const found = files.flatMap((f) => citationsIn(f, readFileSync(join(ROOT, f), 'utf8')));
  assert.deepEqual(found, []);
});

test('the citation check names file and line, and lets the fixture folder through', () => {
  const text = 'ok line\nas seed 002 says\n-d @test/fixtures/seeds/blitz-login.json\n(FIELD-NOTES 6)\nsee ../shared/DESIGN.md\na seeded PRNG';
  assert.deepEqual(
    citationsIn('x.md', text).map((s) => s.slice(0, s.indexOf(': '))),
    ['x.md:2', 'x.md:4', 'x.md:5'],
  );
});

test('every relative link in README.md and docs/*.md points to a file (and heading) in the repository', () => {
  const files = ['README.md', ...filesUnder('docs').filter((f) => f.endsWith('.md'))];
  const broken = files.flatMap((f) => brokenLinksIn(f, readFileSync(join(ROOT, f), 'utf8')));
  assert.deepEqual(broken, []);
});

test('the link check catches a missing file, a missing heading and a path out of the repository', () => {
  const text = '[a](docs/formats.md#ids) [b](docs/nope.md) [c](docs/formats.md#nope)\n[d](../shared/FIELD-NOTES.md) [e](https://example.com/x)';
  assert.deepEqual(
    brokenLinksIn('README.md', text).map((s) => s.split(': ').slice(1).join(': ')),
    [
      'docs/nope.md: no such file docs/nope.md',
      'docs/formats.md#nope: no heading #nope in docs/formats.md',
      '../shared/FIELD-NOTES.md: points outside the repository',
    ],
  );
});

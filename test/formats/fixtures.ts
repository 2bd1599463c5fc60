import { readFileSync } from 'node:fs';

/** A file of test/fixtures/formats, as text. */
export function fixture(name: string): string {
  return readFileSync(new URL(`../fixtures/formats/${name}`, import.meta.url), 'utf8');
}

/** The fixture without the record separator a transport adds (the `\n` after a Kinesis record). */
export function record(name: string): string {
  return fixture(name).replace(/\n$/, '');
}

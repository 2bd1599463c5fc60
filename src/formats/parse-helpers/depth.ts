/**
 * Nesting beyond what recursive JSON code after ingest can take (JSON.stringify
 * in the journal, the SQLite writer thread, PostgreSQL's jsonb) must be refused
 * before such code sees it, on every source: `server.limits.maxDepth`'s default.
 */
export const DEFAULT_MAX_DEPTH = 64;

/**
 * The deepest nesting of `{` / `[` outside strings (`{}` is 1), measured by a
 * scan that builds nothing and recurses nowhere, so that it can be fed text of
 * any depth, in pieces when the caller must yield between them.
 */
export class DepthScan {
  deepest = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  /** Scans text[start, end), carrying on from where the previous piece stopped. */
  feed(text: string, start: number, end: number): void {
    let { depth, deepest, inString, escaped } = this;
    for (let i = start; i < end; i++) {
      const c = text.charCodeAt(i);
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 92 /* \ */) escaped = true;
        else if (c === 34 /* " */) inString = false;
      } else if (c === 34) {
        inString = true;
      } else if (c === 123 /* { */ || c === 91 /* [ */) {
        if (++depth > deepest) deepest = depth;
      } else if (c === 125 /* } */ || c === 93 /* ] */) {
        depth--;
      }
    }
    Object.assign(this, { depth, deepest, inString, escaped });
  }

  /**
   * The same scan over UTF-8 bytes[start, end): every byte of a multi-byte
   * character is 0x80 or above, so the ASCII punctuation it looks for is found
   * at the same places without decoding. A method apart from feed() so that
   * neither loop sees two kinds of input.
   */
  feedBytes(bytes: Uint8Array, start: number, end: number): void {
    let { depth, deepest, inString, escaped } = this;
    for (let i = start; i < end; i++) {
      const c = bytes[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 92 /* \ */) escaped = true;
        else if (c === 34 /* " */) inString = false;
      } else if (c === 34) {
        inString = true;
      } else if (c === 123 /* { */ || c === 91 /* [ */) {
        if (++depth > deepest) deepest = depth;
      } else if (c === 125 /* } */ || c === 93 /* ] */) {
        depth--;
      }
    }
    Object.assign(this, { depth, deepest, inString, escaped });
  }
}

/** The deepest nesting of text[start, end) in one piece; see DepthScan. */
export function jsonDepth(text: string, start = 0, end = text.length): number {
  const scan = new DepthScan();
  scan.feed(text, start, end);
  return scan.deepest;
}

/** Why a record is refused for its depth: the same words on every source, naming the setting. */
export function tooDeepReason(depth: number, max: number): string {
  return `nested ${depth} levels deep, over server.limits.maxDepth (${max})`;
}

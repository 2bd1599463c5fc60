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

/**
 * The deepest nesting of text[start, end) in one piece, as DepthScan measures
 * it. Most of a record's text is inside strings (a CloudWatch Logs envelope is
 * little else than its messages), so a string is skipped with indexOf to its
 * closing quote rather than walked character by character: the scan of an
 * envelope of 50 messages took half the time.
 */
export function jsonDepth(text: string, start = 0, end = text.length): number {
  let depth = 0;
  let deepest = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      // The closing quote is the first one after an even run of backslashes (`\\"` closes, `\"` does not).
      for (;;) {
        i = text.indexOf('"', i + 1);
        if (i === -1 || i >= end) return deepest;
        let b = i - 1;
        while (text.charCodeAt(b) === 92 /* \ */) b--;
        if (((i - 1 - b) & 1) === 0) break;
      }
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > deepest) deepest = depth;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
    }
  }
  return deepest;
}

/** Why a record is refused for its depth: the same words on every source, naming the setting. */
export function tooDeepReason(depth: number, max: number): string {
  return `nested ${depth} levels deep, over server.limits.maxDepth (${max})`;
}

/**
 * Rejections listed in an answer; the rest are only counted (`rejectedTotal`),
 * so that a body of bad records cannot make the answer many times its size.
 */
export const MAX_REJECTED_LISTED = 100;

/** One record of a body refused on its own, by its position in the body. */
export interface Rejection {
  index: number;
  error: string;
  /** Set where a program needs to tell the reason apart (TENANT_MISMATCH, TENANT_NOT_FOUND). */
  code?: string;
}

/** The part of every ingest answer that says which records were refused. */
export interface RejectionList {
  rejected: Rejection[];
  rejectedTotal: number;
}

/** Collects the records of one body refused on their own, listing the first MAX_REJECTED_LISTED. */
export class Rejections {
  readonly listed: Rejection[] = [];
  total = 0;

  add(index: number, error: string, code?: string): void {
    this.total += 1;
    if (this.listed.length < MAX_REJECTED_LISTED) this.listed.push(code === undefined ? { index, error } : { index, error, code });
  }

  list(): RejectionList {
    return { rejected: this.listed, rejectedTotal: this.total };
  }
}

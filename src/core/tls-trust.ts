/**
 * Node's error codes for a peer certificate this process does not trust. A
 * person must fix them (the CA file, the certificate); retrying soon meets the
 * same certificate, so sinks treat them as fatal rather than as a destination
 * that is down.
 */
const TLS_TRUST_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export function isTlsTrustError(code: string | undefined): code is string {
  return code !== undefined && TLS_TRUST_CODES.has(code);
}

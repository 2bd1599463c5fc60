import { randomBytes } from 'node:crypto';

/**
 * The External ID a tenant's IAM role must require (`sts:ExternalId`). The
 * vendor generates it so no tenant can pick another's and have the vendor
 * assume a role in a third account for it (the confused deputy). 40
 * characters from 30 random bytes; AWS allows 2–1224 of [\w+=,.@:/-].
 */
export function newExternalId(): string {
  return randomBytes(30).toString('base64url');
}

import type { AuditEvent } from '../../core/event.js';
import { compact, type Details, type Obj } from './ocsf-details.js';

/**
 * OCSF `cloud` of a CloudTrail event: the region and the account its details
 * name (`recipientAccountId`; a digest file's `awsAccountId`). The account is
 * AWS's, never the auditstream tenant, which is `metadata.tenant_uid`.
 */
export function awsCloud(_e: AuditEvent, d: Details): Obj | undefined {
  const account = d.takeString('recipientAccountId') ?? d.takeString('awsAccountId');
  return compact({ provider: 'AWS', region: d.takeString('awsRegion'), account: compact({ uid: account }) });
}

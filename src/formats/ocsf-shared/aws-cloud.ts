import type { AuditEvent } from '../../core/event.js';
import { compact, type Details, type Obj } from './ocsf-details.js';

/** OCSF `cloud` of an event from AWS: the region a detail names, the account the event's tenant. */
export function awsCloud(e: AuditEvent, d: Details): Obj | undefined {
  return compact({ provider: 'AWS', region: d.takeString('awsRegion'), account: compact({ uid: e.tenant }) });
}

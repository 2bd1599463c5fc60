import type { AuditEvent } from '../../core/event.js';
import { compact, type Details, type Obj } from '../ocsf-shared/ocsf-details.js';
import type { OcsfMapping } from '../ocsf-shared/ocsf-mapping.js';

/** An accepted or rejected flow is Network Activity: Traffic; NODATA and SKIPDATA records stay Base Events. */
export const vpcFlowOcsf: OcsfMapping = {
  product: { name: 'Amazon VPC', vendor_name: 'AWS' },
  activities: { 'vpc.flow': { class: 'networkActivity', activityId: 6, activityName: 'Traffic' } },
  cloud: flowCloud,
};

/** The AWS account the record's `account-id` names; custom formats (v4) may name the region and the Availability Zone's id. */
function flowCloud(_e: AuditEvent, d: Details): Obj | undefined {
  return compact({ provider: 'AWS', region: d.takeString('region'), zone: d.takeString('az-id'), account: compact({ uid: d.takeString('account-id') }) });
}

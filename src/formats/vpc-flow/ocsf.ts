import { awsCloud } from '../ocsf-shared/aws-cloud.js';
import type { OcsfMapping } from '../ocsf-shared/ocsf-mapping.js';

/** An accepted or rejected flow is Network Activity: Traffic; NODATA and SKIPDATA records stay Base Events. */
export const vpcFlowOcsf: OcsfMapping = {
  product: { name: 'Amazon VPC', vendor_name: 'AWS' },
  activities: { 'vpc.flow': { class: 'networkActivity', activityId: 6, activityName: 'Traffic' } },
  cloud: awsCloud,
};

import { awsCloud } from '../ocsf-shared/aws-cloud.js';
import { logon, OTHER_ACTIVITY } from '../ocsf-shared/ocsf-classes.js';
import { clientIpAddress, compact, objectOr, stringOr } from '../ocsf-shared/ocsf-details.js';
import type { OcsfMapping } from '../ocsf-shared/ocsf-mapping.js';
import { CLOUDTRAIL_DIGEST_TYPE, CLOUDTRAIL_INSIGHT_TYPE, CLOUDTRAIL_NAMESPACE } from './event-types.js';

/**
 * Every CloudTrail event is an AWS API call, but for console sign-in, which is a logon, and for
 * Insights events and digest files: no one acted in them, so OCSF has no class for them but Base Event.
 */
export const cloudtrailOcsf: OcsfMapping = {
  product: { name: 'CloudTrail', vendor_name: 'AWS' },
  activities: {
    'cloudtrail.ConsoleLogin': logon,
    [CLOUDTRAIL_INSIGHT_TYPE]: { class: 'base', activityId: OTHER_ACTIVITY, activityName: 'Insight' },
    [CLOUDTRAIL_DIGEST_TYPE]: { class: 'base', activityId: OTHER_ACTIVITY, activityName: 'Digest' },
  },
  apiNamespace: CLOUDTRAIL_NAMESPACE,

  /** userIdentity stays in unmapped too: its session context has no place in an OCSF user. */
  user(e, d) {
    const id = objectOr(d.get('userIdentity'));
    const arn = stringOr(id?.arn);
    const principalId = stringOr(id?.principalId);
    // An IAM Identity Center user is named only by onBehalfOf. An AWSService identity, named only by
    // invokedBy, is no user: invokedBy is actor.invoked_by.
    const onBehalfOfUserId = stringOr(objectOr(id?.onBehalfOf)?.userId);
    const uid = arn ?? principalId ?? onBehalfOfUserId;
    return compact({
      uid,
      uid_alt: uid === principalId ? undefined : principalId,
      name: stringOr(id?.userName),
      type: stringOr(id?.type),
      account: compact({ uid: stringOr(id?.accountId) }),
      credential_uid: e.sessionId,
    });
  },

  // CloudTrail's sessionId is the access key id, which is the user's credential_uid instead.
  session: () => undefined,

  srcEndpoint(e, d) {
    // The parser keeps a sourceIPAddress in details only when it is not an address: an AWS service's
    // name (`ec2.amazonaws.com`) or `AWS Internal`, which is what OCSF's svc_name holds.
    return compact({ ip: clientIpAddress(e), svc_name: d.takeString('sourceIPAddress') });
  },

  // The AWS service that made the call for the caller; userIdentity stays in unmapped.
  invokedBy: (d) => stringOr(objectOr(d.get('userIdentity'))?.invokedBy),

  cloud: awsCloud,

  // CloudTrail names the called service in eventSource: without it, the product is not the service.
  apiService: (e) => e.service,
};

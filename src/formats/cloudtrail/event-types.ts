/** CloudTrail's eventNames are an open list: its events' types are `cloudtrail.<eventName>`. */
export const CLOUDTRAIL_NAMESPACE = 'cloudtrail.';

// AWS eventNames are PascalCase API names, so these lower-case names cannot collide with one.
/** An Insights event: unusual API call or error rate, started or ended (`insightDetails.state`). */
export const CLOUDTRAIL_INSIGHT_TYPE = `${CLOUDTRAIL_NAMESPACE}insight`;
/** A digest file: the hashes of an hour's log files and the previous digest's signature. */
export const CLOUDTRAIL_DIGEST_TYPE = `${CLOUDTRAIL_NAMESPACE}digest`;

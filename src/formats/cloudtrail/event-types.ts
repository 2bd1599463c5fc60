/** CloudTrail's eventNames are an open list: its events' types are `cloudtrail.<eventName>`. */
export const CLOUDTRAIL_NAMESPACE = 'cloudtrail.';

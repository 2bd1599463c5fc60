/** The type of a VPC Flow Logs record, by its `log-status`. */
export const VPC_FLOW_TYPE_BY_STATUS: Readonly<Record<string, string>> = { OK: 'vpc.flow', NODATA: 'vpc.nodata', SKIPDATA: 'vpc.skipdata' };

export const VPC_FLOW_EVENT_TYPES: Readonly<Record<string, string>> = {
  'vpc.flow': 'VPC Flow Logs record',
  'vpc.nodata': 'VPC Flow Logs: no traffic in the aggregation interval',
  'vpc.skipdata': 'VPC Flow Logs: records skipped in the aggregation interval',
};

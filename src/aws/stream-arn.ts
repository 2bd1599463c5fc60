/** arn:<partition>:kinesis:<region>:<account>:stream/<name>; names are 1–128 of [A-Za-z0-9_.-]. */
export const STREAM_ARN = /^arn:(aws[a-z-]*):kinesis:([a-z0-9-]+):(\d{12}):stream\/([\w.-]{1,128})$/;

export interface StreamArn {
  partition: string;
  region: string;
  accountId: string;
  streamName: string;
}

/** The parts of a Kinesis stream ARN; undefined when `arn` is not one. */
export function parseStreamArn(arn: string): StreamArn | undefined {
  const m = STREAM_ARN.exec(arn);
  return m ? { partition: m[1]!, region: m[2]!, accountId: m[3]!, streamName: m[4]! } : undefined;
}

import { ListShardsCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';

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

export type StreamRef = { StreamName: string; StreamARN?: undefined } | { StreamARN: string; StreamName?: undefined };

/**
 * Every shard of the stream, open and closed, following ListShards' NextToken
 * pages. Written by hand because the SDK has no ListShards paginator, and a
 * generic one would resend the stream name with the token, which ListShards refuses.
 */
export async function listAllShards(client: KinesisClient, stream: StreamRef, signal?: AbortSignal): Promise<Shard[]> {
  const shards: Shard[] = [];
  let token: string | undefined;
  do {
    const res = await client.send(new ListShardsCommand(token ? { NextToken: token } : { ...stream }), signal ? { abortSignal: signal } : {});
    shards.push(...(res.Shards ?? []));
    token = res.NextToken;
  } while (token);
  return shards;
}

import { ListShardsCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';

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

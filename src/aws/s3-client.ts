import { S3Client } from '@aws-sdk/client-s3';
import { awsClientConfig } from './client.js';
import type { AwsConnection } from './connection-config.js';

export type S3Connection = Omit<AwsConnection, 'region'> & { region?: string | undefined; forcePathStyle: boolean };

/** One S3 client setup for the S3 emitter and the S3 source. */
export function createS3Client(conn: S3Connection): S3Client {
  return new S3Client({
    ...awsClientConfig({ ...conn, region: conn.region ?? process.env.AWS_REGION ?? 'us-east-1' }),
    forcePathStyle: conn.forcePathStyle,
    // A bucket in another region than configured is found instead of failing with PermanentRedirect.
    followRegionRedirects: true,
  });
}

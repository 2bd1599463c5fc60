/**
 * One way to configure every AWS SDK v3 client (Kinesis, S3, STS): region,
 * optional endpoint (emulators, VPC endpoints), credentials — static, the
 * default chain, or an assumed role with an external ID (a customer's delivery role) — and an
 * HTTP/1.1 handler with timeouts. Clients make few attempts of their own:
 * the emitter retries with its durable queue and backoff.
 */
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { FatalError } from '../core/errors.js';
import type { AwsConnection, StaticCredentials } from './connection-config.js';
import { classifyAwsError } from './errors.js';

export interface AwsClientOptions extends AwsConnection {
  /** SDK attempts per call, including the first. Default 2: the emitter does the real retrying. */
  maxAttempts?: number;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export interface AwsClientConfig {
  region: string;
  endpoint?: string;
  credentials?: AssumedRoleProvider | StaticCredentials;
  requestHandler: NodeHttpHandler;
  maxAttempts: number;
}

export function awsClientConfig(opts: AwsClientOptions): AwsClientConfig {
  const config: AwsClientConfig = {
    region: opts.region,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: opts.connectionTimeoutMs ?? 5_000,
      requestTimeout: opts.requestTimeoutMs ?? 30_000,
    }),
    maxAttempts: opts.maxAttempts ?? 2,
  };
  if (opts.endpoint) config.endpoint = opts.endpoint;
  if (opts.roleArn) config.credentials = assumeRoleProvider(opts);
  // A copy: the SDK annotates the object it is given, and the config's own object must stay as parsed.
  else if (opts.credentials) config.credentials = { ...opts.credentials };
  return config;
}

const ROLE_DURATION_SEC = 3600;

type AssumedRoleProvider = ReturnType<typeof fromTemporaryCredentials>;

/**
 * Credentials of `opts.roleArn` from STS AssumeRole with the configured
 * external ID. Every SDK client memoizes its credentials provider and calls it
 * again five minutes before the credentials expire, so this does no caching of
 * its own. Failures become FatalError naming the role (a trust policy or
 * external ID problem is not fixed by retrying soon) or RetriableError (STS
 * throttled or unreachable).
 */
export function assumeRoleProvider(opts: AwsConnection): AssumedRoleProvider {
  const roleArn = opts.roleArn;
  if (!roleArn) throw new FatalError('assume role: no roleArn configured');
  const sts = awsClientConfig({
    region: opts.region,
    ...(opts.stsEndpoint ? { endpoint: opts.stsEndpoint } : {}),
  });
  const provider = fromTemporaryCredentials({
    params: {
      RoleArn: roleArn,
      RoleSessionName: opts.sessionName ?? 'auditstream',
      DurationSeconds: ROLE_DURATION_SEC,
      ...(opts.externalId ? { ExternalId: opts.externalId } : {}),
    },
    // Absent: STS is called with the SDK's default chain (env, profile, instance role).
    ...(opts.credentials ? { masterCredentials: { ...opts.credentials } } : {}),
    clientConfig: {
      region: sts.region,
      requestHandler: sts.requestHandler,
      maxAttempts: sts.maxAttempts,
      ...(sts.endpoint ? { endpoint: sts.endpoint } : {}),
    },
  });
  const hint = opts.externalId ? ' with the configured externalId' : ' (no externalId configured)';
  return async (props) => {
    try {
      return await provider(props);
    } catch (err) {
      throw classifyAwsError(err, `sts:AssumeRole on ${roleArn}${hint}`);
    }
  };
}

/**
 * One way to configure every AWS SDK v3 client (Kinesis, S3, STS): region,
 * optional endpoint (emulators, VPC endpoints), credentials — static, the
 * default chain, or an assumed role with an external ID (a customer's delivery role) — and an
 * HTTP/1.1 handler with timeouts. Clients make few attempts of their own:
 * the emitter retries with its durable queue and backoff.
 */
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { z } from 'zod';
import { FatalError } from '../core/errors.js';
import { classifyAwsError } from './errors.js';

export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface AwsCredentials extends StaticCredentials {
  expiration?: Date;
}

export type CredentialsProvider = () => Promise<AwsCredentials>;

export interface AwsConnection {
  region: string;
  endpoint?: string;
  /** Static keys (emulators, tests); absent: the SDK's default chain (env, profile, instance role). */
  credentials?: StaticCredentials;
  /** Role to assume with STS before every other call, e.g. a customer's delivery role. */
  roleArn?: string;
  externalId?: string;
  sessionName?: string;
  /** STS endpoint override (tests, VPC endpoints). */
  stsEndpoint?: string;
}

export interface AwsClientOptions extends AwsConnection {
  /** SDK attempts per call, including the first. Default 2: the emitter does the real retrying. */
  maxAttempts?: number;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export interface AwsClientConfig {
  region: string;
  endpoint?: string;
  credentials?: CredentialsProvider | StaticCredentials;
  requestHandler: NodeHttpHandler;
  maxAttempts: number;
}

/** Config keys shared by every AWS-backed sink and source; spread into their strict schemas. */
export const awsConnectionShape = {
  region: z.string().min(1).optional(),
  endpoint: z.url().optional(),
  credentials: z
    .strictObject({
      accessKeyId: z.string().min(1),
      secretAccessKey: z.string().min(1),
      sessionToken: z.string().min(1).optional(),
    })
    .optional(),
  roleArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'expected an IAM role ARN like arn:aws:iam::123456789012:role/name')
    .optional(),
  externalId: z.string().min(2).max(1224).optional(),
  sessionName: z
    .string()
    .regex(/^[\w+=,.@-]{2,64}$/, 'role session names are 2–64 characters of letters, digits and +=,.@-_')
    .optional(),
  stsEndpoint: z.url().optional(),
};

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

/** Re-assume this long before the role's credentials expire, so no call signs with stale keys. */
const REFRESH_BEFORE_MS = 5 * 60_000;
const ROLE_DURATION_SEC = 3600;

/**
 * Credentials of `opts.roleArn`, cached and re-assumed before expiry. Failures
 * become FatalError naming the role (a trust policy or external ID problem is
 * not fixed by retrying soon) or RetriableError (STS throttled or unreachable).
 */
export function assumeRoleProvider(opts: AwsConnection): CredentialsProvider {
  let cached: AwsCredentials | undefined;
  let pending: Promise<AwsCredentials> | undefined;
  return async () => {
    if (cached?.expiration && cached.expiration.getTime() - Date.now() > REFRESH_BEFORE_MS) return cached;
    pending ??= assumeRole(opts).finally(() => {
      pending = undefined;
    });
    cached = await pending;
    return cached;
  };
}

/** One STS AssumeRole call with the configured external ID. */
export async function assumeRole(opts: AwsConnection, signal?: AbortSignal): Promise<AwsCredentials> {
  const roleArn = opts.roleArn;
  if (!roleArn) throw new FatalError('assume role: no roleArn configured');
  const sts = new STSClient(
    awsClientConfig({
      region: opts.region,
      ...(opts.stsEndpoint ? { endpoint: opts.stsEndpoint } : {}),
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
    }),
  );
  try {
    const res = await sts.send(
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: opts.sessionName ?? 'auditstream',
        DurationSeconds: ROLE_DURATION_SEC,
        ...(opts.externalId ? { ExternalId: opts.externalId } : {}),
      }),
      signal ? { abortSignal: signal } : {},
    );
    const c = res.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new FatalError(`sts:AssumeRole on ${roleArn} returned no credentials`);
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
      ...(c.Expiration ? { expiration: new Date(c.Expiration) } : {}),
    };
  } catch (err) {
    const hint = opts.externalId ? ' with the configured externalId' : ' (no externalId configured)';
    throw classifyAwsError(err, `sts:AssumeRole on ${roleArn}${hint}`);
  } finally {
    sts.destroy();
  }
}

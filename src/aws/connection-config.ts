/**
 * The config keys of an AWS connection (region, endpoint, credentials, an
 * assumed role), apart from the SDK clients that use them (client.ts): a
 * config is checked without loading the SDK.
 */
import { z } from 'zod';

export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

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

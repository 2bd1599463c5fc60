/**
 * CloudFormation templates a tenant launches in its own AWS account (the
 * Foxpass and Temporal Cloud "Add logging configuration" flow): a Kinesis
 * stream or an S3 bucket, and an IAM role the vendor may assume only with the
 * tenant's External ID, allowed exactly what the emitter of that type calls on
 * that one resource. The stack's Outputs are named as the destination's config
 * keys, so they can be copied into the destination form as they are.
 */

export const TEMPLATE_TYPES = ['kinesis', 's3'] as const;
export type TemplateType = (typeof TEMPLATE_TYPES)[number];

export function isTemplateType(v: string): v is TemplateType {
  return (TEMPLATE_TYPES as readonly string[]).includes(v);
}

export interface TemplateOptions {
  /** `tenants.vendorPrincipal`: a 12-digit account id or an IAM role/user ARN. */
  vendorPrincipal: string;
  /**
   * The tenant's External ID, written into the trust policy. Undefined gives the
   * generic template an operator hosts for quick-create links: the External ID
   * is then its `ExternalId` parameter, which the link fills in.
   */
  externalId?: string;
  /** Named in the description, so a customer can tell whose stack it is. */
  tenantId?: string;
}

type Json = Record<string, unknown>;

/**
 * What the Kinesis emitter calls: ListShards and DescribeStream (shard map,
 * Test & Add) and PutRecords. PutRecord and DescribeStreamSummary are not
 * called today; they are the policy vendors publish (Foxpass lists
 * DescribeStream, PutRecord, PutRecords), kept so that a customer's existing
 * role and this one grant the same.
 */
export const KINESIS_ACTIONS = ['kinesis:DescribeStream', 'kinesis:DescribeStreamSummary', 'kinesis:ListShards', 'kinesis:PutRecord', 'kinesis:PutRecords'];

/**
 * What the S3 emitter and its Test & Add call. HeadBucket (Test & Add's "find
 * bucket" step) is authorised as s3:ListBucket on the bucket: without it the
 * test fails. PutObject covers single and multipart uploads; a failed multipart
 * upload is aborted (s3:AbortMultipartUpload) so its parts cost nothing.
 * DeleteObject is granted on Test & Add's probe object alone, which the test
 * writes and then removes.
 */
export const S3_OBJECT_ACTIONS = ['s3:PutObject', 's3:AbortMultipartUpload'];
export const S3_BUCKET_ACTIONS = ['s3:ListBucket'];
export const S3_PROBE_ACTIONS = ['s3:DeleteObject'];
/** The key the S3 emitter's Test & Add writes under the prefix (src/sinks/s3/sink.ts). */
export const S3_PROBE_NAME = '.auditstream-check';

const EXTERNAL_ID_PARAMETER = 'ExternalId';
const POLICY_VERSION = '2012-10-17';

export function cloudFormationTemplate(type: TemplateType, opts: TemplateOptions): Json {
  return type === 'kinesis' ? kinesisTemplate(opts) : s3Template(opts);
}

/** The principal of the trust policy: an account's root (any principal the vendor's account allows), or the one role or user named. */
function principal(vendorPrincipal: string): unknown {
  return /^\d{12}$/.test(vendorPrincipal) ? { 'Fn::Sub': `arn:\${AWS::Partition}:iam::${vendorPrincipal}:root` } : vendorPrincipal;
}

function externalIdValue(opts: TemplateOptions): unknown {
  return opts.externalId ?? { Ref: EXTERNAL_ID_PARAMETER };
}

function externalIdParameter(opts: TemplateOptions): Json {
  if (opts.externalId !== undefined) return {};
  return {
    [EXTERNAL_ID_PARAMETER]: {
      Type: 'String',
      Description: 'The External ID the vendor gave you (its GET /v1/tenants/{tenant} shows it); the quick-create link fills it in',
      MinLength: 2,
      MaxLength: 1224,
      AllowedPattern: '[\\w+=,.@:/-]+',
    },
  };
}

function deliveryRole(opts: TemplateOptions, what: string, statements: Json[]): Json {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      Description: `Assumed by the audit event vendor, with your External ID, to write to ${what}`,
      MaxSessionDuration: 3600,
      AssumeRolePolicyDocument: {
        Version: POLICY_VERSION,
        Statement: [
          {
            Sid: 'VendorWithExternalId',
            Effect: 'Allow',
            Principal: { AWS: principal(opts.vendorPrincipal) },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'sts:ExternalId': externalIdValue(opts) } },
          },
        ],
      },
      Policies: [{ PolicyName: 'deliver-audit-events', PolicyDocument: { Version: POLICY_VERSION, Statement: statements } }],
    },
  };
}

function description(opts: TemplateOptions, what: string): string {
  const whose = opts.tenantId ? ` for tenant ${opts.tenantId}` : '';
  return `Audit event delivery${whose}: ${what} and an IAM role the vendor assumes with your External ID to write to it`;
}

function kinesisTemplate(opts: TemplateOptions): Json {
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: description(opts, 'a Kinesis data stream'),
    Parameters: {
      StreamName: {
        Type: 'String',
        Description: 'Name of the Kinesis data stream to create',
        Default: 'audit-events',
        AllowedPattern: '[a-zA-Z0-9_.-]{1,128}',
      },
      StreamMode: { Type: 'String', Description: 'ON_DEMAND scales by itself; PROVISIONED uses ShardCount', Default: 'ON_DEMAND', AllowedValues: ['ON_DEMAND', 'PROVISIONED'] },
      ShardCount: { Type: 'Number', Description: 'Shards, with StreamMode PROVISIONED only', Default: 1, MinValue: 1 },
      RetentionPeriodHours: { Type: 'Number', Description: 'How long records stay readable', Default: 24, MinValue: 24, MaxValue: 8760 },
      ...externalIdParameter(opts),
    },
    Conditions: { Provisioned: { 'Fn::Equals': [{ Ref: 'StreamMode' }, 'PROVISIONED'] } },
    Resources: {
      Stream: {
        Type: 'AWS::Kinesis::Stream',
        Properties: {
          Name: { Ref: 'StreamName' },
          StreamModeDetails: { StreamMode: { Ref: 'StreamMode' } },
          // Kinesis refuses a shard count on an on-demand stream.
          ShardCount: { 'Fn::If': ['Provisioned', { Ref: 'ShardCount' }, { Ref: 'AWS::NoValue' }] },
          RetentionPeriodHours: { Ref: 'RetentionPeriodHours' },
          // The AWS managed key: writers need no KMS permission of their own, unlike a customer managed key.
          StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
        },
      },
      DeliveryRole: deliveryRole(opts, 'this stream', [
        { Sid: 'WriteAuditEvents', Effect: 'Allow', Action: KINESIS_ACTIONS, Resource: { 'Fn::GetAtt': ['Stream', 'Arn'] } },
      ]),
    },
    Outputs: {
      region: { Description: 'The destination\'s "region"', Value: { Ref: 'AWS::Region' } },
      streamName: { Description: 'The destination\'s "streamName"', Value: { Ref: 'Stream' } },
      streamArn: { Description: 'The stream ARN (the destination may take "streamArn" instead of streamName and region)', Value: { 'Fn::GetAtt': ['Stream', 'Arn'] } },
      roleArn: { Description: 'The destination\'s "roleArn"', Value: { 'Fn::GetAtt': ['DeliveryRole', 'Arn'] } },
      externalId: { Description: 'The destination\'s "externalId"', Value: externalIdValue(opts) },
    },
  };
}

function s3Template(opts: TemplateOptions): Json {
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: description(opts, 'an S3 bucket'),
    Parameters: {
      BucketName: {
        Type: 'String',
        Description: 'Name of the bucket to create: unique across all of S3',
        AllowedPattern: '[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]',
      },
      Prefix: {
        Type: 'String',
        Description: 'Key prefix the events are written under; the role may write only there',
        Default: 'audit',
        AllowedPattern: "[\\w!.*'()-]+(/[\\w!.*'()-]+)*",
      },
      RetentionDays: { Type: 'Number', Description: 'Delete objects under the prefix after this many days; 0 keeps them', Default: 0, MinValue: 0 },
      ...externalIdParameter(opts),
    },
    // Parameter values are strings to a condition.
    Conditions: { Expires: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'RetentionDays' }, '0'] }] } },
    Resources: {
      Bucket: {
        Type: 'AWS::S3::Bucket',
        // Audit records outlive the stack: deleting it leaves the bucket and its objects.
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          BucketName: { Ref: 'BucketName' },
          PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
          OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
          BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
          LifecycleConfiguration: {
            'Fn::If': [
              'Expires',
              { Rules: [{ Id: 'expire-audit-events', Status: 'Enabled', Prefix: { 'Fn::Sub': '${Prefix}/' }, ExpirationInDays: { Ref: 'RetentionDays' } }] },
              { Ref: 'AWS::NoValue' },
            ],
          },
        },
      },
      BucketPolicy: {
        Type: 'AWS::S3::BucketPolicy',
        Properties: {
          Bucket: { Ref: 'Bucket' },
          PolicyDocument: {
            Version: POLICY_VERSION,
            Statement: [
              {
                Sid: 'TlsOnly',
                Effect: 'Deny',
                Principal: '*',
                Action: 's3:*',
                Resource: [{ 'Fn::GetAtt': ['Bucket', 'Arn'] }, { 'Fn::Sub': '${Bucket.Arn}/*' }],
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              },
            ],
          },
        },
      },
      DeliveryRole: deliveryRole(opts, 'this bucket under the prefix', [
        { Sid: 'WriteAuditEvents', Effect: 'Allow', Action: S3_OBJECT_ACTIONS, Resource: { 'Fn::Sub': '${Bucket.Arn}/${Prefix}/*' } },
        { Sid: 'FindBucket', Effect: 'Allow', Action: S3_BUCKET_ACTIONS, Resource: { 'Fn::GetAtt': ['Bucket', 'Arn'] } },
        { Sid: 'RemoveTestProbe', Effect: 'Allow', Action: S3_PROBE_ACTIONS, Resource: { 'Fn::Sub': `\${Bucket.Arn}/\${Prefix}/${S3_PROBE_NAME}` } },
      ]),
    },
    Outputs: {
      region: { Description: 'The destination\'s "region"', Value: { Ref: 'AWS::Region' } },
      bucket: { Description: 'The destination\'s "bucket"', Value: { Ref: 'Bucket' } },
      prefix: { Description: 'The destination\'s "prefix"', Value: { Ref: 'Prefix' } },
      roleArn: { Description: 'The destination\'s "roleArn"', Value: { 'Fn::GetAtt': ['DeliveryRole', 'Arn'] } },
      externalId: { Description: 'The destination\'s "externalId"', Value: externalIdValue(opts) },
    },
  };
}

export interface QuickCreateLink {
  /** Where the operator hosts the generic template of this type (an S3 object URL: the console loads templates from S3 only). */
  templateUrl: string;
  region: string;
  stackName: string;
  externalId: string;
}

/**
 * The console link that opens "Quick create stack" with the template, the
 * stack name and the External ID filled in (param_<Parameter>); the customer
 * still fills in the rest and presses Create.
 */
export function quickCreateUrl(link: QuickCreateLink): string {
  const query = new URLSearchParams({ templateURL: link.templateUrl, stackName: link.stackName, [`param_${EXTERNAL_ID_PARAMETER}`]: link.externalId });
  return `https://console.aws.amazon.com/cloudformation/home?region=${encodeURIComponent(link.region)}#/stacks/create/review?${query}`;
}

/** A stack name: letters, digits and hyphens, starting with a letter (a tenant id may start with a digit). */
export function stackName(tenantId: string, type: TemplateType): string {
  return `auditstream-${tenantId}-${type}`;
}

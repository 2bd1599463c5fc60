/**
 * "Test & Add" (docs/producers.md): assume the role, then prove the stream exists and
 * accepts writes, step by step in plain words, without sending an event.
 */
import { DescribeStreamCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { awsErrorName } from '../../aws/errors.js';
import { abortable } from '../../core/async.js';
import { errorMessage } from '../../core/errors.js';
import type { CheckStep } from '../sink.js';
import type { KinesisSinkConfig, StreamTarget } from './config.js';

/** Stream states in which PutRecords is accepted. */
const WRITABLE = new Set(['ACTIVE', 'UPDATING']);

function causeName(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  return awsErrorName(cause ?? err);
}

export async function checkKinesisSink(
  client: KinesisClient,
  cfg: KinesisSinkConfig,
  target: StreamTarget,
  signal: AbortSignal,
): Promise<CheckStep[]> {
  const steps: CheckStep[] = [];
  const who = cfg.roleArn ? `role ${cfg.roleArn}` : cfg.credentials ? `access key ${cfg.credentials.accessKeyId}` : 'the default AWS credentials';

  if (cfg.roleArn) {
    const step = `assume role ${cfg.roleArn}${cfg.externalId ? ' with the external ID' : ''}`;
    try {
      // The client's own provider: the credentials it caches are then the ones the next steps sign with.
      const creds = await abortable(client.config.credentials({ forceRefresh: true }), signal);
      const until = creds.expiration ? `, valid until ${creds.expiration.toISOString()}` : '';
      steps.push({ step, ok: true, detail: `got temporary credentials (access key ${creds.accessKeyId})${until}` });
    } catch (err) {
      const denied = /AccessDenied/.test(causeName(err));
      const detail = denied
        ? `sts:AssumeRole denied for ${cfg.roleArn}: its trust policy must allow this principal` +
          (cfg.externalId ? ' and the configured externalId (check it matches sts:ExternalId in the trust policy)' : ' (no externalId is configured; the trust policy may require one)') +
          ` — ${errorMessage(err)}`
        : errorMessage(err);
      steps.push({ step, ok: false, detail });
      return steps;
    }
  } else if (!cfg.credentials) {
    const step = 'find AWS credentials (environment, profile, instance or task role)';
    try {
      const provider = client.config.credentials;
      const creds = await provider();
      steps.push({ step, ok: true, detail: `using access key ${creds.accessKeyId}` });
    } catch (err) {
      steps.push({ step, ok: false, detail: `no AWS credentials found: set credentials or roleArn, or provide them to the process — ${errorMessage(err)}` });
      return steps;
    }
  }

  // DescribeStream, not DescribeStreamSummary: the policy vendors ask customers for grants exactly DescribeStream, PutRecord, PutRecords.
  const describe = `describe stream ${target.name} in ${target.region}`;
  let status: string | undefined;
  let encryption = '';
  try {
    const res = await client.send(new DescribeStreamCommand({ ...target.ref, Limit: 1 }), { abortSignal: signal });
    const d = res.StreamDescription;
    status = d?.StreamStatus;
    if (d?.EncryptionType === 'KMS') encryption = `; encrypted with KMS key ${d.KeyId ?? '?'}: ${who} also needs kms:GenerateDataKey on it`;
    steps.push({ step: describe, ok: true, detail: `found ${d?.StreamARN ?? target.name}${encryption}` });
  } catch (err) {
    const name = awsErrorName(err);
    let detail: string;
    if (name === 'ResourceNotFoundException') {
      detail = `stream ${target.name} not found in region ${target.region}${cfg.endpoint ? ` at ${cfg.endpoint}` : ''}: check the stream name, the region and the account`;
    } else if (/AccessDenied|UnrecognizedClient|InvalidSignature|ExpiredToken/.test(name)) {
      detail = name.startsWith('AccessDenied')
        ? `kinesis:DescribeStream denied for ${who} on stream ${target.name}: add kinesis:DescribeStream, kinesis:PutRecord and kinesis:PutRecords on the stream's ARN to its policy`
        : `the credentials of ${who} were not accepted (${name}): ${errorMessage(err)}`;
    } else {
      detail = `${name}: ${errorMessage(err)}`;
    }
    steps.push({ step: describe, ok: false, detail });
    return steps;
  }

  const statusStep = `stream ${target.name} is ACTIVE`;
  if (!status || !WRITABLE.has(status)) {
    steps.push({ step: statusStep, ok: false, detail: `status is ${status ?? 'unknown'}: records can be written once it is ACTIVE` });
    return steps;
  }
  steps.push({ step: statusStep, ok: true, detail: `status ${status}` });

  steps.push({
    step: 'write permission (kinesis:PutRecord, kinesis:PutRecords)',
    ok: true,
    detail: 'not tested: proving it means writing a record to your stream, which Test & Add does not do; the first delivery shows it (an AccessDenied puts the emitter in state failing, events stay queued)',
  });
  return steps;
}

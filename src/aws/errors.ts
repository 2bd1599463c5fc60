import { AuditstreamError, FatalError, isProgrammingError, RetriableError, errorMessage } from '../core/errors.js';

/** Shape of AWS SDK v3 service exceptions (kept structural: every client has its own classes). */
interface AwsErrorLike {
  name?: string;
  code?: string;
  $fault?: 'client' | 'server';
  $retryable?: { throttling?: boolean };
  $metadata?: { httpStatusCode?: number };
}

/** Not fixed by retrying soon: the destination or the credentials must change first. */
const FATAL_NAMES = new Set([
  'ResourceNotFoundException',
  'AccessDeniedException',
  'AccessDenied',
  'UnauthorizedOperation',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignatureException',
  'MissingAuthenticationToken',
  'InvalidAccessKeyId',
  'ExpiredToken',
  'ExpiredTokenException',
  'CredentialsProviderError',
  'RegionDisallowed',
  'KMSAccessDeniedException',
  'KMSDisabledException',
  'KMSInvalidStateException',
  'KMSNotFoundException',
  'KMSOptInRequired',
  'ValidationException',
  'InvalidArgumentException',
  'SerializationException',
  'NoSuchBucket',
]);

const RETRIABLE_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'SlowDown',
  'KMSThrottlingException',
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

export function awsErrorName(err: unknown): string {
  const e = err as AwsErrorLike | undefined;
  return e?.name || e?.code || 'Error';
}

export function awsHttpStatus(err: unknown): number | undefined {
  return (err as AwsErrorLike | undefined)?.$metadata?.httpStatusCode;
}

/**
 * Turns an error from an AWS SDK call into RetriableError or FatalError (the
 * emitter decides retry from the class), with `what` saying which call on which
 * resource failed. Programming errors and errors already classified pass through.
 */
export function classifyAwsError(err: unknown, what: string): Error {
  if (err instanceof AuditstreamError) return err;
  if (isProgrammingError(err)) return err as Error;
  const name = awsErrorName(err);
  const status = awsHttpStatus(err);
  const message = `${what}: ${name}${status ? ` (HTTP ${status})` : ''}: ${errorMessage(err)}`;
  const e = err as AwsErrorLike;
  if (RETRIABLE_NAMES.has(name) || e.$retryable?.throttling) return new RetriableError(message, { cause: err, code: name });
  if (FATAL_NAMES.has(name) || name.startsWith('KMS')) return new FatalError(message, { cause: err, code: name });
  if (status !== undefined) {
    if (status >= 500 || status === 429 || status === 408) return new RetriableError(message, { cause: err, code: name });
    if (status >= 400) return new FatalError(message, { cause: err, code: name });
  }
  // No HTTP status: the request never got an answer (refused, reset, timed out).
  return new RetriableError(message, { cause: err, code: name });
}

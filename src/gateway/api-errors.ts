import { z } from 'zod';

/**
 * One class per API error code. The REST APIs answer with seed 000's error body
 * `{"error":{"code","message","details"}}`; `expose` says whether the message may reach the client.
 */
export abstract class ApiError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  get expose(): boolean {
    return this.status < 500;
  }
  constructor(message: string, details?: Record<string, unknown>, options?: ErrorOptions) {
    super(message, options);
    this.details = details;
  }
  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

export class InvalidFormatError extends ApiError {
  readonly status = 400;
  readonly code = 'INVALID_FORMAT';
}
export class UnauthorizedError extends ApiError {
  readonly status = 401;
  readonly code = 'UNAUTHORIZED';
}
/** Authenticated, but this principal may not touch that authentic source or credential type. */
export class ForbiddenError extends ApiError {
  readonly status = 403;
  readonly code = 'FORBIDDEN';
}
export class IdentityMismatchError extends ApiError {
  readonly status = 403;
  readonly code = 'IDENTITY_MISMATCH';
}
export class DocumentNotFoundError extends ApiError {
  readonly status = 404;
  readonly code = 'DOCUMENT_NOT_FOUND';
}
export class RouteNotFoundError extends ApiError {
  readonly status = 404;
  readonly code = 'NOT_FOUND';
}
export class MethodNotAllowedError extends ApiError {
  readonly status = 405;
  readonly code = 'METHOD_NOT_ALLOWED';
}
export class AlreadyRevokedError extends ApiError {
  readonly status = 409;
  readonly code = 'ALREADY_REVOKED';
}
/** Two or more distinct persons match the presented identity: an error, never a guess. */
export class AmbiguousIdentityError extends ApiError {
  readonly status = 409;
  readonly code = 'AMBIGUOUS_IDENTITY';
}
/** The request conflicts with what exists (a credentialId already used, say). */
export class ConflictError extends ApiError {
  readonly status = 409;
  readonly code = 'CONFLICT';
}
/** Seed 002 callback: no interaction event has that `actionEventId`, or the holder (`subscriberConnectDid`) has none. */
export class InteractionEventNotFoundError extends ApiError {
  readonly status = 404;
  readonly code = 'INTERACTION_EVENT_NOT_FOUND';
}
/** Seed 002 callback: the event is not waiting for an answer (answered at once, already called back, or timed out). */
export class InteractionEventAnsweredError extends ApiError {
  readonly status = 409;
  readonly code = 'INTERACTION_EVENT_ANSWERED';
}
/** The document is outside its validity (credential_valid_from/to), so it is not offered. */
export class DocumentNotValidError extends ApiError {
  readonly status = 409;
  readonly code = 'DOCUMENT_NOT_VALID';
}
/** The last identity of a document cannot be removed: nobody could collect it. */
export class IdentityRequiredError extends ApiError {
  readonly status = 409;
  readonly code = 'IDENTITY_REQUIRED';
}
export class IdentityNotFoundError extends ApiError {
  readonly status = 404;
  readonly code = 'IDENTITY_NOT_FOUND';
}
export class PayloadTooLargeError extends ApiError {
  readonly status = 413;
  readonly code = 'PAYLOAD_TOO_LARGE';
}
export class UnsupportedMediaTypeError extends ApiError {
  readonly status = 415;
  readonly code = 'UNSUPPORTED_MEDIA_TYPE';
}
export class RateLimitedError extends ApiError {
  readonly status = 429;
  readonly code = 'RATE_LIMITED';
  constructor(readonly retryAfterSeconds: number) {
    super('Too many requests', { retry_after: retryAfterSeconds });
  }
}
export class ServiceUnavailableError extends ApiError {
  readonly status = 503;
  readonly code = 'SERVICE_UNAVAILABLE';
}
/** Anything unexpected: the client learns nothing beyond the request id. */
export class InternalError extends ApiError {
  readonly status = 500;
  readonly code = 'INTERNAL_ERROR';
}

export const ErrorBodySchema = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'Machine-readable error code, e.g. DOCUMENT_NOT_FOUND' }),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** Turns zod issues into INVALID_FORMAT details that point at each offending field. */
export function invalidFormatFrom(error: z.ZodError, where: 'body' | 'query' = 'body'): InvalidFormatError {
  const fields = error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));
  return new InvalidFormatError(`Request ${where} is malformed`, { fields });
}

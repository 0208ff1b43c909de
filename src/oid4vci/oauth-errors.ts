import type { ErrorRequestHandler, Response } from 'express';
import { ServiceError } from '@temporalio/client';
import type { Logger } from 'pino';

/**
 * The wallet-facing errors (OAuth 2.0, RFC 6749 §5.2; OpenID4VCI 1.0 §6.3, §8.3.1.2, §11.3;
 * RFC 9449 §7.1; RFC 6750 §3), one class per code. Endpoints throw them; `oauthErrorHandler` writes
 * `{error, error_description}` with `Cache-Control: no-store`, and turns anything else into a 5xx:
 * an unexpected failure (Temporal or PostgreSQL down) is never blamed on the wallet's request.
 * docs/conventions.md lists the codes, and a unit test keeps that table equal to these classes.
 */
export abstract class OAuthError extends Error {
  abstract readonly code: string;
  readonly status: number = 400;
  /** RFC 6750 §3 / RFC 9449 §7.1 challenge, for 401 answers. */
  get wwwAuthenticate(): string | undefined {
    return undefined;
  }
}

export class InvalidRequest extends OAuthError {
  readonly code = 'invalid_request';
  constructor(description: string, override readonly status: 400 | 404 = 400) {
    super(description);
  }
}
export class UnsupportedGrantType extends OAuthError {
  readonly code = 'unsupported_grant_type';
}
export class InvalidGrant extends OAuthError {
  readonly code = 'invalid_grant';
}
/** RFC 9449 §7.1: 400 at the token endpoint, 401 with a challenge at resource endpoints. */
export class InvalidDpopProof extends OAuthError {
  readonly code = 'invalid_dpop_proof';
  constructor(description: string, override readonly status: 400 | 401 = 400) {
    super(description);
  }
  override get wwwAuthenticate() {
    return this.status === 401 ? 'DPoP error="invalid_dpop_proof"' : undefined;
  }
}
export class InvalidToken extends OAuthError {
  readonly code = 'invalid_token';
  override readonly status = 401;
  constructor(description: string, readonly scheme: 'Bearer' | 'DPoP' = 'Bearer') {
    super(description);
  }
  override get wwwAuthenticate() {
    return `${this.scheme} error="invalid_token"`;
  }
}
export class InvalidCredentialRequest extends OAuthError {
  readonly code = 'invalid_credential_request';
}
export class CredentialRequestDenied extends OAuthError {
  readonly code = 'credential_request_denied';
}
export class UnknownCredentialConfiguration extends OAuthError {
  readonly code = 'unknown_credential_configuration';
}
export class InvalidProof extends OAuthError {
  readonly code = 'invalid_proof';
}
export class InvalidNonce extends OAuthError {
  readonly code = 'invalid_nonce';
}
export class InvalidNotificationRequest extends OAuthError {
  readonly code = 'invalid_notification_request';
}
export class InvalidNotificationId extends OAuthError {
  readonly code = 'invalid_notification_id';
}
/** OpenID4VCI 1.0 §9.3: the `transaction_id` is unknown to this access token's offer, or its credentials were collected. */
export class InvalidTransactionId extends OAuthError {
  readonly code = 'invalid_transaction_id';
}
/** RFC 6749 §4.1.2.1: the server could not serve a valid request (a bug, or PostgreSQL down). */
export class ServerError extends OAuthError {
  readonly code = 'server_error';
  override readonly status = 500;
}
/** RFC 6749 §4.1.2.1: a dependency (Temporal) is unreachable; the wallet may retry. */
export class TemporarilyUnavailable extends OAuthError {
  readonly code = 'temporarily_unavailable';
  override readonly status = 503;
}

export function sendOAuthError(res: Response, error: OAuthError): void {
  if (error.wwwAuthenticate) res.set('WWW-Authenticate', error.wwwAuthenticate);
  res.status(error.status).set('Cache-Control', 'no-store').json({ error: error.code, error_description: error.message });
}

/**
 * The wallet endpoints' one error handler: OAuth errors as they are; body-parser's refusals as
 * invalid_request; anything else logged with the request id and answered 503 when Temporal is
 * unreachable, else 500.
 */
export function oauthErrorHandler(logger: Pick<Logger, 'error'>): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof OAuthError) return sendOAuthError(res, err);
    const status = (err as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) return sendOAuthError(res, new InvalidRequest('The request body is malformed or too large'));
    logger.error({ reqId: res.locals.requestId, path: req.route?.path ?? 'wallet endpoint', err: { name: (err as Error)?.name, message: (err as Error)?.message, stack: (err as Error)?.stack } }, 'wallet endpoint failed');
    const unavailable = err instanceof ServiceError;
    sendOAuthError(res, unavailable ? new TemporarilyUnavailable('The issuer cannot reach its workflow service; try again shortly') : new ServerError('The issuer failed to process the request'));
  };
}

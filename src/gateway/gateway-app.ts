import { randomUUID } from 'node:crypto';
import type { Span } from '@opentelemetry/api';
import { endServerSpan, withServerSpan } from '../telemetry/tracing';
import express, { type ErrorRequestHandler, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
// The path helper alone: the package's index would load the whole Swagger UI bundle into the gateway.
import getAbsoluteFSPath from 'swagger-ui-dist/absolute-path.js';
import type { Config } from '../config/config';
import { type AuditLogRepository, isValidRequestId } from '../db/audit-log-repository';
import {
  ApiError,
  InternalError,
  InvalidFormatError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  RateLimitedError,
  RouteNotFoundError,
  ServiceUnavailableError,
  UnsupportedMediaTypeError,
} from './api-errors';
import { answerMetrics, metricsAccess } from '../metrics/metrics-endpoint';
import { httpRequestDuration, httpRequests } from '../metrics/metrics';
import type { Authenticator, ClientPrincipal, SourcePrincipal } from './authenticate-source';
import { buildOpenApiDocument } from './openapi';
import { jsonDepth } from './json-depth';
import { addressBucket, limitFailedAuthentications, TokenBuckets } from './rate-limit';
import { type AdminPrincipal, createAdminAuthenticator, requireAdminRole } from './admin/admin-auth';
import { type AnyRouteSpec, mountRoutes } from './route-registry';

export interface GatewayDeps {
  config: Config;
  logger: Logger;
  audit: AuditLogRepository;
  /** `admin` defaults to the configured admin tokens (src/gateway/admin/admin-auth.ts). */
  authenticate: { source: Authenticator<SourcePrincipal>; bearer: Authenticator<ClientPrincipal>; admin?: Authenticator<AdminPrincipal> };
  routes: AnyRouteSpec[];
  /** Endpoints with their own protocol conventions (OpenID4VCI: form bodies, OAuth error bodies), mounted as they are. */
  protocolRouters?: express.Router[];
  /** OpenAPI operations of the protocol routers that document themselves (the KYC API). */
  openapiPaths?: Record<string, Record<string, unknown>>;
  /** Readiness probes by name (database, temporal); each throws when its dependency is unreachable. */
  readinessChecks: Record<string, () => Promise<void>>;
  version: string;
}

/**
 * After this many failed authentications in a burst, an address waits (brute-force limit on API
 * keys, and a cap on the bcrypt work one address can cause). Counted per address and per key id
 * the credential names, so failures against one key id do not throttle another.
 */
const FAILED_AUTH_BURST = 20;
/** Deepest JSON nesting accepted in a request body (document_data has its own, lower limit). */
const MAX_BODY_DEPTH = 64;
const FAILED_AUTH_PER_SECOND = 0.2;

export function createGatewayApp(deps: GatewayDeps): express.Express {
  const { config, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  // A hop count or the proxies' addresses (never `true`, which would believe any X-Forwarded-For).
  app.set('trust proxy', config.file.gateway.trust_proxy);
  app.set('etag', false);

  app.use(requestContext(deps));
  app.use(helmet());
  const limiter = new TokenBuckets(config.file.gateway.rate_limit.requests_per_second, config.file.gateway.rate_limit.burst);
  app.use((req, res, next) => {
    if (req.path === '/healthz' || req.path === '/readyz' || req.path === '/metrics') return next();
    const wait = limiter.take(addressBucket(req.ip));
    if (wait > 0) return next(new RateLimitedError(wait));
    next();
  });

  const metrics = metricsAccess(config);
  app.get('/metrics', (req, res, next) => {
    answerMetrics(metrics, req, res).catch(next);
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res, next) => {
    const results = await Promise.all(
      Object.entries(deps.readinessChecks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), 3000);
          return [name, 'ok'] as const;
        } catch (err) {
          logger.warn({ check: name, err: (err as Error).message }, 'readiness check failed');
          return [name, 'unavailable'] as const;
        }
      }),
    );
    const checks = Object.fromEntries(results);
    if (results.some(([, r]) => r !== 'ok')) return next(new ServiceUnavailableError('A dependency is unavailable', { checks }));
    res.json({ status: 'ready', checks });
  });

  const openapi = buildOpenApiDocument(deps.routes, { title: 'Durable Issuer API', version: deps.version, serverUrl: config.issuerUrl }, deps.openapiPaths);
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  mountDocsPage(app);

  for (const router of deps.protocolRouters ?? []) app.use(router);

  // Bodies: JSON only, bounded. A body with another media type is refused rather than ignored.
  app.use((req, _res, next) => {
    const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
    if (hasBody && !req.is('application/json')) return next(new UnsupportedMediaTypeError('Request body must be application/json'));
    next();
  });
  // Seed 002 callbacks are authenticated by a signature over the exact body bytes (X-Body-Signature): keep them.
  app.use(express.json({ limit: config.file.gateway.body_limit, strict: true, verify: keepRawBodyOfCallbacks }));
  // JSON.parse takes any depth, but JSON.stringify, ajv and pg recurse: refuse absurd nesting up front.
  app.use((req, _res, next) => {
    if (req.body !== undefined && jsonDepth(req.body, MAX_BODY_DEPTH) > MAX_BODY_DEPTH) return next(new InvalidFormatError(`Request body nests objects and arrays deeper than ${MAX_BODY_DEPTH} levels`));
    next();
  });

  const failedAuth = new TokenBuckets(FAILED_AUTH_PER_SECOND, FAILED_AUTH_BURST);
  const router = express.Router();
  const limited = <P>(authenticate: Authenticator<P>) => limitFailedAuthentications(failedAuth, authenticate);
  const admin = limited(deps.authenticate.admin ?? createAdminAuthenticator(config));
  mountRoutes(router, deps.routes, {
    authenticate: { source: limited(deps.authenticate.source), bearer: limited(deps.authenticate.bearer), 'admin:read': requireAdminRole(admin, 'read'), 'admin:operate': requireAdminRole(admin, 'operate') },
  });
  app.use(router);

  app.use(notFound(deps.routes));
  app.use(errorHandler(logger));
  return app;
}

/** A path as logs show it: an offer's path carries its bearer token (credential_offer_uri), which is cut. */
export const loggedPath = (path: string) => path.replace(/^\/offers\/[^/]+/i, '/offers/[redacted]');

/** Request id, structured access log and the audit row for API calls that did not write one in their own transaction. */
function requestContext({ logger, audit }: GatewayDeps): RequestHandler {
  return (req, res, next) => {
    const requestId = requestIdFrom(req.get('x-request-id'));
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    const started = performance.now();
    let span: Span | undefined;
    res.on('finish', () => {
      const traceId = span?.spanContext().traceId;
      // Paths and statuses only: bodies, query strings and headers may carry secrets or personal data.
      const entry = { reqId: requestId, ...(traceId ? { traceId } : {}), method: req.method, path: loggedPath(req.path), status: res.statusCode, ms: Math.round(performance.now() - started), actor: res.locals.actor };
      // The route template (`/offers/:token`), never the path: labels stay bounded and carry no ids or tokens.
      const labels = { route: routeTemplate(req), method: req.method, status: String(res.statusCode) };
      span?.updateName(`${req.method} ${labels.route}`);
      endServerSpan(span, res.statusCode >= 500, { 'http.route': labels.route, 'http.response.status_code': res.statusCode });
      httpRequests.inc(labels);
      httpRequestDuration.observe(labels, (performance.now() - started) / 1000);
      if (res.statusCode >= 500) logger.error(entry, 'request failed');
      else logger.info(entry, 'request');
      // Every API and admin call, also refused ones; a handler may name its target ids in res.locals.auditTarget.
      if ((req.path.startsWith('/api/') || req.path.startsWith('/admin/')) && !res.locals.audited) {
        audit
          .append({ requestId, actor: res.locals.actor ?? 'anonymous', action: res.locals.auditAction ?? `${req.method} ${req.path}`, method: req.method, path: req.path, status: res.statusCode, target: res.locals.auditTarget, clientIp: req.ip })
          .catch((err: Error) => logger.error({ reqId: requestId, err: err.message }, 'audit log write failed'));
      }
    });
    // With tracing on, the request's server span (a child of the caller's traceparent) is the parent
    // of everything the request does, the Temporal calls included (src/telemetry/tracing.ts).
    withServerSpan(`${req.method} request`, req.headers, { 'http.request.method': req.method, 'request.id': requestId }, (serverSpan) => {
      span = serverSpan;
      next();
    });
  };
}

/** The matched route's template for metrics labels; `unmatched` for 404s and static files. */
function routeTemplate(req: express.Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? `${req.baseUrl}${path}` : 'unmatched';
}

/** A client's X-Request-Id when it is 1-128 characters of [A-Za-z0-9._:-] (it enters logs and the audit log), else a fresh UUID. */
export function requestIdFrom(incoming: string | undefined): string {
  return incoming !== undefined && isValidRequestId(incoming) ? incoming : randomUUID();
}

function mountDocsPage(app: express.Express): void {
  const assets = getAbsoluteFSPath();
  app.get('/docs/swagger-initializer.js', (_req, res) => {
    res.type('application/javascript').send(
      `window.onload = () => { window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: 'StandaloneLayout' }); };`,
    );
  });
  app.get('/docs', (req, res, next) => (req.originalUrl === '/docs' ? res.redirect(301, '/docs/') : next()));
  app.use('/docs', express.static(assets, { index: 'index.html' }));
}

function notFound(routes: AnyRouteSpec[]): RequestHandler {
  const methodsByPath = new Map<string, string[]>();
  for (const r of routes) methodsByPath.set(r.path, [...(methodsByPath.get(r.path) ?? []), r.method.toUpperCase()]);
  return (req, res, next) => {
    const allowed = methodsByPath.get(req.path);
    if (allowed) {
      res.setHeader('Allow', allowed.join(', '));
      return next(new MethodNotAllowedError(`Use ${allowed.join(' or ')} on ${req.path}`));
    }
    next(new RouteNotFoundError('No such endpoint', { path: req.path }));
  };
}

/** The only place errors become responses: known ones with their code, everything else a bare 500. */
function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const apiError = toApiError(err);
    if (!apiError.expose) logger.error({ reqId: res.locals.requestId, path: loggedPath(req.path), err: errorSummary(err) }, 'unhandled error');
    if (apiError instanceof RateLimitedError) res.setHeader('Retry-After', String(apiError.retryAfterSeconds));
    if (res.headersSent) return;
    const body = apiError.expose ? apiError.toBody() : new InternalError('Internal server error', { request_id: res.locals.requestId }).toBody();
    res.status(apiError.status).json(body);
  };
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  // body-parser marks its errors with `type` and a 4xx status.
  const e = err as { type?: string; status?: number };
  switch (e?.type) {
    case 'entity.parse.failed':
      return new InvalidFormatError('Request body is not valid JSON');
    case 'entity.too.large':
      return new PayloadTooLargeError('Request body is too large');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new UnsupportedMediaTypeError('Unsupported body encoding or charset');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new InvalidFormatError('Request body could not be read');
  }
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return new InvalidFormatError('Malformed request');
  return new InternalError('Internal server error', undefined, { cause: err });
}

function errorSummary(err: unknown): Record<string, unknown> {
  const e = err as Error & { code?: string };
  return { name: e?.name, message: e?.message, code: e?.code, stack: e?.stack };
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** The raw body of `/service/.../webhook-accept/...` requests, as `req.rawBody` (src/gateway/service/interaction-callback-routes.ts). */
function keepRawBodyOfCallbacks(req: import('node:http').IncomingMessage, _res: unknown, buf: Buffer): void {
  if (req.url?.startsWith('/service/') && req.url.includes('/webhook-accept/')) (req as { rawBody?: Buffer }).rawBody = buf;
}

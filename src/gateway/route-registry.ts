import type { NextFunction, Request, Response, Router } from 'express';
import { z } from 'zod';
import { invalidFormatFrom, RouteNotFoundError } from './api-errors';
import type { AdminPrincipal } from './admin/admin-auth';
import type { ClientPrincipal, SourcePrincipal } from './authenticate-source';

/**
 * How a route authenticates: an authentic source (API key / mTLS), a Bearer client, an admin token
 * with at least the named role (src/gateway/admin/admin-auth.ts), or nobody (public metadata).
 */
export type Security = 'source' | 'bearer' | 'admin:read' | 'admin:operate' | 'none';
export interface AnonymousPrincipal {
  readonly kind: 'anonymous';
}
type PrincipalFor<S extends Security> = S extends 'source' ? SourcePrincipal : S extends 'bearer' ? ClientPrincipal : S extends `admin:${string}` ? AdminPrincipal : AnonymousPrincipal;

/** Error statuses a route can answer with; each appears in the OpenAPI document with the error schema. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500 | 503;

export interface RouteContext<B, S extends Security = Security, Q = Record<string, never>> {
  body: B;
  /** Query parameters, validated by the route's `query` schema (empty without one). */
  query: Q;
  /** Path parameters, validated by the route's `params` schema. */
  params: Record<string, string>;
  principal: PrincipalFor<S>;
  req: Request;
  res: Response;
}

/**
 * One description drives both the Express route and its OpenAPI operation, so the document
 * cannot drift from the validation that actually runs.
 */
export interface RouteSpec<B extends z.ZodType, R extends z.ZodType, S extends Security = Security, Q extends z.ZodType = z.ZodType<Record<string, never>>> {
  method: 'get' | 'post' | 'put' | 'delete';
  /** Express path (`/api/v1/upload`); `:param` segments become OpenAPI `{param}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  security: S;
  /** Schema of the path parameters (`:id`); a mismatch is 404 NOT_FOUND. */
  params?: z.ZodType<Record<string, string>>;
  body?: B;
  /** Schema of the query string (an object of optional strings, coerced as needed); a mismatch is 400 INVALID_FORMAT. */
  query?: Q;
  response: R;
  /**
   * The media type of a binary answer (a CRL: `application/pkix-crl`). The handler then returns the
   * bytes as a Buffer and sets any caching headers itself; without it the answer is JSON.
   */
  produces?: string;
  errors: ErrorStatus[];
  handler: (ctx: RouteContext<z.infer<B>, S, z.infer<Q>>) => Promise<z.infer<R>>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRouteSpec = RouteSpec<any, any, Security, any>;

export function defineRoute<B extends z.ZodType, R extends z.ZodType, S extends Security, Q extends z.ZodType = z.ZodType<Record<string, never>>>(spec: RouteSpec<B, R, S, Q>): RouteSpec<B, R, S, Q> {
  return spec;
}

export interface MountDeps {
  authenticate: { [S in Exclude<Security, 'none'>]: (req: Request) => Promise<PrincipalFor<S>> };
}

const ANONYMOUS: AnonymousPrincipal = Object.freeze({ kind: 'anonymous' });

/** Mounts routes: authenticate, validate the body, run the handler, answer 200 with JSON. */
export function mountRoutes(router: Router, routes: AnyRouteSpec[], deps: MountDeps): void {
  for (const spec of routes) {
    router[spec.method](spec.path, async (req: Request, res: Response, next: NextFunction) => {
      try {
        const security = spec.security as Security;
        const principal = security === 'none' ? ANONYMOUS : await deps.authenticate[security](req);
        if (principal.kind !== 'anonymous') res.locals.actor = principal.kind === 'source' ? `source:${principal.source}` : principal.kind === 'client' ? `client:${principal.client}` : `admin:${principal.admin}`;
        let params: Record<string, string> = {};
        if (spec.params) {
          const parsed = spec.params.safeParse(req.params);
          if (!parsed.success) throw new RouteNotFoundError('No such resource', { path: req.path });
          params = parsed.data;
        }
        let query: unknown = {};
        if (spec.query) {
          const parsed = (spec.query as z.ZodType).safeParse(req.query);
          if (!parsed.success) throw invalidFormatFrom(parsed.error, 'query');
          query = parsed.data;
        }
        let body: unknown = undefined;
        if (spec.body) {
          const parsed = (spec.body as z.ZodType).safeParse(req.body ?? undefined);
          if (!parsed.success) throw invalidFormatFrom(parsed.error);
          body = parsed.data;
        }
        const result = await spec.handler({ body, query, params, principal, req, res });
        if (spec.produces) res.status(200).type(spec.produces).send(result);
        else res.status(200).json(result);
      } catch (err) {
        next(err);
      }
    });
  }
}

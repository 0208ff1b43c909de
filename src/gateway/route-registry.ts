import type { NextFunction, Request, Response, Router } from 'express';
import { z } from 'zod';
import { invalidFormatFrom, RouteNotFoundError } from './api-errors';
import type { ClientPrincipal, SourcePrincipal } from './authenticate-source';

/** How a route authenticates: an authentic source (API key / mTLS), a Bearer client, or nobody (public metadata). */
export type Security = 'source' | 'bearer' | 'none';
export interface AnonymousPrincipal {
  readonly kind: 'anonymous';
}
type PrincipalFor<S extends Security> = S extends 'source' ? SourcePrincipal : S extends 'bearer' ? ClientPrincipal : AnonymousPrincipal;

/** Error statuses a route can answer with; each appears in the OpenAPI document with the error schema. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500 | 503;

export interface RouteContext<B, S extends Security = Security> {
  body: B;
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
export interface RouteSpec<B extends z.ZodType, R extends z.ZodType, S extends Security = Security> {
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
  response: R;
  errors: ErrorStatus[];
  handler: (ctx: RouteContext<z.infer<B>, S>) => Promise<z.infer<R>>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRouteSpec = RouteSpec<any, any>;

export function defineRoute<B extends z.ZodType, R extends z.ZodType, S extends Security>(spec: RouteSpec<B, R, S>): RouteSpec<B, R, S> {
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
        if (principal.kind !== 'anonymous') res.locals.actor = principal.kind === 'source' ? `source:${principal.source}` : `client:${principal.client}`;
        let params: Record<string, string> = {};
        if (spec.params) {
          const parsed = spec.params.safeParse(req.params);
          if (!parsed.success) throw new RouteNotFoundError('No such resource', { path: req.path });
          params = parsed.data;
        }
        let body: unknown = undefined;
        if (spec.body) {
          const parsed = (spec.body as z.ZodType).safeParse(req.body ?? undefined);
          if (!parsed.success) throw invalidFormatFrom(parsed.error);
          body = parsed.data;
        }
        const result = await spec.handler({ body, params, principal, req, res });
        res.status(200).json(result);
      } catch (err) {
        next(err);
      }
    });
  }
}

import type { NextFunction, Request, Response, Router } from 'express';
import { z } from 'zod';
import { invalidFormatFrom } from './api-errors';
import type { SourcePrincipal } from './authenticate-source';

/** Error statuses a route can answer with; each appears in the OpenAPI document with the error schema. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500 | 503;

export interface RouteContext<B> {
  body: B;
  principal: SourcePrincipal;
  req: Request;
  res: Response;
}

/**
 * One description drives both the Express route and its OpenAPI operation, so the document
 * cannot drift from the validation that actually runs.
 */
export interface RouteSpec<B extends z.ZodType, R extends z.ZodType> {
  method: 'get' | 'post' | 'put' | 'delete';
  /** Express path (`/api/v1/upload`); `:param` segments become OpenAPI `{param}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  security: 'source';
  body?: B;
  response: R;
  errors: ErrorStatus[];
  handler: (ctx: RouteContext<z.infer<B>>) => Promise<z.infer<R>>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRouteSpec = RouteSpec<any, any>;

export function defineRoute<B extends z.ZodType, R extends z.ZodType>(spec: RouteSpec<B, R>): RouteSpec<B, R> {
  return spec;
}

export interface MountDeps {
  authenticate: (req: Request) => Promise<SourcePrincipal>;
}

/** Mounts routes: authenticate, validate the body, run the handler, answer 200 with JSON. */
export function mountRoutes(router: Router, routes: AnyRouteSpec[], deps: MountDeps): void {
  for (const spec of routes) {
    router[spec.method](spec.path, async (req: Request, res: Response, next: NextFunction) => {
      try {
        const principal = await deps.authenticate(req);
        res.locals.actor = `source:${principal.source}`;
        let body: unknown = undefined;
        if (spec.body) {
          const parsed = (spec.body as z.ZodType).safeParse(req.body ?? undefined);
          if (!parsed.success) throw invalidFormatFrom(parsed.error);
          body = parsed.data;
        }
        const result = await spec.handler({ body, principal, req, res });
        res.status(200).json(result);
      } catch (err) {
        next(err);
      }
    });
  }
}

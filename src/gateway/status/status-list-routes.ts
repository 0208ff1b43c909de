import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { STATUS_LIST_MEDIA_TYPES, statusListUri, type StatusListForm, type StatusListPublisher } from '../../credentials/status-list-publisher';
import { statusListId, type StatusListsRepository } from '../../db/status-lists-repository';
import { RouteNotFoundError } from '../api-errors';

export interface StatusListRoutesDeps {
  issuerUrl: string;
  publisher: StatusListPublisher;
  lists: Pick<StatusListsRepository, 'lists'>;
}

const NUMBER = /^(0|[1-9]\d{0,8})$/;

/**
 * Public status-list endpoints (no authentication: verifiers fetch them):
 * - `GET /status-lists/token/:n`: the Token Status List `n` (draft-ietf-oauth-status-list §8.1),
 *   as `application/statuslist+cwt` when the Accept header prefers it (§8.2, content negotiation),
 *   else as `application/statuslist+jwt`.
 * - `GET /status-lists/token`: the Status List Aggregation (§9.3), `{"status_lists": [uri, ...]}`.
 * - `GET /status-lists/w3c/revocation/:n`: the BitstringStatusListCredential `n` (W3C Bitstring
 *   Status List v1.0 §2.2), `application/vc+jwt`; these are the URLs seed 001 credentials carry.
 * Cache-Control `max-age` is the token's `ttl` at most (draft §13.7, "Status List caching").
 */
export function statusListRoutes(deps: StatusListRoutesDeps): Router {
  const router = express.Router();
  const send = async (res: Response, listId: string, form: StatusListForm) => {
    const published = await deps.publisher.publish(listId, form);
    if (!published) throw new RouteNotFoundError('No such status list', { list: listId });
    res.set('Cache-Control', `public, max-age=${published.ttlSeconds}`);
    res.set('Vary', 'Accept');
    res.type(published.contentType);
    res.status(200).send(typeof published.body === 'string' ? published.body : Buffer.from(published.body));
  };
  const wrap = (handler: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => {
    handler(req, res).catch(next);
  };

  router.get(
    '/status-lists/token',
    wrap(async (_req, res) => {
      const lists = await deps.lists.lists('token');
      res.set('Cache-Control', 'public, max-age=60');
      res.json({ status_lists: lists.map((l) => statusListUri(deps.issuerUrl, 'token', l.purpose, l.number)) });
    }),
  );
  router.get(
    '/status-lists/token/:n',
    wrap(async (req, res) => {
      const n = String(req.params.n);
      if (!NUMBER.test(n)) throw new RouteNotFoundError('No such status list', { path: req.path });
      const preferred = req.accepts([STATUS_LIST_MEDIA_TYPES.jwt, STATUS_LIST_MEDIA_TYPES.cwt, 'application/jwt', 'application/cwt']);
      await send(res, statusListId('token', 'status', Number(n)), preferred && preferred.includes('cwt') ? 'cwt' : 'jwt');
    }),
  );
  router.get(
    '/status-lists/w3c/revocation/:n',
    wrap(async (req, res) => {
      const n = String(req.params.n);
      if (!NUMBER.test(n)) throw new RouteNotFoundError('No such status list', { path: req.path });
      await send(res, statusListId('w3c', 'revocation', Number(n)), 'w3c');
    }),
  );
  return router;
}

/** OpenAPI path items of these endpoints (they answer tokens, not JSON, so they are described here rather than by route specs). */
export function statusListOpenApiPaths(errorRef: unknown): Record<string, Record<string, unknown>> {
  const notFound = { description: 'No such status list', content: { 'application/json': { schema: errorRef } } };
  const number = [{ name: 'n', in: 'path', required: true, description: 'List number', schema: { type: 'integer', minimum: 0 } }];
  const cacheControl = { 'Cache-Control': { description: 'public, max-age=<ttl> (STATUS_LIST_TTL)', schema: { type: 'string' } } };
  return {
    '/status-lists/token': {
      get: {
        operationId: 'statusListAggregation',
        summary: 'Status List Aggregation (draft-ietf-oauth-status-list §9.3): the URIs of all Token Status Lists',
        tags: ['Status lists'],
        security: [],
        responses: { 200: { description: 'The lists', content: { 'application/json': { schema: { type: 'object', properties: { status_lists: { type: 'array', items: { type: 'string', format: 'uri' } } }, required: ['status_lists'] } } } } },
      },
    },
    '/status-lists/token/{n}': {
      get: {
        operationId: 'tokenStatusList',
        summary: 'Token Status List n (draft-ietf-oauth-status-list §5, §8): JWT by default, CWT with Accept: application/statuslist+cwt',
        description: 'For dc+sd-jwt (payload status.status_list) and mso_mdoc (MSO status) credentials. 2 bits per entry: 0 VALID, 1 INVALID, 2 SUSPENDED. The JWT is signed by a key of /.well-known/jwks.json; the CWT by the Document Signer, x5chain to the IACA of /.well-known/iacas.',
        tags: ['Status lists'],
        security: [],
        parameters: number,
        responses: {
          200: { description: 'The signed Status List Token', headers: cacheControl, content: { 'application/statuslist+jwt': { schema: { type: 'string' } }, 'application/statuslist+cwt': { schema: { type: 'string', format: 'binary' } } } },
          404: notFound,
        },
      },
    },
    '/status-lists/w3c/revocation/{n}': {
      get: {
        operationId: 'bitstringStatusListCredential',
        summary: 'BitstringStatusListCredential n (W3C Bitstring Status List v1.0), revocation purpose, as application/vc+jwt',
        tags: ['Status lists'],
        security: [],
        parameters: number,
        responses: { 200: { description: 'The signed credential', headers: cacheControl, content: { 'application/vc+jwt': { schema: { type: 'string' } } } }, 404: notFound },
      },
    },
  };
}

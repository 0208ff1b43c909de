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
/** The VC DM 2.0 drafts' name for `application/vc`: asked for by name, the Data Integrity form is labelled with it. */
const LEGACY_VC_LD_MEDIA_TYPE = 'application/vc+ld+json';

/**
 * Public status-list endpoints (no authentication: verifiers fetch them):
 * - `GET /status-lists/token/:n`: the Token Status List `n` (draft-ietf-oauth-status-list §8.1),
 *   as `application/statuslist+cwt` when the Accept header prefers it (§8.2, content negotiation),
 *   else as `application/statuslist+jwt`.
 * - `GET /status-lists/token`: the Status List Aggregation (§9.3), `{"status_lists": [uri, ...]}`.
 * - `GET /status-lists/w3c/revocation/:n`: the BitstringStatusListCredential `n` (W3C Bitstring
 *   Status List v1.0 §2.2) secured with JOSE, `application/vc+jwt` (the URL JOSE-secured W3C
 *   credentials carry), or with `Accept: application/vc` (or `application/vc+ld+json`) secured with
 *   a Data Integrity proof (`ecdsa-rdfc-2019`).
 * - `GET /status-lists/w3c/revocation/:n/di`: the same list, the Data Integrity form by default (the
 *   URL Data Integrity credentials carry), the JOSE one when the Accept header prefers `application/vc+jwt`.
 * - `GET /status-lists/w3c/suspension/:n` and `/di`: the same for the suspension lists (§2.1
 *   statusPurpose `suspension`), the second entry of W3C credentials issued to wallets.
 * Cache-Control `max-age` is the token's `ttl` at most (draft §13.7, "Status List caching").
 */
export function statusListRoutes(deps: StatusListRoutesDeps): Router {
  const router = express.Router();
  const send = async (res: Response, listId: string, form: StatusListForm, contentType?: string) => {
    const published = await deps.publisher.publish(listId, form);
    if (!published) throw new RouteNotFoundError('No such status list', { list: listId });
    res.set('Cache-Control', `public, max-age=${published.ttlSeconds}`);
    res.set('Vary', 'Accept');
    res.type(contentType ?? published.contentType);
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
  // The W3C list in both proof formats (docs/conventions.md, Status lists): each URL answers the form
  // its credentials name unless the Accept header prefers the other one.
  const DATA_INTEGRITY_TYPES = [STATUS_LIST_MEDIA_TYPES['w3c-di'], LEGACY_VC_LD_MEDIA_TYPE];
  const w3c = (purpose: 'revocation' | 'suspension', defaultForm: 'w3c' | 'w3c-di') =>
    wrap(async (req, res) => {
      const n = String(req.params.n);
      if (!NUMBER.test(n)) throw new RouteNotFoundError('No such status list', { path: req.path });
      const offered = defaultForm === 'w3c' ? [STATUS_LIST_MEDIA_TYPES.w3c, ...DATA_INTEGRITY_TYPES] : [...DATA_INTEGRITY_TYPES, STATUS_LIST_MEDIA_TYPES.w3c];
      const preferred = req.accepts(offered);
      const form = preferred === STATUS_LIST_MEDIA_TYPES.w3c ? 'w3c' : preferred ? 'w3c-di' : defaultForm;
      await send(res, statusListId('w3c', purpose, Number(n)), form, form === 'w3c-di' && preferred === LEGACY_VC_LD_MEDIA_TYPE ? LEGACY_VC_LD_MEDIA_TYPE : undefined);
    });
  for (const purpose of ['revocation', 'suspension'] as const) {
    router.get(`/status-lists/w3c/${purpose}/:n`, w3c(purpose, 'w3c'));
    router.get(`/status-lists/w3c/${purpose}/:n/di`, w3c(purpose, 'w3c-di'));
  }
  return router;
}

/** OpenAPI path items of these endpoints (they answer tokens, not JSON, so they are described here rather than by route specs). */
export function statusListOpenApiPaths(errorRef: unknown): Record<string, Record<string, unknown>> {
  const notFound = { description: 'No such status list', content: { 'application/json': { schema: errorRef } } };
  const number = [{ name: 'n', in: 'path', required: true, description: 'List number', schema: { type: 'integer', minimum: 0 } }];
  const cacheControl = { 'Cache-Control': { description: 'public, max-age=<ttl> (STATUS_LIST_TTL)', schema: { type: 'string' } } };
  const vary = { Vary: { description: 'Accept: the form depends on it', schema: { type: 'string' } } };
  const diDocument = { type: 'object', description: 'The credential document with its proof (type DataIntegrityProof, cryptosuite ecdsa-rdfc-2019)', additionalProperties: true };
  const dataIntegrity = { 'application/vc': { schema: diDocument }, 'application/vc+ld+json': { schema: diDocument } };
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
        summary: 'BitstringStatusListCredential n (W3C Bitstring Status List v1.0), revocation purpose: application/vc+jwt by default, the Data Integrity form with Accept: application/vc',
        description: 'The statusListCredential of JOSE-secured W3C credentials (jwt_vc_json, seed 001 with format vc+jwt). With Accept: application/vc (or application/vc+ld+json) the same list (same bits, same validity window) as a JSON-LD credential with an ecdsa-rdfc-2019 DataIntegrityProof by the issuer\'s did:web, as served at /status-lists/w3c/revocation/{n}/di.',
        tags: ['Status lists'],
        security: [],
        parameters: number,
        responses: { 200: { description: 'The signed credential', headers: { ...cacheControl, ...vary }, content: { 'application/vc+jwt': { schema: { type: 'string' } }, ...dataIntegrity } }, 404: notFound },
      },
    },
    '/status-lists/w3c/revocation/{n}/di': {
      get: {
        operationId: 'bitstringStatusListCredentialDataIntegrity',
        summary: 'BitstringStatusListCredential n secured with a Data Integrity proof (ecdsa-rdfc-2019): application/vc by default, JOSE with Accept: application/vc+jwt',
        description: 'The statusListCredential of W3C credentials with a Data Integrity proof (seed 001 by default, ldp_vc). issuer is the issuer\'s did:web; the proof\'s verificationMethod is a Multikey of /.well-known/did.json; encodedList is Multibase base64url of the GZIP-compressed bitstring, index 0 the most significant bit of the first byte.',
        tags: ['Status lists'],
        security: [],
        parameters: number,
        responses: { 200: { description: 'The signed credential', headers: { ...cacheControl, ...vary }, content: { ...dataIntegrity, 'application/vc+jwt': { schema: { type: 'string' } } } }, 404: notFound },
      },
    },
    '/status-lists/w3c/suspension/{n}': {
      get: {
        operationId: 'bitstringSuspensionListCredential',
        summary: 'BitstringStatusListCredential n (W3C Bitstring Status List v1.0 §2.1), suspension purpose: application/vc+jwt by default, the Data Integrity form with Accept: application/vc',
        description: 'The suspension list of JOSE-secured W3C credentials issued to wallets (jwt_vc_json), their second BitstringStatusListEntry (statusPurpose suspension): bit 1 while the document is suspended (POST /api/v1/document/suspend), 0 again after POST /api/v1/document/reinstate. Same negotiation, signing and caching as /status-lists/w3c/revocation/{n}; the Data Integrity form is also at /status-lists/w3c/suspension/{n}/di.',
        tags: ['Status lists'],
        security: [],
        parameters: number,
        responses: { 200: { description: 'The signed credential', headers: { ...cacheControl, ...vary }, content: { 'application/vc+jwt': { schema: { type: 'string' } }, ...dataIntegrity } }, 404: notFound },
      },
    },
    '/status-lists/w3c/suspension/{n}/di': {
      get: {
        operationId: 'bitstringSuspensionListCredentialDataIntegrity',
        summary: 'Suspension BitstringStatusListCredential n secured with a Data Integrity proof (ecdsa-rdfc-2019): application/vc by default, JOSE with Accept: application/vc+jwt',
        description: 'The suspension list of W3C credentials with a Data Integrity proof issued to wallets (ldp_vc). Same proof and encoding as /status-lists/w3c/revocation/{n}/di.',
        tags: ['Status lists'],
        security: [],
        parameters: number,
        responses: { 200: { description: 'The signed credential', headers: { ...cacheControl, ...vary }, content: { ...dataIntegrity, 'application/vc+jwt': { schema: { type: 'string' } } } }, 404: notFound },
      },
    },
  };
}

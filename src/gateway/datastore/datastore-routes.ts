import type { Config } from '../../config/config';
import type { AuditLogRepository } from '../../db/audit-log-repository';
import type { DocumentsRepository } from '../../db/documents-repository';
import { DocumentNotFoundError, ForbiddenError } from '../api-errors';
import type { SourcePrincipal } from '../authenticate-source';
import { type AnyRouteSpec, defineRoute } from '../route-registry';
import { DocumentRef, DocumentResponse, UploadRequest, UploadResponse } from './datastore-schemas';

export interface DatastoreDeps {
  config: Config;
  documents: DocumentsRepository;
  audit: AuditLogRepository;
}

/** Seed 000 Datastore API, `/api/v1/*`: what authentic sources call. */
export function datastoreRoutes({ config, documents, audit }: DatastoreDeps): AnyRouteSpec[] {
  /** A source acts only on itself and on the vcts configured for it. */
  const authorize = (principal: SourcePrincipal, source: string, vct: string): void => {
    if (principal.source !== source) throw new ForbiddenError('API key does not belong to this authentic source', { authentic_source: source });
    const type = config.credentialTypes.get(vct);
    if (!type || type.source !== source) throw new ForbiddenError('Credential type is not configured for this authentic source', { authentic_source: source, vct });
  };

  const upload = defineRoute({
    method: 'post',
    path: '/api/v1/upload',
    operationId: 'uploadDocument',
    summary: 'Upload document data for future credential issuance',
    description: 'Idempotent on (authentic_source, vct, document_id): an identical repeat changes nothing, a changed upload replaces the stored version.',
    tags: ['Datastore'],
    security: 'source',
    body: UploadRequest,
    response: UploadResponse,
    errors: [400, 401, 403, 413, 415],
    handler: async ({ body, principal, req, res }) => {
      const { authentic_source, vct, document_id } = body.meta;
      authorize(principal, authentic_source, vct);
      const result = await documents.upsert(body, async (trx, outcome) => {
        await audit.append(
          { requestId: res.locals.requestId, actor: `source:${principal.source}`, action: 'document.upload', method: req.method, path: req.path, status: 200, target: { authentic_source, vct, document_id, result: outcome }, clientIp: req.ip },
          trx,
        );
      });
      res.locals.audited = true;
      return { data: { authentic_source, vct, document_id, result } };
    },
  });

  const getDocument = defineRoute({
    method: 'post',
    path: '/api/v1/document',
    operationId: 'getDocument',
    summary: 'Retrieve a specific document by ID',
    tags: ['Datastore'],
    security: 'source',
    body: DocumentRef,
    response: DocumentResponse,
    errors: [400, 401, 403, 404],
    handler: async ({ body, principal }) => {
      authorize(principal, body.authentic_source, body.vct);
      const doc = await documents.get(body);
      if (!doc) throw new DocumentNotFoundError('No document found with the specified ID', { authentic_source: body.authentic_source, vct: body.vct, document_id: body.document_id });
      return { data: doc };
    },
  });

  return [upload, getDocument];
}

import type { Request, Response } from 'express';
import type { Config } from '../../config/config';
import type { AuditLogRepository } from '../../db/audit-log-repository';
import type { DocumentKey, DocumentsRepository, IdentityCandidate, UpsertResult } from '../../db/documents-repository';
import type { Db } from '../../db/knex';
import { normalizeDate } from '../../identity/date-normalization';
import { matchIdentity, matchIdentityYielding, type PresentedIdentity } from '../../identity/identity-matching';
import {
  AmbiguousIdentityError,
  type ApiError,
  DocumentNotFoundError,
  IdentityMismatchError,
  IdentityNotFoundError,
  IdentityRequiredError,
  InvalidFormatError,
  invalidFormatFrom,
} from '../api-errors';
import { authorizeSource, type SourcePrincipal } from '../authenticate-source';
import { type AnyRouteSpec, defineRoute } from '../route-registry';
import {
  AddIdentityRequest,
  BatchUploadRequest,
  BatchUploadResponse,
  CollectIdRequest,
  DeleteIdentityRequest,
  DocumentListRequest,
  DocumentListResponse,
  DocumentRef,
  DocumentResponse,
  EmptyResponse,
  IdentityMappingRequest,
  IdentityMappingResponse,
  UploadRequest,
  UploadResponse,
} from './datastore-schemas';
import type { FieldError } from './document-data-validator';

export interface DatastoreDeps {
  config: Config;
  documents: DocumentsRepository;
  audit: AuditLogRepository;
  validateDocumentData: (vct: string, data: Record<string, unknown>) => FieldError[];
  /** Stops any running process for a deleted document (its credential offer), so nothing issues it afterwards. */
  cancelProcesses?: (key: DocumentKey) => Promise<void>;
}

const TAG = ['Datastore'];

/** Seed 000 Datastore API, `/api/v1/*`: what authentic sources call. */
export function datastoreRoutes({ config, documents, audit, validateDocumentData, cancelProcesses }: DatastoreDeps): AnyRouteSpec[] {
  const rules = config.file.identity_matching;

  const authorize = (principal: SourcePrincipal, source: string, vct?: string) => authorizeSource(config, principal, source, vct);

  /** Writes the audit row inside the business transaction, so both commit or neither does. */
  const auditIn = (req: Request, res: Response, principal: SourcePrincipal, action: string, target: Record<string, string | number | boolean | null>) => async (trx: Db) => {
    await audit.append({ requestId: res.locals.requestId, actor: `source:${principal.source}`, action, method: req.method, path: req.path, status: 200, target, clientIp: req.ip }, trx);
    res.locals.audited = true;
  };

  const notFound = (key: DocumentKey) => new DocumentNotFoundError('No document found with the specified ID', { ...key });

  /** Validates, authorizes and stores one upload; shared by the single and the batch endpoint. */
  const storeUpload = async (body: UploadRequest, principal: SourcePrincipal, req: Request, res: Response): Promise<UpsertResult> => {
    const { authentic_source, vct, document_id } = body.meta;
    authorize(principal, authentic_source, vct);
    const fieldErrors = validateDocumentData(vct, body.document_data);
    if (fieldErrors.length) throw new InvalidFormatError('document_data does not match the credential type metadata', { fields: fieldErrors });
    const result = await documents.upsert(body, {
      requestId: res.locals.requestId,
      actor: `source:${principal.source}`,
      action: 'document.upload',
      method: req.method,
      path: req.path,
      status: 200,
      target: { authentic_source, vct, document_id },
      clientIp: req.ip,
    });
    res.locals.audited = true;
    return result;
  };

  /** Runs the configured matching rules over a source's identities; translates the outcome to API errors. */
  const matchPerson = async (source: string, identity: PresentedIdentity, vct?: string): Promise<IdentityCandidate[]> => {
    const birthDateIso = typeof identity.birth_date === 'string' ? normalizeDate(identity.birth_date, rules.date_formats) : undefined;
    if (rules.required_attributes.includes('birth_date') && typeof identity.birth_date === 'string' && !birthDateIso) {
      throw new InvalidFormatError('Request body is malformed', { fields: [{ path: 'identity.birth_date', message: `not a date in any configured format (${rules.date_formats.join(', ')})` }] });
    }
    const candidates = await documents.identityCandidates(source, { ...(birthDateIso && rules.required_attributes.includes('birth_date') ? { birthDateIso } : {}), ...(vct ? { vct } : {}) });
    // Up to 10,000 candidates: compared in chunks, yielding the event loop between them.
    const result = await matchIdentityYielding(identity, candidates.map((c) => ({ personId: c.personId, identity: c.identity })), rules);
    switch (result.kind) {
      case 'invalid':
        throw new InvalidFormatError('Request body is malformed', { fields: result.errors.map((e) => ({ path: `identity.${e.path}`, message: e.message })) });
      case 'no_match':
        throw new IdentityMismatchError('Identity attributes do not match', { authentic_source: source });
      case 'ambiguous':
        throw new AmbiguousIdentityError('The identity matches more than one person; add attributes to tell them apart', { authentic_source: source, persons: result.personIds.length });
      case 'match':
        // Every document of the matched person (same person id), or just the matched identity's.
        return result.personId === null ? [candidates[result.candidateIndex]!] : candidates.filter((c) => c.personId === result.personId);
    }
  };

  return [
    defineRoute({
      method: 'post',
      path: '/api/v1/upload',
      operationId: 'uploadDocument',
      summary: 'Upload document data for future credential issuance',
      description:
        'Idempotent on (authentic_source, vct, document_id): an identical repeat changes nothing, a changed upload replaces the stored version. document_data is validated against the credential type metadata (VCTM).',
      tags: TAG,
      security: 'source',
      body: UploadRequest,
      response: UploadResponse,
      errors: [400, 401, 403, 413, 415],
      handler: async ({ body, principal, req, res }) => {
        const result = await storeUpload(body, principal, req, res);
        return { data: { authentic_source: body.meta.authentic_source, vct: body.meta.vct, document_id: body.meta.document_id, result } };
      },
    }),

    defineRoute({
      method: 'post',
      path: '/api/v1/upload/batch',
      operationId: 'uploadDocuments',
      summary: 'Upload many documents in one request (batch provisioning)',
      description: 'Each document is validated and stored on its own, all or nothing per document; the response has one result per item, in order.',
      tags: TAG,
      security: 'source',
      body: BatchUploadRequest,
      response: BatchUploadResponse,
      errors: [400, 401, 413, 415],
      handler: async ({ body, principal, req, res }) => {
        const results = [];
        for (const [index, item] of body.documents.entries()) {
          const parsed = UploadRequest.safeParse(item);
          const documentId = parsed.success ? parsed.data.meta.document_id : undefined;
          try {
            if (!parsed.success) throw invalidFormatFrom(parsed.error);
            results.push({ index, document_id: documentId, result: await storeUpload(parsed.data, principal, req, res) });
          } catch (err) {
            const apiError = err as ApiError;
            if (typeof apiError.status !== 'number' || apiError.status >= 500) throw err;
            results.push({ index, ...(documentId ? { document_id: documentId } : {}), error: apiError.toBody().error });
          }
        }
        const rejected = results.filter((r) => 'error' in r).length;
        return { data: { stored: results.length - rejected, rejected, results } };
      },
    }),

    defineRoute({
      method: 'post',
      path: '/api/v1/document',
      operationId: 'getDocument',
      summary: 'Retrieve a specific document by ID',
      tags: TAG,
      security: 'source',
      body: DocumentRef,
      response: DocumentResponse,
      errors: [400, 401, 403, 404],
      handler: async ({ body, principal }) => {
        authorize(principal, body.authentic_source, body.vct);
        const doc = await documents.get(body);
        if (!doc) throw notFound(body);
        return { data: doc };
      },
    }),

    defineRoute({
      method: 'delete',
      path: '/api/v1/document',
      operationId: 'deleteDocument',
      summary: 'Delete a document',
      description: 'Removes the document and its identities and cancels its running credential offer. The audit log keeps the record that it existed and was deleted.',
      tags: TAG,
      security: 'source',
      body: DocumentRef,
      response: EmptyResponse,
      errors: [400, 401, 403, 404],
      handler: async ({ body, principal, req, res }) => {
        authorize(principal, body.authentic_source, body.vct);
        const deleted = await documents.delete(body, auditIn(req, res, principal, 'document.delete', { ...body }));
        if (!deleted) throw notFound(body);
        await cancelProcesses?.(body);
        return { data: { status: 'deleted' } };
      },
    }),

    defineRoute({
      method: 'put',
      path: '/api/v1/document/identity',
      operationId: 'addDocumentIdentity',
      summary: 'Add an identity (e.g. a legal representative) who may collect the document',
      description: 'An identity with the same authentic_source_person_id is replaced, so a retry does not duplicate it.',
      tags: TAG,
      security: 'source',
      body: AddIdentityRequest,
      response: EmptyResponse,
      errors: [400, 401, 403, 404],
      handler: async ({ body, principal, req, res }) => {
        const { identity, ...key } = body;
        authorize(principal, key.authentic_source, key.vct);
        const outcome = await documents.addIdentity(key, identity, auditIn(req, res, principal, 'document.identity.add', { ...key, person_id: identity.authentic_source_person_id ?? null }));
        if (outcome === 'not_found') throw notFound(key);
        return { data: { status: outcome } };
      },
    }),

    defineRoute({
      method: 'delete',
      path: '/api/v1/document/identity',
      operationId: 'deleteDocumentIdentity',
      summary: 'Remove an identity from a document',
      tags: TAG,
      security: 'source',
      body: DeleteIdentityRequest,
      response: EmptyResponse,
      errors: [400, 401, 403, 404, 409],
      handler: async ({ body, principal, req, res }) => {
        const { authentic_source_person_id: personId, ...key } = body;
        authorize(principal, key.authentic_source, key.vct);
        const outcome = await documents.removeIdentity(key, personId, auditIn(req, res, principal, 'document.identity.remove', { ...key, person_id: personId }));
        if (outcome === 'document_not_found') throw notFound(key);
        if (outcome === 'identity_not_found') throw new IdentityNotFoundError('The document has no identity with this authentic_source_person_id', { ...key, authentic_source_person_id: personId });
        if (outcome === 'last_identity') throw new IdentityRequiredError('A document keeps at least one identity; delete the document instead', { ...key });
        return { data: { status: 'removed' } };
      },
    }),

    defineRoute({
      method: 'post',
      path: '/api/v1/document/collect_id',
      operationId: 'getDocumentByCollectId',
      summary: 'Retrieve a document by collect id, for a matching identity',
      description: 'Returns the document only when the presented identity matches one of its identities under the identity_matching rules.',
      tags: TAG,
      security: 'source',
      body: CollectIdRequest,
      response: DocumentResponse,
      errors: [400, 401, 403, 404],
      handler: async ({ body, principal }) => {
        authorize(principal, body.authentic_source, body.vct);
        const doc = await documents.getByCollectId(body.authentic_source, body.vct, body.collect_id);
        if (!doc) throw new DocumentNotFoundError('No document found with the specified collect id', { authentic_source: body.authentic_source, vct: body.vct, collect_id: body.collect_id });
        const result = matchIdentity(body.identity, doc.identities.map((identity) => ({ personId: identity.authentic_source_person_id ?? null, identity })), rules);
        if (result.kind === 'invalid') throw new InvalidFormatError('Request body is malformed', { fields: result.errors.map((e) => ({ path: `identity.${e.path}`, message: e.message })) });
        // Ambiguity inside one document (two representatives alike) still means "someone allowed".
        if (result.kind === 'no_match') throw new IdentityMismatchError('Identity attributes do not match', { authentic_source: body.authentic_source, collect_id: body.collect_id });
        return { data: doc };
      },
    }),

    defineRoute({
      method: 'post',
      path: '/api/v1/identity/mapping',
      operationId: 'mapIdentity',
      summary: 'Map identity attributes to the authentic source person id',
      tags: TAG,
      security: 'source',
      body: IdentityMappingRequest,
      response: IdentityMappingResponse,
      errors: [400, 401, 403, 409],
      handler: async ({ body, principal }) => {
        authorize(principal, body.authentic_source);
        const matched = await matchPerson(body.authentic_source, body.identity);
        const personId = matched[0]?.personId;
        if (!personId) throw new IdentityMismatchError('The matching identity has no authentic_source_person_id', { authentic_source: body.authentic_source });
        return { data: { authentic_source_person_id: personId } };
      },
    }),

    defineRoute({
      method: 'post',
      path: '/api/v1/document/list',
      operationId: 'listDocuments',
      summary: 'List the documents available to a person',
      tags: TAG,
      security: 'source',
      body: DocumentListRequest,
      response: DocumentListResponse,
      errors: [400, 401, 403, 409],
      handler: async ({ body, principal }) => {
        authorize(principal, body.authentic_source, body.vct);
        const matched = await matchPerson(body.authentic_source, body.identity, body.vct);
        return { data: await documents.summaries(matched.map((m) => m.document)) };
      },
    }),
  ];
}

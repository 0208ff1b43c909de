import type { Client } from '@temporalio/client';
import type { Request, Response } from 'express';
import { type Config, sourceByName } from '../../config/config';
import type { StatusEventRow, StatusEventsRepository, StatusEventType } from '../../db/status-events-repository';
import type { StatusEventDeliveries } from '../../temporal/status-event-deliveries';
import type { AuditLogRepository } from '../../db/audit-log-repository';
import type { DocumentKey, DocumentsRepository } from '../../db/documents-repository';
import type { Db } from '../../db/knex';
import type { RevocationsRepository } from '../../db/revocations-repository';
import { type StatusListsRepository, StatusValue } from '../../db/status-lists-repository';
import { credentialOfferWorkflowId } from '../../../workflows/contracts/credential-offer';
import { cancelRevocationSignal, REVOCATION_WORKFLOW_TYPE, type RevocationWorkflow, revocationWorkflowId } from '../../../workflows/contracts/revocation';
import { AlreadyRevokedError, ConflictError, DocumentNotFoundError, RouteNotFoundError } from '../api-errors';
import { authorizeSource, type SourcePrincipal } from '../authenticate-source';
import { type AnyRouteSpec, defineRoute } from '../route-registry';
import { DocumentRef } from './datastore-schemas';
import { RevokeRequest, RevokeResponse, StatusChangeResponse } from './revocation-schemas';

export interface RevocationDeps {
  config: Config;
  db: Db;
  documents: Pick<DocumentsRepository, 'get'>;
  revocations: RevocationsRepository;
  statusLists: Pick<StatusListsRepository, 'setDocumentStatus' | 'announceChange'>;
  statusEvents: Pick<StatusEventsRepository, 'record'>;
  /** Starts the webhook deliveries of a committed status event (retried; the outbox sweep takes what fails). */
  deliveries: Pick<StatusEventDeliveries, 'start' | 'recordOptions'>;
  audit: AuditLogRepository;
  temporal: Client;
  /** Ends the document's open offer (the offer service's cancel). */
  cancelOffer: (key: DocumentKey) => Promise<void>;
  now?: () => Date;
}

const TAG = ['Datastore'];

/**
 * Seed 000 revocation, and suspension beside it: `POST /api/v1/document/revoke` (now, or at a
 * future `revoke_at` through the revocation workflow), `POST /api/v1/document/revoke/cancel`,
 * `POST /api/v1/document/suspend` and `POST /api/v1/document/reinstate`. A status change is
 * committed with its audit entry; the served status lists show it at their next read (the
 * publisher re-signs a list whose version moved, src/credentials/status-list-publisher.ts).
 */
export function revocationRoutes(deps: RevocationDeps): AnyRouteSpec[] {
  const { config, documents, revocations, statusLists, statusEvents, audit, temporal } = deps;
  const now = deps.now ?? (() => new Date());
  const notifies = (source: string) => sourceByName(config, source)?.notification_endpoint !== undefined;
  /**
   * Reports a committed status change to its subscribers through the durable webhook delivery
   * workflow (which checks the event against its row before sending). The change stands whatever
   * happens here: the event row, written in the change's transaction, is the outbox, and a start
   * that still fails after its retries is logged and left to the outbox sweep
   * (src/temporal/status-event-deliveries.ts), never dropped.
   */
  const report = async (row: StatusEventRow | undefined) => {
    if (row) await deps.deliveries.start(row);
  };
  const recordEvent = async (trx: Db, key: DocumentKey, type: StatusEventType, changed: number) => statusEvents.record(trx, key, type, changed, now(), deps.deliveries.recordOptions(key.authentic_source, type));
  const auditIn = (req: Request, res: Response, principal: SourcePrincipal, action: string, target: Record<string, string | number | boolean | null>) => async (trx: Db) => {
    await audit.append({ requestId: res.locals.requestId, actor: `source:${principal.source}`, action, method: req.method, path: req.path, status: 200, target, clientIp: req.ip }, trx);
    res.locals.audited = true;
  };
  const notFound = (key: DocumentKey) => new DocumentNotFoundError('No document found with the specified ID', { ...key });
  const requireDocument = async (key: DocumentKey) => {
    if (!(await documents.get(key))) throw notFound(key);
  };
  const alreadyRevoked = (key: DocumentKey) => new AlreadyRevokedError('Credential already revoked', { ...key });

  /** Suspension and reinstatement (draft-ietf-oauth-status-list §7.1: 0x02 SUSPENDED, back to 0x00 VALID; a W3C credential's suspension bit); never for a revoked document. */
  const changeStatus = async (key: DocumentKey, status: StatusValue, action: string, req: Request, res: Response, principal: SourcePrincipal) => {
    await requireDocument(key);
    const outcome = await deps.db.transaction(async (trx) => {
      // The revocation row is locked (for share) so a concurrent revocation cannot interleave.
      const revoked = await trx('document_revocations').where({ ...key, state: 'revoked' }).forShare().first('document_id');
      if (revoked) throw alreadyRevoked(key);
      const changed = await statusLists.setDocumentStatus(trx, key, status);
      await auditIn(req, res, principal, action, { ...key, credentials_changed: changed })(trx);
      const event = changed > 0 ? await recordEvent(trx, key, status === StatusValue.Suspended ? 'document.suspended' : 'document.reinstated', changed) : undefined;
      return { changed, event };
    });
    await statusLists.announceChange();
    return outcome;
  };

  return [
    defineRoute({
      method: 'post',
      path: '/api/v1/document/revoke',
      operationId: 'revokeDocument',
      summary: 'Revoke every credential issued from a document (seed 000), now or at revoke_at',
      description:
        'Sets the status of every credential issued from the document (all formats, all batch copies) to INVALID in the Token Status Lists and the Bitstring Status Lists, visible in the served lists within 2 seconds, and cancels its open offer; a later notification for it is ALREADY_REVOKED. With `revoke_at` in the future, the durable revocation workflow `revocation/<authentic_source>/<vct>/<document_id>` waits until then (cancel it with POST /api/v1/document/revoke/cancel). With `reference`, the replacement document must exist (else DOCUMENT_NOT_FOUND and nothing is revoked); the revocation workflow (also for an immediate revocation) revokes the old credentials and then starts the offer of the replacement, which records what it replaces: the link is in both documents (document_revocations.reference, credential_offers.replaces, the document timeline) and in the `state` query of the workflow. Revocation is final.',
      tags: TAG,
      security: 'source',
      body: RevokeRequest,
      response: RevokeResponse,
      errors: [400, 401, 403, 404, 409],
      handler: async ({ body, principal, req, res }) => {
        authorizeSource(config, principal, body.authentic_source, body.vct);
        const { revocation } = body;
        const key = { authentic_source: body.authentic_source, vct: body.vct, document_id: revocation.id };
        await requireDocument(key);
        const reference = revocation.reference;
        if (reference) {
          authorizeSource(config, principal, reference.authentic_source, reference.vct);
          if (!(await documents.get(reference))) throw new DocumentNotFoundError('The replacement document (revocation.reference) does not exist; nothing was revoked', { ...reference });
        }
        const request = { revocation_id: revocation.id, reason: revocation.reason, reference };
        const at = now();
        const future = revocation.revoke_at !== undefined && revocation.revoke_at * 1000 > at.getTime();
        if (future || reference) {
          // In the revocation workflow: a future revoke_at waits on its durable timer; a replacement's
          // offer is started by the workflow once the old credentials are revoked (now, or then).
          const revokeAt = future ? new Date(revocation.revoke_at! * 1000) : at;
          const action = future ? 'document.revoke.schedule' : 'document.revoke';
          const scheduled = await revocations.schedule(key, request, revokeAt, (trx) => auditIn(req, res, principal, action, { ...key, revoke_at: revokeAt.toISOString(), replacement: reference?.document_id ?? null })(trx));
          if (!scheduled) {
            const existing = await revocations.get(key);
            if (existing?.state === 'revoked') throw alreadyRevoked(key);
            throw new ConflictError('A revocation of this document is already scheduled; cancel it first', { ...key, revoke_at: existing?.revoke_at ? Math.floor(existing.revoke_at.getTime() / 1000) : null });
          }
          const workflowId = revocationWorkflowId(key.authentic_source, key.vct, key.document_id);
          let handle;
          try {
            // The row is the guard: a workflow of an earlier, cancelled schedule that is still ending is replaced.
            handle = await temporal.workflow.start<RevocationWorkflow>(REVOCATION_WORKFLOW_TYPE, {
              taskQueue: config.env.TEMPORAL_TASK_QUEUE,
              workflowId,
              args: [
                {
                  authenticSource: key.authentic_source,
                  vct: key.vct,
                  documentId: key.document_id,
                  revokeAt: revokeAt.toISOString(),
                  notifySource: notifies(key.authentic_source),
                  ...(reference ? { replacement: { authenticSource: reference.authentic_source, vct: reference.vct, documentId: reference.document_id } } : {}),
                },
              ],
              workflowIdConflictPolicy: 'TERMINATE_EXISTING',
            });
          } catch (err) {
            await revocations.cancelScheduled(key);
            throw err;
          }
          const replacementOf = (r: NonNullable<Awaited<ReturnType<typeof handle.result>>['replacement']>) => ({
            authentic_source: r.authenticSource,
            vct: r.vct,
            document_id: r.documentId,
            offer_started: r.offer === 'offered' || r.offer === 'already_offered',
            offer: r.offer,
            offer_workflow_id: r.offerWorkflowId,
          });
          if (future) {
            const pending = reference ? { replacement: { ...reference, offer_started: false, offer: 'PENDING', offer_workflow_id: credentialOfferWorkflowId(reference.authentic_source, reference.vct, reference.document_id) } } : {};
            return { data: { status: 'scheduled' as const, revoke_at: revocation.revoke_at, workflow_id: workflowId, ...pending } };
          }
          // Now: the workflow revokes at once and starts the replacement's offer; the answer waits for it.
          const done = await handle.result();
          if (done.state !== 'REVOKED') throw alreadyRevoked(key);
          return { data: { status: 'revoked' as const, credentials_revoked: done.credentialsRevoked, workflow_id: workflowId, ...(done.replacement ? { replacement: replacementOf(done.replacement) } : {}) } };
        }
        let event: StatusEventRow | undefined;
        const revoked = await revocations.revoke(key, request, at, async (trx, row) => {
          await auditIn(req, res, principal, 'document.revoke', { ...key, replacement: null })(trx);
          event = await recordEvent(trx, key, 'document.revoked', row.credentials_revoked);
        });
        if (!revoked) throw alreadyRevoked(key);
        await report(event);
        await deps.cancelOffer(key);
        // A scheduled revocation this one overtook has nothing left to do.
        await temporal.workflow
          .getHandle(revocationWorkflowId(key.authentic_source, key.vct, key.document_id))
          .signal(cancelRevocationSignal)
          .catch(() => undefined);
        return { data: { status: 'revoked' as const, credentials_revoked: revoked.credentials_revoked } };
      },
    }),

    defineRoute({
      method: 'post',
      path: '/api/v1/document/revoke/cancel',
      operationId: 'cancelScheduledRevocation',
      summary: 'Cancel a scheduled revocation (revoke_at in the future) before it fires',
      description: 'Removes the scheduled revocation and ends its workflow; nothing is revoked. A revocation that has fired is ALREADY_REVOKED (409); a document without a scheduled revocation is NOT_FOUND.',
      tags: TAG,
      security: 'source',
      body: DocumentRef,
      response: StatusChangeResponse,
      errors: [400, 401, 403, 404, 409],
      handler: async ({ body, principal, req, res }) => {
        authorizeSource(config, principal, body.authentic_source, body.vct);
        const cancelled = await revocations.cancelScheduled(body, auditIn(req, res, principal, 'document.revoke.cancel', { ...body }));
        if (!cancelled) {
          const existing = await revocations.get(body);
          if (existing?.state === 'revoked') throw alreadyRevoked(body);
          throw new RouteNotFoundError('No scheduled revocation for this document', { ...body });
        }
        await temporal.workflow
          .getHandle(revocationWorkflowId(body.authentic_source, body.vct, body.document_id))
          .signal(cancelRevocationSignal)
          .catch(() => undefined);
        return { data: { status: 'cancelled' as const } };
      },
    }),

    defineRoute({
      method: 'post',
      path: '/api/v1/document/suspend',
      operationId: 'suspendDocument',
      summary: 'Suspend every credential issued from a document (Token Status List value 2, SUSPENDED)',
      description: 'Sets the Token Status List entries (dc+sd-jwt, mso_mdoc) of the document\'s credentials to SUSPENDED (draft-ietf-oauth-status-list §7.1, 0x02); POST /api/v1/document/reinstate sets them VALID again. A revoked document is ALREADY_REVOKED (409). W3C credentials issued to wallets (jwt_vc_json, ldp_vc) get their suspension bit set (Bitstring Status List §2.1, /status-lists/w3c/suspension/{n}), cleared again by reinstate; their revocation bit is untouched. W3C credentials issued before the suspension lists, and seed 001 credentials, have no suspension entry, so suspension does not reach them.',
      tags: TAG,
      security: 'source',
      body: DocumentRef,
      response: StatusChangeResponse,
      errors: [400, 401, 403, 404, 409],
      handler: async ({ body, principal, req, res }) => {
        authorizeSource(config, principal, body.authentic_source, body.vct);
        const { changed, event } = await changeStatus(body, StatusValue.Suspended, 'document.suspend', req, res, principal);
        await report(event);
        return { data: { status: 'suspended' as const, credentials_changed: changed } };
      },
    }),

    defineRoute({
      method: 'post',
      path: '/api/v1/document/reinstate',
      operationId: 'reinstateDocument',
      summary: 'Reinstate the suspended credentials of a document (status VALID again)',
      description: 'Sets suspended Token Status List entries of the document\'s credentials back to VALID (0x00). A revoked document is ALREADY_REVOKED (409): revocation is never undone.',
      tags: TAG,
      security: 'source',
      body: DocumentRef,
      response: StatusChangeResponse,
      errors: [400, 401, 403, 404, 409],
      handler: async ({ body, principal, req, res }) => {
        authorizeSource(config, principal, body.authentic_source, body.vct);
        const { changed, event } = await changeStatus(body, StatusValue.Valid, 'document.reinstate', req, res, principal);
        await report(event);
        return { data: { status: 'reinstated' as const, credentials_changed: changed } };
      },
    }),
  ];
}

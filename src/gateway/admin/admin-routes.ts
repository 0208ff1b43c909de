import { credentialOfferWorkflowId } from '../../../workflows/contracts/credential-offer';
import { z } from 'zod';
import type { ProcessFinder } from '../../admin/process-finder';
import type { OfferService } from '../../oid4vci/offer-service';
import { ConflictError, RouteNotFoundError } from '../api-errors';
import { type AnyRouteSpec, defineRoute } from '../route-registry';
import { FindProcessesQuery, FindProcessesResponse, OfferKeyBody, ProcessDetailResponse, ProcessParams, ProcessQuery } from './admin-schemas';

export interface AdminDeps {
  processes: ProcessFinder;
  /** Signals the document's offer workflow to cancel (src/main/issuer-parts.ts, the same as a document deletion does). */
  cancelOffer: (key: { authentic_source: string; vct: string; document_id: string }) => Promise<void>;
  /** Asks the document's offer workflow for a new PIN by e-mail (OfferService.resendPin). */
  resendPin: OfferService['resendPin'];
  /** Unlocks the document's LOCKED offer workflow (OfferService.unlock). */
  unlockOffer: OfferService['unlock'];
}

const TAG = ['Admin'];
/** States in which the offer workflow honours its `cancel` signal (workflows/credential-offer.ts). */
const CANCELLABLE = new Set(['OFFERED', 'REDEEMED', 'LOCKED']);

/**
 * The operator API (issue 21): find a holder's processes by business id, inspect one, act on it.
 * Admin tokens only (src/gateway/admin/admin-auth.ts); the gateway audits every call, naming the
 * action and the ids it touched (res.locals.auditAction / auditTarget).
 */
export function adminRoutes({ processes, cancelOffer, resendPin, unlockOffer }: AdminDeps): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/admin/v1/processes',
      operationId: 'adminFindProcesses',
      summary: 'Find processes by authentic source, vct, document id, state, kind and start time',
      description:
        'Role read. Backed by Temporal visibility and the search attributes AuthenticSource, Vct, DocumentId and ProcessState, limited to this deployment\'s task queue; filters combine with AND. Visibility is eventually consistent: a process started a moment ago may take a second to appear. Pages follow next_page_token.',
      tags: TAG,
      security: 'admin:read',
      query: FindProcessesQuery,
      response: FindProcessesResponse,
      errors: [400, 401, 403],
      handler: async ({ query, res }) => {
        const filter = {
          authenticSource: query.authentic_source,
          vct: query.vct,
          documentId: query.document_id,
          state: query.state,
          kind: query.kind,
          startedAfter: query.started_after ? new Date(query.started_after) : undefined,
          startedBefore: query.started_before ? new Date(query.started_before) : undefined,
        };
        res.locals.auditAction = 'admin.processes.find';
        res.locals.auditTarget = Object.fromEntries(Object.entries({ ...query, page_token: undefined, page_size: undefined }).filter(([, v]) => v !== undefined));
        return processes.find(filter, { pageSize: query.page_size, ...(query.page_token ? { pageToken: query.page_token } : {}) });
      },
    }),

    defineRoute({
      method: 'get',
      path: '/admin/v1/processes/:workflow_id',
      operationId: 'adminGetProcess',
      summary: 'One process: its state query, its timeline of business events, a Temporal UI link',
      description:
        'Role read. The workflow id is URL-encoded (offer/hr.example.org/urn:eudi:diploma:1/doc-1 becomes offer%2Fhr.example.org%2Furn%3Aeudi%3Adiploma%3A1%2Fdoc-1). The timeline is read from the workflow history and holds event names, states, counters and ids only.',
      tags: TAG,
      security: 'admin:read',
      params: ProcessParams,
      query: ProcessQuery,
      response: ProcessDetailResponse,
      errors: [400, 401, 403, 404],
      handler: async ({ params, query, res }) => {
        const workflowId = params.workflow_id!;
        res.locals.auditAction = 'admin.process.get';
        res.locals.auditTarget = { workflow_id: workflowId, ...(query.run_id ? { run_id: query.run_id } : {}) };
        const detail = await processes.get(workflowId, query.run_id);
        if (!detail) throw new RouteNotFoundError('No such process', { workflow_id: workflowId });
        return detail;
      },
    }),

    defineRoute({
      method: 'post',
      path: '/admin/v1/offers/cancel',
      operationId: 'adminCancelOffer',
      summary: 'Cancel a document\'s live credential offer',
      description:
        'Role operate. Signals the offer workflow offer/<authentic_source>/<vct>/<document_id> to cancel, as deleting the document does: the offer ends CANCELLED, its pre-authorized code and PIN stop working and the source\'s webhook is told. 404 when the document has no offer; 409 CONFLICT when the offer has ended or has already issued credentials.',
      tags: TAG,
      security: 'admin:operate',
      body: OfferKeyBody,
      response: ProcessDetailResponse,
      errors: [400, 401, 403, 404, 409],
      handler: async ({ body, res }) => {
        const workflowId = auditOfferAction(res, 'admin.offer.cancel', body);
        const before = await processes.get(workflowId);
        if (!before || before.kind !== 'offer') throw new RouteNotFoundError('This document has no offer', { workflow_id: workflowId });
        const state = (before.state_query as { state?: string } | null)?.state ?? before.state;
        if (before.status !== 'RUNNING' || !state || !CANCELLABLE.has(state)) throw new ConflictError(`The offer cannot be cancelled: it is ${state ?? before.status}`, { workflow_id: workflowId, state });
        await cancelOffer(body);
        return (await processes.get(workflowId, before.run_id)) ?? before;
      },
    }),

    defineRoute({
      method: 'post',
      path: '/admin/v1/offers/resend-pin',
      operationId: 'adminResendOfferPin',
      summary: "Re-send a live offer's PIN by e-mail",
      description:
        'Role operate. For a holder who lost the PIN: the offer workflow makes a new PIN and e-mails it; the previous PIN stops working, the wrong-PIN count starts again, and the pre-authorized code and deep link stay. The operator never sees a PIN. 404 when the document has no running offer; 409 CONFLICT when the offer was redeemed, has ended, takes no PIN, or hands its PINs to the authentic source (which re-sends through POST /api/v1/notification/resend-pin).',
      tags: TAG,
      security: 'admin:operate',
      body: OfferKeyBody,
      response: ResendPinAdminResponse,
      errors: [400, 401, 403, 404, 409],
      handler: async ({ body, res }) => {
        const workflowId = auditOfferAction(res, 'admin.offer.resend_pin', body);
        const resent = await resendPin(body, 'operator');
        if (resent === undefined) throw new RouteNotFoundError('This document has no running offer', { workflow_id: workflowId });
        if (resent === 'not_resendable') throw new ConflictError('The offer was redeemed, has ended, takes no PIN, or hands its PIN to its authentic source', { workflow_id: workflowId });
        return { workflow_id: workflowId, pin_generation: resent.pinGeneration, pin_delivery: resent.pinDelivery };
      },
    }),

    defineRoute({
      method: 'post',
      path: '/admin/v1/offers/unlock',
      operationId: 'adminUnlockOffer',
      summary: 'Unlock an offer locked by too many wrong PINs',
      description:
        'Role operate. The offer workflow resets its wrong-PIN count and is OFFERED again: the same pre-authorized code redeems with the right PIN, until the code expires. The PIN does not change (re-send it with POST /admin/v1/offers/resend-pin if the holder lost it; that lifts the lock too). 404 when the document has no running offer; 409 CONFLICT when the offer is not LOCKED (offers made before locked offers waited ended when they locked).',
      tags: TAG,
      security: 'admin:operate',
      body: OfferKeyBody,
      response: ProcessDetailResponse,
      errors: [400, 401, 403, 404, 409],
      handler: async ({ body, res }) => {
        const workflowId = auditOfferAction(res, 'admin.offer.unlock', body);
        const unlocked = await unlockOffer(body);
        if (unlocked === undefined) throw new RouteNotFoundError('This document has no running offer', { workflow_id: workflowId });
        if (unlocked === 'not_locked') throw new ConflictError('The offer is not locked', { workflow_id: workflowId });
        const detail = await processes.get(workflowId);
        if (!detail) throw new RouteNotFoundError('This document has no running offer', { workflow_id: workflowId });
        return detail;
      },
    }),
  ];
}

/** The offer workflow of the document `key` names, recorded as the audited call's action and target. */
function auditOfferAction(res: { locals: Record<string, unknown> }, action: string, key: { authentic_source: string; vct: string; document_id: string }): string {
  const workflowId = credentialOfferWorkflowId(key.authentic_source, key.vct, key.document_id);
  res.locals.auditAction = action;
  res.locals.auditTarget = { workflow_id: workflowId, authentic_source: key.authentic_source, vct: key.vct, document_id: key.document_id };
  return workflowId;
}

const ResendPinAdminResponse = z.object({ workflow_id: z.string(), pin_generation: z.number().int(), pin_delivery: z.enum(['email', 'authentic_source']) }).meta({ id: 'AdminResendPinResponse' });

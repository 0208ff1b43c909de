import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { offerQrDataUrl } from './offer-qr';
import { z } from 'zod';
import type { Config } from '../../config/config';
import type { RevocationsRepository } from '../../db/revocations-repository';
import { offerDeepLink } from '../../oid4vci/offer-preparation';
import type { OfferSecrets } from '../../oid4vci/offer-secrets';
import type { OfferService } from '../../oid4vci/offer-service';
import { BATCH_OFFER_WORKFLOW_TYPE, type BatchOfferWorkflow, batchOfferWorkflowId, batchStateQuery } from '../../../workflows/contracts/batch-offer';
import type { PinDelivery } from '../../../workflows/contracts/credential-offer';
import { AlreadyRevokedError, ConflictError, DocumentNotFoundError, DocumentNotValidError, ForbiddenError, RouteNotFoundError } from '../api-errors';
import { AuthenticSourceName, DocumentId, Vct } from '../datastore/datastore-schemas';
import { authorizeSource, type SourcePrincipal } from '../authenticate-source';
import { type AnyRouteSpec, defineRoute } from '../route-registry';

export const NotificationRequest = z
  .strictObject({
    authentic_source: AuthenticSourceName,
    vct: Vct,
    document_id: DocumentId,
    email: z.email().max(320).optional().meta({ description: 'Where the PIN goes; wins over the identities\' addresses' }),
  })
  .meta({ id: 'NotificationRequest' });

export const NotificationResponse = z
  .object({
    tx_code: z.string().optional().meta({ description: 'The PIN, only when the source delivers it itself (pin_delivery: authentic_source)' }),
    qr: z.object({
      base64_image: z.string().meta({ description: 'data:image/png;base64,... of the deep link' }),
      deep_link: z.string().meta({ description: 'openid-credential-offer://?credential_offer_uri=...' }),
    }),
  })
  .meta({ id: 'NotificationResponse' });

const ResendPinRequest = z
  .strictObject({
    authentic_source: z.string().min(1).max(256),
    vct: z.string().min(1).max(512),
    document_id: z.string().min(1).max(256),
  })
  .meta({ id: 'ResendPinRequest' });

const ResendPinResponse = z
  .object({
    pin_delivery: z.enum(['email', 'authentic_source']).meta({ description: 'Where the new PIN went' }),
    pin_generation: z.number().int().meta({ description: 'How many times the PIN was re-sent' }),
    tx_code: z.string().optional().meta({ description: 'The new PIN, when this source hands PINs on itself' }),
  })
  .meta({ id: 'ResendPinResponse' });

export const BatchNotificationRequest = z
  .strictObject({
    authentic_source: AuthenticSourceName,
    vct: Vct,
    document_ids: z.array(DocumentId).min(1).max(1000).refine((ids) => new Set(ids).size === ids.length, 'document ids must be unique'),
  })
  .meta({ id: 'BatchNotificationRequest' });

const BatchStatusResponse = z
  .object({
    data: z.object({
      batch_id: z.string(),
      workflow_id: z.string(),
      state: z.enum(['RUNNING', 'DONE']),
      total: z.number().int(),
      done: z.number().int(),
      documents: z.array(z.object({ document_id: z.string(), status: z.string(), deep_link: z.string().optional() })),
    }),
  })
  .meta({ id: 'BatchStatusResponse' });

/** Offers started at once by a batch: bounded, so a large batch cannot flood the workers. */
const BATCH_CONCURRENCY = 8;

export interface NotificationDeps {
  config: Config;
  secrets: OfferSecrets;
  offerService: OfferService;
  temporal: Client;
  /** A revoked document is not offered again (seed 000 revocation): the notification is ALREADY_REVOKED. */
  revocations?: Pick<RevocationsRepository, 'isRevoked' | 'revokedAmong'>;
}

/**
 * Seed 000 "Generate Credential Offer" and its batch form: offers start through the offer service
 * (one live offer per document), and the answer carries the deep link and its QR code.
 */
export function notificationRoutes({ config, secrets, offerService, temporal, revocations }: NotificationDeps): AnyRouteSpec[] {
  const qrFor = (offerId: string, pinDelivery: PinDelivery) => {
    const deepLink = offerDeepLink(config.issuerUrl, secrets, offerId);
    return {
      ...(pinDelivery === 'authentic_source' ? { tx_code: offerService.pinForSource(offerId) } : {}),
      qr: { base64_image: offerQrDataUrl(deepLink), deep_link: deepLink },
    };
  };

  const authorize = (principal: SourcePrincipal, source: string, vct: string) => authorizeSource(config, principal, source, vct);
  const sameSecret = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

  /** The batch workflow `batch/<key>`'s progress; `expectId`, when given, must be the id it was started with. */
  const batchView = async (key: string, expectId?: string) => {
    const workflowId = batchOfferWorkflowId(key);
    const status = await temporal.workflow.getHandle(workflowId).query(batchStateQuery);
    if (expectId !== undefined && !sameSecret(status.batchId, expectId)) throw new RouteNotFoundError('No such batch', { batch_id: expectId });
    return {
      data: {
        batch_id: status.batchId,
        workflow_id: workflowId,
        state: status.state,
        total: status.total,
        done: status.done,
        documents: status.documents.map((d) => ({ document_id: d.documentId, status: d.status, ...(d.offerId ? { deep_link: offerDeepLink(config.issuerUrl, secrets, d.offerId) } : {}) })),
      },
    };
  };

  return [
    defineRoute({
      method: 'post',
      path: '/api/v1/notification/batch',
      operationId: 'createCredentialOffers',
      summary: 'Generate credential offers for many documents (batch)',
      description:
        'Starts a durable batch workflow that starts one offer workflow per document, a bounded number at a time. The same set of documents maps to the same running batch, so a repeated request finds it (and its batch_id); batch ids carry 128 random bits and are readable only by the source that started them. Progress and deep links: GET /api/v1/notification/batch/{batch_id}. A batch naming a revoked document is ALREADY_REVOKED (409, `details.revoked_document_ids`) and starts nothing; a document revoked while the batch runs gets the status `already_revoked` and no offer.',
      tags: ['Issuance'],
      security: 'source',
      body: BatchNotificationRequest,
      response: BatchStatusResponse,
      errors: [400, 401, 403, 409],
      handler: async ({ body, principal }) => {
        authorize(principal, body.authentic_source, body.vct);
        // As the single notification: a revoked document's credentials are not offered again.
        const revoked = (await revocations?.revokedAmong(body.authentic_source, body.vct, body.document_ids)) ?? [];
        if (revoked.length > 0) throw new AlreadyRevokedError(`${revoked.length} of the documents are revoked; their credentials are not offered again, and no batch was started`, { authentic_source: body.authentic_source, vct: body.vct, revoked_document_ids: revoked });
        // The workflow id is the business key (same documents, same running batch); the batch id the
        // source gets adds 128 random bits, so knowing a source's document ids does not give its batch.
        const digest = createHash('sha256').update(JSON.stringify([body.authentic_source, body.vct, [...body.document_ids].sort()])).digest('base64url').slice(0, 22);
        const key = `${body.authentic_source}.${digest}`;
        const batchId = `${key}.${randomBytes(16).toString('base64url')}`;
        await temporal.workflow.start<BatchOfferWorkflow>(BATCH_OFFER_WORKFLOW_TYPE, {
          taskQueue: config.env.TEMPORAL_TASK_QUEUE,
          workflowId: batchOfferWorkflowId(key),
          args: [{ batchId, authenticSource: body.authentic_source, vct: body.vct, documentIds: body.document_ids, concurrency: BATCH_CONCURRENCY }],
          workflowIdConflictPolicy: 'USE_EXISTING',
        });
        // A repeat while the batch runs finds the first request's workflow, and so its batch id.
        return batchView(key);
      },
    }),

    defineRoute({
      method: 'get',
      path: '/api/v1/notification/batch/:batchId',
      operationId: 'getCredentialOfferBatch',
      summary: 'Progress of a batch of credential offers, with each document\'s deep link',
      tags: ['Issuance'],
      security: 'source',
      params: z.object({ batchId: z.string().regex(/^[A-Za-z0-9._-]{1,300}$/) }),
      response: BatchStatusResponse,
      errors: [401, 403, 404],
      handler: async ({ params, principal }) => {
        const batchId = params.batchId!;
        // `<source>.<digest>.<random>`: the source by exact identity (OWASP API1:2023), never by prefix.
        const parsed = /^(.+)\.([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{22}$/.exec(batchId);
        if (!parsed || parsed[1] !== principal.source) throw new RouteNotFoundError('No such batch', { batch_id: batchId });
        try {
          return await batchView(`${parsed[1]}.${parsed[2]}`, batchId);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) throw new RouteNotFoundError('No such batch', { batch_id: batchId });
          throw err;
        }
      },
    }),

    defineRoute({
      method: 'post',
      path: '/api/v1/notification',
      operationId: 'createCredentialOffer',
      summary: 'Get a QR code and deep link for credential pickup',
      description: 'Starts (or finds) the durable offer workflow `offer/<authentic_source>/<vct>/<document_id>`; the PIN goes by e-mail when the configuration requires one.',
      tags: ['Issuance'],
      security: 'source',
      body: NotificationRequest,
      response: NotificationResponse,
      errors: [400, 401, 403, 404, 409],
      handler: async ({ body, principal }) => {
        authorize(principal, body.authentic_source, body.vct);
        const key = { authentic_source: body.authentic_source, vct: body.vct, document_id: body.document_id };
        if (await revocations?.isRevoked(key)) throw new AlreadyRevokedError('The document is revoked; its credentials are not offered again', { ...key });
        const started = await offerService.start(key, body.email);
        if (started.ok) return qrFor(started.offerId, started.pinDelivery);
        switch (started.reason) {
          case 'document_not_found':
            throw new DocumentNotFoundError('No document found with the specified ID', { ...key });
          case 'document_not_valid':
            throw new DocumentNotValidError('The document is outside its validity period and is not offered', { ...key });
          case 'flow_disabled':
            throw new ForbiddenError('The pre-authorized code flow is disabled in this configuration');
          case 'closing':
            throw new ConflictError("The document's previous offer was just closing; repeat the request", { ...key });
        }
      },
    }),

    defineRoute({
      method: 'post',
      path: '/api/v1/notification/resend-pin',
      operationId: 'resendCredentialOfferPin',
      summary: "Re-send the PIN of a document's open credential offer",
      description:
        "For a holder who lost the PIN: the offer workflow makes a new PIN (the previous one stops working), starts the wrong-PIN count again and keeps the pre-authorized code and deep link. The new PIN goes by e-mail, or, when this source hands PINs on itself (pin_delivery authentic_source), comes back as tx_code. 404 DOCUMENT_NOT_FOUND when the document has no running offer; 409 CONFLICT when its offer was redeemed, has ended or takes no PIN.",
      tags: ['Issuance'],
      security: 'source',
      body: ResendPinRequest,
      response: ResendPinResponse,
      errors: [400, 401, 403, 404, 409],
      handler: async ({ body, principal, res }) => {
        authorize(principal, body.authentic_source, body.vct);
        const key = { authentic_source: body.authentic_source, vct: body.vct, document_id: body.document_id };
        res.locals.auditAction = 'notification.resend_pin';
        res.locals.auditTarget = { ...key };
        const resent = await offerService.resendPin(key, 'authentic_source');
        if (resent === undefined) throw new DocumentNotFoundError('The document has no running credential offer', { ...key });
        if (resent === 'not_resendable') throw new ConflictError("The document's offer was redeemed, has ended or takes no PIN: nothing to re-send", { ...key });
        return { pin_delivery: resent.pinDelivery, pin_generation: resent.pinGeneration, ...(resent.pin ? { tx_code: resent.pin } : {}) };
      },
    }),
  ];
}

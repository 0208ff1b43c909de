import { randomBytes } from 'node:crypto';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import QRCode from 'qrcode';
import { z } from 'zod';
import type { Config } from '../../config/config';
import type { DocumentsRepository } from '../../db/documents-repository';
import type { OffersRepository } from '../../db/offers-repository';
import type { OfferSecrets } from '../../oid4vci/offer-secrets';
import { type CredentialOfferInput, credentialOfferWorkflow, credentialOfferWorkflowId, offerStateQuery } from '../../../workflows/credential-offer';
import { DocumentNotFoundError, DocumentNotValidError, ForbiddenError } from '../api-errors';
import { AuthenticSourceName, DocumentId, Vct } from '../datastore/datastore-schemas';
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
    qr: z.object({
      base64_image: z.string().meta({ description: 'data:image/png;base64,... of the deep link' }),
      deep_link: z.string().meta({ description: 'openid-credential-offer://?credential_offer_uri=...' }),
    }),
  })
  .meta({ id: 'NotificationResponse' });

const MAX_PIN_ATTEMPTS = 5;
const ISSUANCE_WINDOW_SECONDS = 600;

export interface NotificationDeps {
  config: Config;
  documents: DocumentsRepository;
  offers: OffersRepository;
  secrets: OfferSecrets;
  temporal: Client;
}

/**
 * Seed 000 "Generate Credential Offer": starts the document's offer workflow, or finds the one
 * already running (its id is the business key, so a repeated call never makes a second live
 * offer), and answers with the deep link and its QR code.
 */
export function notificationRoutes({ config, documents, offers, secrets, temporal }: NotificationDeps): AnyRouteSpec[] {
  const { pre_authorized_code: preAuth } = config.file.issuer;

  const qrFor = async (offerId: string) => {
    const deepLink = `openid-credential-offer://?credential_offer_uri=${encodeURIComponent(`${config.issuerUrl}/offers/${offerId}`)}`;
    return { qr: { base64_image: await QRCode.toDataURL(deepLink, { errorCorrectionLevel: 'M' }), deep_link: deepLink } };
  };

  /** The offer id of the document's running offer workflow, if there is one. */
  const runningOffer = async (workflowId: string): Promise<string | undefined> => {
    try {
      const handle = temporal.workflow.getHandle(workflowId);
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') return undefined;
      return (await handle.query(offerStateQuery)).offerId;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  };

  return [
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
      handler: async ({ body }) => {
        const key = { authentic_source: body.authentic_source, vct: body.vct, document_id: body.document_id };
        const doc = await documents.get(key);
        if (!doc) throw new DocumentNotFoundError('No document found with the specified ID', { ...key });
        const now = Math.floor(Date.now() / 1000);
        const { credential_valid_from: from, credential_valid_to: to } = doc.meta;
        if ((to !== undefined && to <= now) || (from !== undefined && from > now + preAuth.code_ttl)) {
          throw new DocumentNotValidError('The document is outside its validity period and is not offered', { ...key, credential_valid_from: from ?? null, credential_valid_to: to ?? null });
        }
        if (!preAuth.enabled) throw new ForbiddenError('The pre-authorized code flow is disabled in this configuration');

        const workflowId = credentialOfferWorkflowId(body.authentic_source, body.vct, body.document_id);
        const existing = await runningOffer(workflowId);
        if (existing) return qrFor(existing);

        const offerId = randomBytes(16).toString('base64url');
        await offers.create({
          offer_id: offerId,
          workflow_id: workflowId,
          authentic_source: key.authentic_source,
          vct: key.vct,
          document_id: key.document_id,
          code_hash: secrets.codeHash(secrets.preAuthorizedCode(offerId)),
          tx_code_required: preAuth.pin_required,
          email: body.email ?? null,
          expires_at: new Date(Date.now() + preAuth.code_ttl * 1000),
        });
        const input: CredentialOfferInput = {
          offerId,
          authenticSource: key.authentic_source,
          vct: key.vct,
          documentId: key.document_id,
          codeTtlSeconds: preAuth.code_ttl,
          pinRequired: preAuth.pin_required,
          maxPinAttempts: MAX_PIN_ATTEMPTS,
          issuanceWindowSeconds: ISSUANCE_WINDOW_SECONDS,
        };
        // A concurrent request may have started the workflow first: then its offer is the one.
        const handle = await temporal.workflow.start(credentialOfferWorkflow, { taskQueue: config.env.TEMPORAL_TASK_QUEUE, workflowId, args: [input], workflowIdConflictPolicy: 'USE_EXISTING' });
        const live = (await handle.query(offerStateQuery)).offerId;
        if (live !== offerId) await offers.remove(offerId);
        return qrFor(live);
      },
    }),
  ];
}

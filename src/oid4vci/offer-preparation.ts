import { createHash, randomBytes } from 'node:crypto';
import { type Config, sourceByName } from '../config/config';
import type { DocumentContent, DocumentKey, DocumentsRepository } from '../db/documents-repository';
import type { OffersRepository } from '../db/offers-repository';
import type { WebhookOutbox } from '../db/webhook-outbox-repository';
import { offerCreatedEvent } from '../webhooks/offer-events';
import type { PreparedOffer } from '../../workflows/contracts/batch-offer';
import { credentialOfferWorkflowId, OFFER_INPUT_REVISION, type PinDelivery } from '../../workflows/contracts/credential-offer';
import type { OfferSecrets } from './offer-secrets';

export const ISSUANCE_WINDOW_SECONDS = 600;


export interface OfferPreparationDeps {
  config: Config;
  documents: DocumentsRepository;
  offers: OffersRepository;
  secrets: OfferSecrets;
  /** Where the `credential_offer.created` event is recorded, in the offer's own transaction. */
  outbox: Pick<WebhookOutbox, 'record' | 'wants'>;
}

const canonicalJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
};

/**
 * SHA-256 of what a credential of the document says (its data, data version and validity), in a
 * canonical JSON form. An offer records it at preparation and issuance refuses a document whose
 * content changed since, so a re-upload never changes what a holder picks up under an old offer.
 * Identities are left out: they choose who may collect, not what the credential says.
 */
export const offeredContentHash = (doc: DocumentContent): string =>
  createHash('sha256')
    .update(
      canonicalJson({
        vct: doc.meta.vct,
        document_data: doc.document_data,
        document_data_version: doc.document_data_version,
        credential_valid_from: doc.meta.credential_valid_from,
        credential_valid_to: doc.meta.credential_valid_to,
      }),
    )
    .digest('hex');

/**
 * Checks that a document may be offered now (it exists and is within credential_valid_from/to) and
 * records a new offer for it: the id, the hashes of its derived pre-authorized code and offer URI
 * token, the hash of the document content it offers, and the e-mail override. Returns the offer
 * workflow's input (ids and settings, no secret). Shared by the single and the batch notification.
 */
/** `replaces`: the revoked document this offer replaces (the revocation workflow's replacement offer). */
export async function prepareOffer({ config, documents, offers, secrets, outbox }: OfferPreparationDeps, key: DocumentKey, email?: string, replaces?: DocumentKey): Promise<PreparedOffer> {
  const { pre_authorized_code: preAuth } = config.file.issuer;
  if (!preAuth.enabled) return { ok: false, reason: 'flow_disabled' };
  const doc = await documents.content(key);
  if (!doc) return { ok: false, reason: 'document_not_found' };
  const now = Math.floor(Date.now() / 1000);
  const { credential_valid_from: from, credential_valid_to: to } = doc.meta;
  if ((to !== undefined && to <= now) || (from !== undefined && from > now + preAuth.code_ttl)) return { ok: false, reason: 'document_not_valid' };
  const offerId = randomBytes(16).toString('base64url');
  const source = sourceByName(config, key.authentic_source);
  const pinDelivery: PinDelivery = !preAuth.pin_required ? 'none' : source?.pin_delivery === 'authentic_source' ? 'authentic_source' : 'email';
  const expiresAt = new Date(Date.now() + preAuth.code_ttl * 1000);
  const workflowId = credentialOfferWorkflowId(key.authentic_source, key.vct, key.document_id);
  const created = offerCreatedEvent({ offer_id: offerId, workflow_id: workflowId, ...key, expires_at: expiresAt });
  await offers.create(
    {
    offer_id: offerId,
    workflow_id: workflowId,
    ...key,
    code_hash: secrets.codeHash(secrets.preAuthorizedCode(offerId)),
    uri_token_hash: secrets.uriTokenHash(secrets.offerUriToken(offerId)),
    document_hash: offeredContentHash(doc),
    tx_code_required: preAuth.pin_required,
    pin_delivery: pinDelivery,
    email: email ?? null,
    expires_at: expiresAt,
    ...(replaces ? { replaces } : {}),
    },
    // The event in the offer's transaction: recorded if and only if the offer is (no transaction when nobody subscribes).
    outbox.wants(created) ? async (trx) => void (await outbox.record(trx, created)) : undefined,
  );
  return {
    ok: true,
    input: {
      offerId,
      authenticSource: key.authentic_source,
      vct: key.vct,
      documentId: key.document_id,
      codeTtlSeconds: preAuth.code_ttl,
      expiresAt: expiresAt.toISOString(),
      pinRequired: preAuth.pin_required,
      maxPinAttempts: preAuth.max_pin_attempts,
      pinByEmail: pinDelivery === 'email',
      notifySource: source?.notification_endpoint !== undefined,
      issuanceWindowSeconds: ISSUANCE_WINDOW_SECONDS,
      maxCredentials: preAuth.max_credentials_per_offer,
      ...interactionOf(config, key.vct),
      ...(replaces ? { replaces: { authenticSource: replaces.authentic_source, vct: replaces.vct, documentId: replaces.document_id } } : {}),
      revision: OFFER_INPUT_REVISION,
    },
  };
}

/**
 * The deep link wallets open (OpenID4VCI 1.0 §4.1.3, offer by reference). Its URI carries the
 * offer's URI token, derived here from the offer id with the server key: the link is made where it
 * is answered (gateway) and never passes through Temporal.
 */
export const offerDeepLink = (issuerUrl: string, secrets: Pick<OfferSecrets, 'offerUriToken'>, offerId: string) =>
  `openid-credential-offer://?credential_offer_uri=${encodeURIComponent(`${issuerUrl}/offers/${secrets.offerUriToken(offerId)}`)}`;

/** The offer input's `interaction` for a type with a seed 002 interaction (docs/conventions.md, Interactions). */
function interactionOf(config: Config, vct: string): { interaction?: { callbackTimeoutSeconds: number; intervalSeconds: number } } {
  const interaction = config.credentialTypes.get(vct)?.interaction;
  return interaction ? { interaction: { callbackTimeoutSeconds: interaction.callback_timeout, intervalSeconds: interaction.interval } } : {};
}

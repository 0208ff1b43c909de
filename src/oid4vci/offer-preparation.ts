import { randomBytes } from 'node:crypto';
import type { Config } from '../config/config';
import type { DocumentKey, DocumentsRepository } from '../db/documents-repository';
import type { OffersRepository } from '../db/offers-repository';
import { type CredentialOfferInput, credentialOfferWorkflowId } from '../../workflows/credential-offer';
import type { OfferSecrets } from './offer-secrets';

const ISSUANCE_WINDOW_SECONDS = 600;

export type PreparedOffer = { ok: true; input: CredentialOfferInput } | { ok: false; reason: 'document_not_found' | 'document_not_valid' | 'flow_disabled' };

export interface OfferPreparationDeps {
  config: Config;
  documents: DocumentsRepository;
  offers: OffersRepository;
  secrets: OfferSecrets;
}

/**
 * Checks that a document may be offered now (it exists and is within credential_valid_from/to) and
 * records a new offer for it: the id, the hash of its derived pre-authorized code, and the e-mail
 * override. Returns the offer workflow's input. Shared by the single and the batch notification.
 */
export async function prepareOffer({ config, documents, offers, secrets }: OfferPreparationDeps, key: DocumentKey, email?: string): Promise<PreparedOffer> {
  const { pre_authorized_code: preAuth } = config.file.issuer;
  if (!preAuth.enabled) return { ok: false, reason: 'flow_disabled' };
  const doc = await documents.get(key);
  if (!doc) return { ok: false, reason: 'document_not_found' };
  const now = Math.floor(Date.now() / 1000);
  const { credential_valid_from: from, credential_valid_to: to } = doc.meta;
  if ((to !== undefined && to <= now) || (from !== undefined && from > now + preAuth.code_ttl)) return { ok: false, reason: 'document_not_valid' };
  const offerId = randomBytes(16).toString('base64url');
  const workflowId = credentialOfferWorkflowId(key.authentic_source, key.vct, key.document_id);
  await offers.create({
    offer_id: offerId,
    workflow_id: workflowId,
    ...key,
    code_hash: secrets.codeHash(secrets.preAuthorizedCode(offerId)),
    tx_code_required: preAuth.pin_required,
    email: email ?? null,
    expires_at: new Date(Date.now() + preAuth.code_ttl * 1000),
  });
  const source = config.file.authentic_sources[key.authentic_source];
  return {
    ok: true,
    input: {
      offerId,
      authenticSource: key.authentic_source,
      vct: key.vct,
      documentId: key.document_id,
      codeTtlSeconds: preAuth.code_ttl,
      pinRequired: preAuth.pin_required,
      maxPinAttempts: preAuth.max_pin_attempts,
      pinByEmail: preAuth.pin_required && source?.pin_delivery !== 'authentic_source',
      notifySource: source?.notification_endpoint !== undefined,
      issuanceWindowSeconds: ISSUANCE_WINDOW_SECONDS,
    },
  };
}

/** The deep link wallets open (OpenID4VCI 1.0 §4.1.3, offer by reference). */
export const offerDeepLink = (issuerUrl: string, offerId: string) => `openid-credential-offer://?credential_offer_uri=${encodeURIComponent(`${issuerUrl}/offers/${offerId}`)}`;

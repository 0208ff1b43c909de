import { ApplicationFailure, Context } from '@temporalio/activity';
import type { DocumentsRepository } from '../src/db/documents-repository';
import type { OffersRepository } from '../src/db/offers-repository';
import type { WebhookOutbox } from '../src/db/webhook-outbox-repository';
import type { RevocationsRepository } from '../src/db/revocations-repository';
import type { Config } from '../src/config/config';
import { offersEnded } from '../src/metrics/metrics';
import { prepareOffer } from '../src/oid4vci/offer-preparation';
import type { PreparedBatchOffer } from '../workflows/contracts/batch-offer';
import type { OfferSecrets } from '../src/oid4vci/offer-secrets';
import { offerEndEventId, type OfferState } from '../workflows/contracts/credential-offer';

export interface OfferActivityDeps {
  config: Config;
  offers: OffersRepository;
  documents: DocumentsRepository;
  secrets: OfferSecrets;
  /** The webhook outbox and ordering ledger (migration 0021). */
  outbox: WebhookOutbox;
  /** A revoked document gets no new offer (seed 000 revocation), in a batch as in a single notification. */
  revocations: RevocationsRepository;
  sendPinEmail: (input: { to: string; pin: string; reference: string; idempotencyKey: string }) => Promise<{ messageId: string }>;
}

export const createOfferActivities = ({ config, offers, documents, secrets, revocations, sendPinEmail, outbox }: OfferActivityDeps) => ({
  /**
   * Records a new offer for one document of a batch (see prepareOffer); the batch workflow then
   * starts it. A document revoked since the batch request is `already_revoked`: no offer is recorded.
   */
  async prepareBatchOffer({ authenticSource, vct, documentId }: { authenticSource: string; vct: string; documentId: string }): Promise<PreparedBatchOffer> {
    const key = { authentic_source: authenticSource, vct, document_id: documentId };
    if (await revocations.isRevoked(key)) return { ok: false, reason: 'already_revoked' };
    return prepareOffer({ config, documents, offers, secrets, outbox }, key);
  },

  /**
   * E-mails the offer's PIN (tx_code) to the holder: the address the notification request gave,
   * else the first identity of the document that has one (docs/conventions.md, the credential offer). The PIN is derived,
   * so a retry sends the same PIN, and the message id is the same for the same workflow step. The
   * mail carries the PIN and a short non-secret reference only: never the offer id, the link or
   * anything that yields the pre-authorized code, so the mailbox alone holds one factor, not both.
   */
  async sendOfferPin({ offerId, generation = 0 }: { offerId: string; generation?: number }): Promise<void> {
    const offer = await offers.byId(offerId);
    if (!offer) throw ApplicationFailure.nonRetryable(`offer ${offerId} not found`, 'OfferNotFound');
    let to = offer.email ?? undefined;
    if (!to) {
      const doc = await documents.get({ authentic_source: offer.authentic_source, vct: offer.vct, document_id: offer.document_id });
      const withEmail = doc?.identities.find((i) => typeof i.email === 'string');
      to = withEmail?.email as string | undefined;
    }
    if (!to) throw ApplicationFailure.nonRetryable('no e-mail address for the PIN: give `email` in the notification or on an identity', 'NoRecipient');
    const workflowId = Context.current().info.workflowExecution?.workflowId ?? 'offer';
    const pin = secrets.pin(offerId, config.file.issuer.pre_authorized_code.pin_length, generation);
    // One message per PIN generation: a retry sends the same one, a re-send a new one.
    await sendPinEmail({ to, pin, reference: secrets.offerReference(offerId), idempotencyKey: `${workflowId}/${offerId}/email-pin${generation > 0 ? `/${generation}` : ''}` });
  },

  /** A re-sent PIN's generation, recorded before the mail goes: from now on the gateway checks the new PIN. */
  async recordPinGeneration({ offerId, generation }: { offerId: string; generation: number }): Promise<void> {
    await offers.setPinGeneration(offerId, generation);
  },

  /** Records how the offer ended, so /token and /offers answer without asking Temporal. */
  async closeOffer({ offerId, state }: { offerId: string; state: OfferState }): Promise<void> {
    const offer = await offers.byId(offerId);
    // The end event's deliveries (started by the workflow) take their place in the document's order, after every earlier event.
    await offers.close(offerId, state, offer ? (trx) => outbox.recordOrdered(trx, { id: offerEndEventId(offerId, state), type: `credential_offer.${state.toLowerCase()}`, authentic_source: offer.authentic_source, vct: offer.vct, document_id: offer.document_id }) : undefined);
    offersEnded.inc({ state });
  },
});

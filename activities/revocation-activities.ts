import type { DocumentKey } from '../src/db/documents-repository';
import type { WebhookOutbox } from '../src/db/webhook-outbox-repository';
import type { RevocationsRepository } from '../src/db/revocations-repository';
import { type StatusEventsRepository, statusWebhookEvent } from '../src/db/status-events-repository';
import type { WebhookEvent } from '../workflows/contracts/webhook-delivery';
import type { PreparedBatchOffer } from '../workflows/contracts/batch-offer';
import type { OfferDocumentRef } from '../workflows/contracts/credential-offer';
import { type OfferPreparationDeps, prepareOffer } from '../src/oid4vci/offer-preparation';

export interface RevocationActivityDeps extends OfferPreparationDeps {
  revocations: RevocationsRepository;
  statusEvents: StatusEventsRepository;
  /** The whole outbox, as the other activities take it (a replacement offer records its created event). */
  outbox: WebhookOutbox;
}

export const createRevocationActivities = ({ revocations, statusEvents, ...offerDeps }: RevocationActivityDeps) => ({
  /**
   * Records the offer of a revocation's replacement document, which names the document it replaces
   * (credential_offers.replaces); the revocation workflow then starts it. A replacement that is
   * itself revoked is `already_revoked`: no offer.
   */
  async prepareReplacementOffer({ replacement, replaces }: { replacement: OfferDocumentRef; replaces: OfferDocumentRef }): Promise<PreparedBatchOffer> {
    const key = { authentic_source: replacement.authenticSource, vct: replacement.vct, document_id: replacement.documentId };
    if (await revocations.isRevoked(key)) return { ok: false, reason: 'already_revoked' };
    return prepareOffer(offerDeps, key, undefined, { authentic_source: replaces.authenticSource, vct: replaces.vct, document_id: replaces.documentId });
  },

  /**
   * The scheduled revocation of a document fires: its credentials' status-list entries become
   * INVALID in one transaction with the revocation record. Idempotent: a retry, a cancelled
   * revocation or one done meanwhile by an immediate request finds nothing scheduled (`revoked: false`).
   */
  async fireScheduledRevocation(key: DocumentKey): Promise<{ revoked: boolean; credentialsRevoked: number; event?: WebhookEvent }> {
    let event: WebhookEvent | undefined;
    const at = new Date();
    const row = await revocations.fireScheduled(key, at, async (trx, revoked) => {
      // The status event for the source's webhook, in the same transaction (ids and counts only);
      // the revocation workflow starts its delivery as a child, durably, so it is no outbox work.
      event = statusWebhookEvent(await statusEvents.record(trx, key, 'document.revoked', revoked.credentials_revoked, at, { deliveriesStarted: true }));
    });
    return row ? { revoked: true, credentialsRevoked: row.credentials_revoked, ...(event ? { event } : {}) } : { revoked: false, credentialsRevoked: 0 };
  },
});

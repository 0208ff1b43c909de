import type { DocumentKey } from '../src/db/documents-repository';
import type { RevocationsRepository } from '../src/db/revocations-repository';
import { type StatusEventsRepository, statusWebhookEvent } from '../src/db/status-events-repository';
import type { WebhookEvent } from '../workflows/contracts/webhook-delivery';

export interface RevocationActivityDeps {
  revocations: RevocationsRepository;
  statusEvents: StatusEventsRepository;
}

export const createRevocationActivities = ({ revocations, statusEvents }: RevocationActivityDeps) => ({
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

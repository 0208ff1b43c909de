import type { DocumentKey } from '../src/db/documents-repository';
import type { RevocationsRepository } from '../src/db/revocations-repository';

export interface RevocationActivityDeps {
  revocations: RevocationsRepository;
}

export const createRevocationActivities = ({ revocations }: RevocationActivityDeps) => ({
  /**
   * The scheduled revocation of a document fires: its credentials' status-list entries become
   * INVALID in one transaction with the revocation record. Idempotent: a retry, a cancelled
   * revocation or one done meanwhile by an immediate request finds nothing scheduled (`revoked: false`).
   */
  async fireScheduledRevocation(key: DocumentKey): Promise<{ revoked: boolean; credentialsRevoked: number }> {
    const row = await revocations.fireScheduled(key, new Date());
    return row ? { revoked: true, credentialsRevoked: row.credentials_revoked } : { revoked: false, credentialsRevoked: 0 };
  },
});

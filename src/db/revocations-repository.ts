import type { DocumentKey } from './documents-repository';
import { type Db, preparedQuery } from './knex';
import { type StatusListsRepository, StatusValue } from './status-lists-repository';

export interface DocumentRevocation extends DocumentKey {
  revocation_id: string;
  state: 'scheduled' | 'revoked';
  reason: string | null;
  /** The replacement document (seed 000 `revocation.reference`), if any. */
  reference: DocumentKey | null;
  revoke_at: Date | null;
  revoked_at: Date | null;
  credentials_revoked: number;
}

export interface RevocationRequest {
  revocation_id: string;
  reason?: string | undefined;
  reference?: DocumentKey | undefined;
}

/**
 * Revocation of documents (migration 0015 `document_revocations`): the record that a document is
 * revoked (or will be, at `revoke_at`), and the status flip of every credential issued from it, in
 * one transaction, so a document is either revoked with all its credentials or not at all. The row
 * is the one truth a scheduled revocation and its cancellation race on: whichever commits first wins.
 */
export function createRevocationsRepository(db: Db, statusLists: Pick<StatusListsRepository, 'setDocumentStatus' | 'announceChange'>) {
  const flip = async (trx: Db, key: DocumentKey): Promise<DocumentRevocation> => {
    const changed = await statusLists.setDocumentStatus(trx, key, StatusValue.Invalid);
    const [row] = (await trx('document_revocations').where(key).update({ credentials_revoked: changed }).returning('*')) as DocumentRevocation[];
    return row!;
  };
  const referenceJson = (r: RevocationRequest) => (r.reference ? JSON.stringify(r.reference) : null);

  return {
    async get(key: DocumentKey): Promise<DocumentRevocation | undefined> {
      return (await db('document_revocations').where(key).first()) as DocumentRevocation | undefined;
    },

    async isRevoked(key: DocumentKey): Promise<boolean> {
      const rows = await preparedQuery(db, 'document-revoked', "select 1 from document_revocations where authentic_source = $1 and vct = $2 and document_id = $3 and state = 'revoked' limit 1", [key.authentic_source, key.vct, key.document_id]);
      return rows.length > 0;
    },

    /** The ones of `documentIds` (of one source and vct) that are revoked, in the order given. */
    async revokedAmong(authenticSource: string, vct: string, documentIds: string[]): Promise<string[]> {
      const rows = (await db('document_revocations').where({ authentic_source: authenticSource, vct, state: 'revoked' }).whereIn('document_id', documentIds).select('document_id')) as { document_id: string }[];
      const revoked = new Set(rows.map((r) => r.document_id));
      return documentIds.filter((id) => revoked.has(id));
    },

    /**
     * Revokes the document's credentials now and records it (a scheduled revocation of it becomes
     * this one); `undefined` when it was already revoked (nothing changes then). `inTransaction`
     * runs inside the same transaction (the audit entry).
     */
    async revoke(key: DocumentKey, request: RevocationRequest, at: Date, inTransaction?: (trx: Db, row: DocumentRevocation) => Promise<void>): Promise<DocumentRevocation | undefined> {
      const row = await db.transaction(async (trx) => {
        const values = { revocation_id: request.revocation_id, state: 'revoked', reason: request.reason ?? null, reference: referenceJson(request), revoked_at: at };
        const upserted = (await trx('document_revocations')
          .insert({ ...key, ...values })
          .onConflict(['authentic_source', 'vct', 'document_id'])
          .merge(values)
          .where('document_revocations.state', 'scheduled')
          .returning('*')) as DocumentRevocation[];
        if (upserted.length === 0) return undefined;
        const revoked = await flip(trx, key);
        await inTransaction?.(trx, revoked);
        return revoked;
      });
      if (row) await statusLists.announceChange();
      return row;
    },

    /** Records a revocation for `revokeAt`; `undefined` when the document already has one (scheduled or done). */
    async schedule(key: DocumentKey, request: RevocationRequest, revokeAt: Date, inTransaction?: (trx: Db, row: DocumentRevocation) => Promise<void>): Promise<DocumentRevocation | undefined> {
      return db.transaction(async (trx) => {
        const [row] = (await trx('document_revocations')
          .insert({ ...key, revocation_id: request.revocation_id, state: 'scheduled', reason: request.reason ?? null, reference: referenceJson(request), revoke_at: revokeAt })
          .onConflict(['authentic_source', 'vct', 'document_id'])
          .ignore()
          .returning('*')) as DocumentRevocation[];
        if (row) await inTransaction?.(trx, row);
        return row;
      });
    },

    /** The scheduled revocation fires: revokes the credentials, unless it was cancelled or already done (`undefined`). */
    async fireScheduled(key: DocumentKey, at: Date, inTransaction?: (trx: Db, row: DocumentRevocation) => Promise<void>): Promise<DocumentRevocation | undefined> {
      const row = await db.transaction(async (trx) => {
        const updated = await trx('document_revocations').where({ ...key, state: 'scheduled' }).update({ state: 'revoked', revoked_at: at });
        if (updated === 0) return undefined;
        const revoked = await flip(trx, key);
        await inTransaction?.(trx, revoked);
        return revoked;
      });
      // Also on a retry that finds the revocation done: the announcement of the first attempt may be what failed.
      await statusLists.announceChange();
      return row;
    },

    /** Cancels a scheduled revocation; `undefined` when none is scheduled (none at all, or already revoked). */
    async cancelScheduled(key: DocumentKey, inTransaction?: (trx: Db) => Promise<void>): Promise<DocumentRevocation | undefined> {
      return db.transaction(async (trx) => {
        const [row] = (await trx('document_revocations').where({ ...key, state: 'scheduled' }).delete().returning('*')) as DocumentRevocation[];
        if (row) await inTransaction?.(trx);
        return row;
      });
    },
  };
}

export type RevocationsRepository = ReturnType<typeof createRevocationsRepository>;

import type { Db } from './knex';

export interface W3cCredentialRecord {
  id: string;
  credential_id: string;
  credential_type: string;
  recipient_did: string;
  onboarding_id: string | null;
  client: string;
  status_list_index: number;
  valid_from: Date;
  valid_until: Date;
  data: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

export function createW3cCredentialsRepository(db: Db) {
  return {
    /** Runs `work` in one transaction (a status change with its audit entry). */
    transaction: <T>(work: (trx: Db) => Promise<T>): Promise<T> => db.transaction(work),
    /** Stores a credential; undefined when its credential id was already used. `inTransaction` runs in the same transaction once it is stored. */
    async insert(record: Omit<W3cCredentialRecord, 'created_at' | 'updated_at'>, inTransaction?: (trx: Db, row: W3cCredentialRecord) => Promise<void>): Promise<W3cCredentialRecord | undefined> {
      return db.transaction(async (trx) => {
        const [row] = await trx('w3c_credentials')
          .insert({ ...record, data: JSON.stringify(record.data) })
          .onConflict('credential_id')
          .ignore()
          .returning('*');
        if (!row) return undefined;
        const stored = normalize(row);
        await inTransaction?.(trx, stored);
        return stored;
      });
    },
    /** The credential `id`, only when `client` created it: another client's credential is indistinguishable from none. */
    async getOwned(id: string, client: string): Promise<W3cCredentialRecord | undefined> {
      const row = await db('w3c_credentials').where({ id, client }).first();
      return row ? normalize(row) : undefined;
    },
  };
}

export type W3cCredentialsRepository = ReturnType<typeof createW3cCredentialsRepository>;

const normalize = (row: W3cCredentialRecord): W3cCredentialRecord => ({ ...row, status_list_index: Number(row.status_list_index) });

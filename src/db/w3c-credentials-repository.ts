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
    /** Takes the next revocation index; a failed issuance leaves a gap, never a reused index. */
    async allocateStatusIndex(): Promise<number> {
      const { rows } = await db.raw<{ rows: { idx: string }[] }>(`select nextval('w3c_status_list_index_seq') as idx`);
      return Number(rows[0]!.idx);
    },
    /** Stores a credential; false when its credential id was already used. */
    async insert(record: Omit<W3cCredentialRecord, 'created_at' | 'updated_at'>): Promise<W3cCredentialRecord | undefined> {
      const [row] = await db('w3c_credentials')
        .insert({ ...record, data: JSON.stringify(record.data) })
        .onConflict('credential_id')
        .ignore()
        .returning('*');
      return row ? normalize(row) : undefined;
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

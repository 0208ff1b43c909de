import type { Db } from './knex';

/** One certificate in an X.509 store (`x509_stored_certificates`, migration 0013). */
export interface StoredCertificate {
  storePath: string;
  certificateId: string;
  client: string;
  entryType: 'certificate' | 'vical_entry';
  profile: 'iaca' | 'document_signer' | 'generic';
  certificatePem: string;
  serialNumber: string;
  vicalMetadata: Record<string, unknown> | null;
  notBefore: Date;
  notAfter: Date;
  createdAt: Date;
}

interface Row {
  store_path: string;
  certificate_id: string;
  client: string;
  entry_type: StoredCertificate['entryType'];
  profile: StoredCertificate['profile'];
  certificate_pem: string;
  serial_number: string;
  vical_metadata: Record<string, unknown> | null;
  not_before: Date;
  not_after: Date;
  created_at: Date;
}

const fromRow = (r: Row): StoredCertificate => ({
  storePath: r.store_path,
  certificateId: r.certificate_id,
  client: r.client,
  entryType: r.entry_type,
  profile: r.profile,
  certificatePem: r.certificate_pem,
  serialNumber: r.serial_number,
  vicalMetadata: r.vical_metadata,
  notBefore: r.not_before,
  notAfter: r.not_after,
  createdAt: r.created_at,
});

/** Thrown by `insertEverywhere` when the id is taken in a store; nothing was written. */
export class StoredIdTakenError extends Error {
  override readonly name = 'StoredIdTakenError';
  constructor(readonly storePaths: string[]) {
    super(`the certificate id is already used in ${storePaths.join(', ')}`);
  }
}

export function createX509StoreRepository(db: Db) {
  return {
    /**
     * Writes one certificate under the same id into every store in `storePaths`, in one transaction:
     * when the id is taken in any of them, nothing is written and `StoredIdTakenError` names those stores.
     */
    async insertEverywhere(storePaths: string[], entry: Omit<StoredCertificate, 'storePath' | 'createdAt'>): Promise<void> {
      await db.transaction(async (trx) => {
        const rows = storePaths.map((storePath) => ({
          store_path: storePath,
          certificate_id: entry.certificateId,
          client: entry.client,
          entry_type: entry.entryType,
          profile: entry.profile,
          certificate_pem: entry.certificatePem,
          serial_number: entry.serialNumber,
          vical_metadata: entry.vicalMetadata === null ? null : JSON.stringify(entry.vicalMetadata),
          not_before: entry.notBefore,
          not_after: entry.notAfter,
        }));
        const written: { store_path: string }[] = await trx('x509_stored_certificates').insert(rows).onConflict(['store_path', 'certificate_id']).ignore().returning('store_path');
        if (written.length !== rows.length) {
          const done = new Set(written.map((w) => w.store_path));
          throw new StoredIdTakenError(storePaths.filter((p) => !done.has(p)));
        }
      });
    },
    /** The certificate `certificateId` of `storePath`, only when `client` stored it. */
    async get(client: string, storePath: string, certificateId: string): Promise<StoredCertificate | undefined> {
      const row = (await db('x509_stored_certificates').where({ client, store_path: storePath, certificate_id: certificateId }).first()) as Row | undefined;
      return row ? fromRow(row) : undefined;
    },
    /** The client's certificates in `storePath`, newest first, at most `limit`. */
    async list(client: string, storePath: string, limit = 1000): Promise<StoredCertificate[]> {
      const rows = (await db('x509_stored_certificates').where({ client, store_path: storePath }).orderBy('created_at', 'desc').limit(limit).select('*')) as Row[];
      return rows.map(fromRow);
    },
  };
}

export type X509StoreRepository = ReturnType<typeof createX509StoreRepository>;

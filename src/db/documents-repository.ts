import { createHash } from 'node:crypto';
import type { Db } from './knex';

/** What an authentic source uploads (seed 000 `POST /upload`), already validated. */
export interface DocumentUpload {
  meta: { authentic_source: string; vct: string; document_id: string; real_data?: boolean; credential_valid_from?: number; credential_valid_to?: number } & Record<string, unknown>;
  identities: ({ authentic_source_person_id?: string; family_name: string; given_name: string; birth_date: string } & Record<string, unknown>)[];
  document_display?: Record<string, unknown>;
  document_data: Record<string, unknown>;
  document_data_version?: string;
}

export interface DocumentKey {
  authentic_source: string;
  vct: string;
  document_id: string;
}

export type UpsertResult = 'created' | 'updated' | 'unchanged';

export function createDocumentsRepository(db: Db) {
  return {
    /**
     * Stores a document and its identities in one transaction. Keyed by (source, vct, id):
     * an identical repeat changes nothing, a changed upload replaces the previous version, and
     * concurrent uploads of one document end in one row (the unique key arbitrates).
     */
    async upsert(doc: DocumentUpload, onCommit?: (trx: Db, result: UpsertResult) => Promise<void>): Promise<UpsertResult> {
      const hash = contentHash(doc);
      const { meta } = doc;
      return db.transaction(async (trx) => {
        const row = {
          authentic_source: meta.authentic_source,
          vct: meta.vct,
          document_id: meta.document_id,
          document_data_version: doc.document_data_version ?? null,
          real_data: meta.real_data ?? null,
          credential_valid_from: meta.credential_valid_from ?? null,
          credential_valid_to: meta.credential_valid_to ?? null,
          meta: JSON.stringify(meta),
          document_display: doc.document_display ? JSON.stringify(doc.document_display) : null,
          document_data: JSON.stringify(doc.document_data),
          content_hash: hash,
        };
        // `xmax = 0` tells an inserted row from an updated one; the WHERE skips identical repeats.
        const written: { id: string; inserted: boolean }[] = await trx('documents')
          .insert(row)
          .onConflict(['authentic_source', 'vct', 'document_id'])
          .merge({ ...row, updated_at: trx.fn.now() })
          .where('documents.content_hash', '<>', hash)
          .returning([trx.raw('id'), trx.raw('(xmax = 0) as inserted')]);
        const first = written[0];
        const result: UpsertResult = !first ? 'unchanged' : first.inserted ? 'created' : 'updated';
        if (first) {
          if (!first.inserted) await trx('document_identities').where('document_pk', first.id).delete();
          await trx('document_identities').insert(
            doc.identities.map((identity, position) => ({
              document_pk: first.id,
              position,
              authentic_source: meta.authentic_source,
              authentic_source_person_id: identity.authentic_source_person_id ?? null,
              family_name: identity.family_name,
              given_name: identity.given_name,
              birth_date: identity.birth_date,
              attributes: JSON.stringify(identity),
            })),
          );
        }
        if (onCommit) await onCommit(trx, result);
        return result;
      });
    },

    async get(key: DocumentKey): Promise<DocumentUpload | undefined> {
      const doc = await db('documents').where(key).first('id', 'meta', 'document_display', 'document_data', 'document_data_version');
      if (!doc) return undefined;
      const identities = await db('document_identities').where('document_pk', doc.id).orderBy('position').select('attributes');
      return {
        meta: doc.meta,
        identities: identities.map((i: { attributes: DocumentUpload['identities'][number] }) => i.attributes),
        ...(doc.document_display ? { document_display: doc.document_display } : {}),
        document_data: doc.document_data,
        ...(doc.document_data_version ? { document_data_version: doc.document_data_version } : {}),
      };
    },
  };
}

export type DocumentsRepository = ReturnType<typeof createDocumentsRepository>;

/** Hash of a canonical JSON form (sorted keys), so key order in the request does not matter. */
function contentHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

import { createHash } from 'node:crypto';
import { normalizeDate } from '../identity/date-normalization';
import { type AuditEntry, auditRow } from './audit-log-repository';
import { type BatchItem, createUploadBatcher } from './document-upload-batcher';
import { type Db, preparedQuery } from './knex';

/** What an authentic source uploads (seed 000 `POST /upload`), already validated. */
export interface DocumentUpload {
  meta: {
    authentic_source: string;
    vct: string;
    document_id: string;
    real_data?: boolean;
    credential_valid_from?: number;
    credential_valid_to?: number;
    collect?: { id: string; valid_until?: number };
  } & Record<string, unknown>;
  identities: StoredIdentity[];
  document_display?: Record<string, unknown>;
  document_data: Record<string, unknown>;
  document_data_version?: string;
}

export type StoredIdentity = { authentic_source_person_id?: string; family_name: string; given_name: string; birth_date: string } & Record<string, unknown>;

/** An identity that may collect a document, with the document it belongs to (identity matching input). */
export interface IdentityCandidate {
  personId: string | null;
  identity: StoredIdentity;
  document: DocumentKey;
}

export interface DocumentKey {
  authentic_source: string;
  vct: string;
  document_id: string;
}

export type UpsertResult = 'created' | 'updated' | 'unchanged';

/** What a credential of a document states (identities left out), from its row's columns. */
export type DocumentContent = Pick<DocumentUpload, 'meta' | 'document_data' | 'document_data_version'>;
/** The columns of a document's content as PostgreSQL returns them. */
export interface DocumentContentRow {
  meta: DocumentUpload['meta'];
  document_data: Record<string, unknown>;
  document_data_version: string | null;
}
export const documentContent = (row: DocumentContentRow): DocumentContent => ({
  meta: row.meta,
  document_data: row.document_data,
  ...(row.document_data_version ? { document_data_version: row.document_data_version } : {}),
});

export function createDocumentsRepository(db: Db, opts: { dateFormats: readonly string[] }) {
  const uploadBatch = createUploadBatcher(db);
  const identityRow = (documentPk: string, authenticSource: string, identity: StoredIdentity, position: number) => ({
    document_pk: documentPk,
    position,
    authentic_source: authenticSource,
    authentic_source_person_id: identity.authentic_source_person_id ?? null,
    family_name: identity.family_name,
    given_name: identity.given_name,
    birth_date: identity.birth_date,
    birth_date_iso: normalizeDate(identity.birth_date, opts.dateFormats) ?? null,
    attributes: JSON.stringify(identity),
  });
  const identitiesOf = async (documentPk: string, trx: Db = db): Promise<StoredIdentity[]> =>
    (await trx('document_identities').where('document_pk', documentPk).orderBy('position').select('attributes')).map((i: { attributes: StoredIdentity }) => i.attributes);
  const toUpload = async (doc: DocumentContentRow & { id: string; document_display: unknown }): Promise<DocumentUpload> => ({
    meta: doc.meta,
    identities: await identitiesOf(doc.id),
    ...(doc.document_display ? { document_display: doc.document_display as Record<string, unknown> } : {}),
    document_data: doc.document_data,
    ...(doc.document_data_version ? { document_data_version: doc.document_data_version } : {}),
  });
  const DOCUMENT_COLUMNS = ['id', 'meta', 'document_display', 'document_data', 'document_data_version'];

  return {
    /**
     * Stores a document and its identities, and appends the audit entry (its target gains
     * `result`), atomically. Keyed by (source, vct, id): an identical repeat changes nothing, a
     * changed upload replaces the stored version, and concurrent uploads of one document end in
     * one row (the unique key arbitrates).
     */
    async upsert(doc: DocumentUpload, audit: AuditEntry): Promise<UpsertResult> {
      const row = documentRow(doc);
      const identities = doc.identities.map((identity, position) => identityRow('0', doc.meta.authentic_source, identity, position));
      const auditFor = (result: UpsertResult) => auditRow({ ...audit, target: { ...audit.target, result } });
      // Fast path, shared with concurrent uploads in one statement: a new document, or an identical repeat.
      const { target: _target, ...auditColumns } = auditFor('created');
      const fast = await uploadBatch({
        document: { ...row, meta: doc.meta, document_display: doc.document_display ?? null, document_data: doc.document_data } as BatchItem['document'],
        identities: identities.map((identity, i) => ({ ...identity, attributes: doc.identities[i] })),
        audit: auditColumns,
        targetCreated: { ...audit.target, result: 'created' },
        targetUnchanged: { ...audit.target, result: 'unchanged' },
      });
      if (fast !== 'changed') return fast;
      // A changed document (or a race with a concurrent first upload): replace it in a transaction.
      return db.transaction(async (trx) => {
        // `xmax = 0` tells an inserted row from an updated one; the WHERE skips identical repeats.
        const written: { id: string; inserted: boolean }[] = await trx('documents')
          .insert(row)
          .onConflict(['authentic_source', 'vct', 'document_id'])
          .merge({ ...row, updated_at: trx.fn.now() })
          .where('documents.content_hash', '<>', row.content_hash)
          .returning([trx.raw('id'), trx.raw('(xmax = 0) as inserted')]);
        const first = written[0];
        const result: UpsertResult = !first ? 'unchanged' : first.inserted ? 'created' : 'updated';
        if (first) {
          if (!first.inserted) await trx('document_identities').where('document_pk', first.id).delete();
          await trx('document_identities').insert(identities.map((identity) => ({ ...identity, document_pk: first.id })));
        }
        await trx('audit_log').insert(auditFor(result));
        return result;
      });
    },

    async get(key: DocumentKey): Promise<DocumentUpload | undefined> {
      const doc = await db('documents').where(key).first(DOCUMENT_COLUMNS);
      return doc ? toUpload(doc) : undefined;
    },

    /** What a credential of the document states (identities left out), by one prepared statement: what an offer is prepared from. */
    async content(key: DocumentKey): Promise<DocumentContent | undefined> {
      const [doc] = await preparedQuery<DocumentContentRow>(
        db,
        'document-content',
        'select meta, document_data, document_data_version from documents where authentic_source = $1 and vct = $2 and document_id = $3 limit 1',
        [key.authentic_source, key.vct, key.document_id],
      );
      return doc && documentContent(doc);
    },

    /** Seed 000 `collect_id`: `meta.collect.id` when the source gave one, else the document id. */
    async getByCollectId(source: string, vct: string, collectId: string): Promise<DocumentUpload | undefined> {
      const doc = await db('documents').where({ authentic_source: source, vct, collect_id: collectId }).orderBy('id').first(DOCUMENT_COLUMNS);
      return doc ? toUpload(doc) : undefined;
    },

    /**
     * Adds a person who may collect the document (a legal representative, say). An identity with
     * the same authentic_source_person_id is replaced rather than duplicated, so a retry is harmless.
     */
    async addIdentity(key: DocumentKey, identity: StoredIdentity, onCommit?: (trx: Db) => Promise<void>): Promise<'added' | 'replaced' | 'not_found'> {
      return db.transaction(async (trx) => {
        const doc = await trx('documents').where(key).forUpdate().first('id');
        if (!doc) return 'not_found';
        const existing = identity.authentic_source_person_id
          ? await trx('document_identities').where({ document_pk: doc.id, authentic_source_person_id: identity.authentic_source_person_id }).first('position')
          : undefined;
        let outcome: 'added' | 'replaced';
        if (existing) {
          await trx('document_identities').where({ document_pk: doc.id, position: existing.position }).update(identityRow(doc.id, key.authentic_source, identity, existing.position));
          outcome = 'replaced';
        } else {
          const { max } = (await trx('document_identities').where('document_pk', doc.id).max('position as max').first()) as { max: number | null };
          await trx('document_identities').insert(identityRow(doc.id, key.authentic_source, identity, (max ?? -1) + 1));
          outcome = 'added';
        }
        await trx('documents').where('id', doc.id).update({ updated_at: trx.fn.now() });
        if (onCommit) await onCommit(trx);
        return outcome;
      });
    },

    /** Removes an identity by person id; the last identity of a document cannot be removed. */
    async removeIdentity(key: DocumentKey, personId: string, onCommit?: (trx: Db) => Promise<void>): Promise<'removed' | 'document_not_found' | 'identity_not_found' | 'last_identity'> {
      return db.transaction(async (trx) => {
        const doc = await trx('documents').where(key).forUpdate().first('id');
        if (!doc) return 'document_not_found';
        const count = Number(((await trx('document_identities').where('document_pk', doc.id).count('* as n').first()) as { n: string }).n);
        const target = trx('document_identities').where({ document_pk: doc.id, authentic_source_person_id: personId });
        const matching = Number(((await target.clone().count('* as n').first()) as { n: string }).n);
        if (matching === 0) return 'identity_not_found';
        if (matching >= count) return 'last_identity';
        await target.delete();
        await trx('documents').where('id', doc.id).update({ updated_at: trx.fn.now() });
        if (onCommit) await onCommit(trx);
        return 'removed';
      });
    },

    /** Deletes the document and its identities (cascade); audit rows stay. */
    async delete(key: DocumentKey, onCommit?: (trx: Db) => Promise<void>): Promise<boolean> {
      return db.transaction(async (trx) => {
        const deleted = await trx('documents').where(key).delete();
        if (deleted > 0 && onCommit) await onCommit(trx);
        return deleted > 0;
      });
    },

    /**
     * Identities of one source that could be the presented person. Birth dates are never matched
     * fuzzily, so when one is given the index narrows the search to that exact date.
     */
    async identityCandidates(source: string, filter: { birthDateIso?: string; vct?: string } = {}): Promise<IdentityCandidate[]> {
      const q = db('document_identities as i')
        .join('documents as d', 'd.id', 'i.document_pk')
        .where('i.authentic_source', source)
        .select('i.authentic_source_person_id', 'i.attributes', 'd.authentic_source', 'd.vct', 'd.document_id')
        .orderBy(['d.id', 'i.position'])
        .limit(10_000);
      if (filter.birthDateIso) q.where('i.birth_date_iso', filter.birthDateIso);
      if (filter.vct) q.where('d.vct', filter.vct);
      const rows: { authentic_source_person_id: string | null; attributes: StoredIdentity; authentic_source: string; vct: string; document_id: string }[] = await q;
      return rows.map((r) => ({ personId: r.authentic_source_person_id, identity: r.attributes, document: { authentic_source: r.authentic_source, vct: r.vct, document_id: r.document_id } }));
    },

    /** meta and document_display of the given documents (seed 000 `POST /document/list`). */
    async summaries(keys: DocumentKey[]): Promise<{ meta: DocumentUpload['meta']; document_display?: Record<string, unknown> }[]> {
      if (keys.length === 0) return [];
      const rows: { meta: DocumentUpload['meta']; document_display: Record<string, unknown> | null }[] = await db('documents')
        .whereIn(['authentic_source', 'vct', 'document_id'], keys.map((k) => [k.authentic_source, k.vct, k.document_id]))
        .orderBy('id')
        .select('meta', 'document_display');
      return rows.map((r) => ({ meta: r.meta, ...(r.document_display ? { document_display: r.document_display } : {}) }));
    },
  };
}

export type DocumentsRepository = ReturnType<typeof createDocumentsRepository>;


/** The documents columns of an upload (JSON columns as text, for knex). */
function documentRow(doc: DocumentUpload) {
  const { meta } = doc;
  return {
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
    content_hash: contentHash(doc),
    collect_id: meta.collect?.id ?? meta.document_id,
  };
}

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

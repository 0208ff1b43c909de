import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Subkey } from '../credentials/kek-subkeys';
import { type DocumentContent, type DocumentContentRow, documentContent } from './documents-repository';
import { type Db, preparedQuery } from './knex';

export interface IssuedCredentialRecord {
  offer_id: string;
  authentic_source: string;
  vct: string;
  document_id: string;
  format: string;
  holder_key_thumbprint: string;
  valid_from: Date | null;
  valid_until: Date | null;
  /** The status list and index the credential carries (migration 0015). */
  status_list_id?: string | null;
  status_index?: number | null;
}

const PICKUP_TTL_SECONDS = 120;

/** What issuing under an offer reads first (issuanceInputs): the offer, its document's content, the cap's count, and the revocation. */
export interface IssuanceInputs {
  offer: { workflow_id: string; closed_at: Date | null; authentic_source: string; vct: string; document_id: string; document_hash: string | null };
  /** The document's content as a credential states it (identities left out: they choose who collects, not what it says); undefined once deleted. */
  document: DocumentContent | undefined;
  /** Credentials the offer has issued, not counting the request's own (a retry). */
  issued: number;
  revoked: boolean;
}

// One round trip, prepared once per connection, for the four reads an issuance starts with.
const ISSUANCE_INPUTS_SQL = `select o.workflow_id, o.closed_at, o.authentic_source, o.vct, o.document_id, o.document_hash,
    d.id is not null as has_document, d.meta, d.document_data, d.document_data_version,
    (select count(*) from issued_credentials i where i.offer_id = o.offer_id and i.id <> all($2::uuid[]))::int as issued,
    exists (select 1 from document_revocations r where r.authentic_source = o.authentic_source and r.vct = o.vct and r.document_id = o.document_id and r.state = 'revoked') as revoked
  from credential_offers o
  left join documents d on d.authentic_source = o.authentic_source and d.vct = o.vct and d.document_id = o.document_id
  where o.offer_id = $1`;

/**
 * The records, the sealed pickups and the offer's ISSUED state in one statement (its parts see one
 * snapshot and commit together); ids are derived from the request key, so a retry inserts nothing twice.
 */
const RECORD_AND_PARK_SQL = `with recorded as (
    insert into issued_credentials (id, offer_id, authentic_source, vct, document_id, format, holder_key_thumbprint, valid_from, valid_until, status_list_id, status_index)
    select * from jsonb_to_recordset($1::jsonb) as r(id uuid, offer_id text, authentic_source text, vct text, document_id text, format text, holder_key_thumbprint text,
      valid_from timestamptz, valid_until timestamptz, status_list_id text, status_index int)
    on conflict (id) do nothing
  ), parked as (
    insert into credential_pickups (id, offer_id, sealed_credential, expires_at)
    select p.id, p.offer_id, p.sealed_credential, now() + make_interval(secs => $3::int) from jsonb_to_recordset($2::jsonb) as p(id uuid, offer_id text, sealed_credential text)
    on conflict (id) do nothing
  )
  update credential_offers set state = 'ISSUED' where offer_id = $4 and state in ('OFFERED', 'REDEEMED')`;

/** UUID-shaped ids (RFC 9562 §5.8, custom) derived from a request key, one record and one pickup id per credential. */
function requestIds(requestKey: string, count: number): { record: string; pickup: string }[] {
  const uuid = (label: string) => {
    const h = createHash('sha256').update(`${requestKey}\0${label}`).digest();
    h[6] = (h[6]! & 0x0f) | 0x80;
    h[8] = (h[8]! & 0x3f) | 0x80;
    const x = h.subarray(0, 16).toString('hex');
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  };
  return Array.from({ length: count }, (_, i) => ({ record: uuid(`record/${i}`), pickup: uuid(`pickup/${i}`) }));
}

/**
 * Issued-credential records and the sealed pickup slots (see migration 0008). Sealing (AES-256-GCM)
 * uses the pickup-sealing subkey of the KEK (`KekSubkeys.pickupSealing`, src/credentials/kek-subkeys.ts),
 * so a database dump alone reveals no credential in transit, and that key opens nothing else.
 */
export function createIssuedCredentialsRepository(db: Db, pickupKey: Subkey<'pickup-sealing'>) {
  const key = Buffer.from(pickupKey);
  const seal = (id: string, credential: string) => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(id));
    const body = Buffer.concat([cipher.update(credential, 'utf8'), cipher.final()]);
    return [iv, body, cipher.getAuthTag()].map((b) => b.toString('base64url')).join('.');
  };
  const open = (id: string, sealed: string) => {
    const [iv, body, tag] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
    const decipher = createDecipheriv('aes-256-gcm', key, iv!).setAAD(Buffer.from(id)).setAuthTag(tag!);
    return Buffer.concat([decipher.update(body!), decipher.final()]).toString('utf8');
  };

  return {
    /**
     * Records the credentials and parks them for pickup, in one transaction with the offer's state
     * (ISSUED); returns the pickup ids in order. Ids are derived from `requestKey` (the workflow run
     * and the activity's id), so a retry of the same request after a crash finds the first attempt's
     * rows and returns its pickups: one record and one pickup per credential, however often it runs.
     * `inTransaction` runs inside the same transaction with the record ids.
     */
    async recordAndPark(requestKey: string, records: IssuedCredentialRecord[], credentials: string[], inTransaction?: (trx: Db, recordIds: string[]) => Promise<void>): Promise<string[]> {
      const ids = requestIds(requestKey, records.length);
      return db.transaction(async (trx) => {
        const pickups = credentials.map((credential, i) => ({ id: ids[i]!.pickup, offer_id: records[i]!.offer_id, sealed_credential: seal(ids[i]!.pickup, credential) }));
        // One issuance request is under one offer (the statement's ISSUED update takes its id by primary key).
        const offerIds = [...new Set(records.map((r) => r.offer_id))];
        if (offerIds.length !== 1) throw new Error('the credentials of one request are under one offer');
        await preparedQuery(trx, 'record-and-park', RECORD_AND_PARK_SQL, [
          JSON.stringify(records.map((r, i) => ({ id: ids[i]!.record, status_list_id: null, status_index: null, ...r }))),
          JSON.stringify(pickups),
          PICKUP_TTL_SECONDS,
          offerIds[0],
        ]);
        // The status-list indices become permanent in the same transaction (status-lists-repository.ts markIssued).
        await inTransaction?.(trx, ids.map((i) => i.record));
        return pickups.map((p) => p.id);
      });
    },
    /** Takes the credentials out of their slots (each can be taken once). */
    async pickUp(ids: string[]): Promise<string[]> {
      const rows = await preparedQuery<{ id: string; sealed_credential: string }>(db, 'pick-up', 'delete from credential_pickups where id = any($1::uuid[]) returning id, sealed_credential', [ids]);
      const byId = new Map(rows.map((r) => [r.id, open(r.id, r.sealed_credential)]));
      return ids.map((id) => {
        const credential = byId.get(id);
        if (credential === undefined) throw new Error(`credential pickup ${id} is gone`);
        return credential;
      });
    },
    async purgeExpiredPickups(): Promise<number> {
      return db('credential_pickups').where('expires_at', '<', db.fn.now()).delete();
    },
    /**
     * The offer, its document's content, how many credentials it has issued (not counting the
     * `count` of request `requestKey`, a retry of that request) and whether the document is revoked:
     * one statement instead of four. `undefined` when there is no such offer.
     */
    async issuanceInputs(offerId: string, own: { requestKey: string; count: number }): Promise<IssuanceInputs | undefined> {
      const ownIds = requestIds(own.requestKey, own.count).map((i) => i.record);
      type Row = IssuanceInputs['offer'] & DocumentContentRow & { has_document: boolean; issued: number; revoked: boolean };
      const [row] = await preparedQuery<Row>(db, 'issuance-inputs', ISSUANCE_INPUTS_SQL, [offerId, ownIds]);
      if (!row) return undefined;
      const { has_document, meta, document_data, document_data_version, issued, revoked, ...offer } = row;
      const document = has_document ? documentContent({ meta, document_data, document_data_version }) : undefined;
      return { offer, document, issued, revoked };
    },
    /** Credentials the offer has issued, not counting the `count` of request `requestKey` (a retry of that request). */
    async countFor(offerId: string, own?: { requestKey: string; count: number }): Promise<number> {
      const ownIds = own ? requestIds(own.requestKey, own.count).map((i) => i.record) : [];
      const row = (await db('issued_credentials').where({ offer_id: offerId }).whereNotIn('id', ownIds).count('* as n').first()) as { n: string };
      return Number(row.n);
    },
  };
}

export type IssuedCredentialsRepository = ReturnType<typeof createIssuedCredentialsRepository>;

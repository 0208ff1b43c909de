import type { OfferState, PinDelivery } from '../../workflows/contracts/credential-offer';
import type { DocumentKey } from './documents-repository';
import { type Db, preparedQuery } from './knex';

export interface OfferRecord {
  offer_id: string;
  workflow_id: string;
  authentic_source: string;
  vct: string;
  document_id: string;
  code_hash: string;
  /** SHA-256 of the `credential_offer_uri` token (null for offers recorded before migration 0010). */
  uri_token_hash: string | null;
  /** The document content the offer was made for (offeredContentHash); issuance refuses another. */
  document_hash: string | null;
  tx_code_required: boolean;
  /** Where the PIN went (decided once, at preparation). */
  pin_delivery: PinDelivery;
  email: string | null;
  /** Which PIN is current: 0 the first, raised by each re-send (offer-secrets.ts derives the PIN from it). */
  pin_generation: number;
  /** A copy of the workflow's state, kept in step: OFFERED, REDEEMED (token issued), ISSUED, then the end state. */
  state: OfferState;
  expires_at: Date;
  created_at: Date;
  closed_at: Date | null;
  /** The revoked document this offer replaces (a revocation's `reference`, migration 0020); null for other offers. */
  replaces?: DocumentKey | null;
}

const INSERT_OFFER_SQL = `insert into credential_offers (offer_id, workflow_id, authentic_source, vct, document_id, code_hash, uri_token_hash, document_hash, tx_code_required, pin_delivery, email, expires_at, replaces)
  values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`;

export function createOffersRepository(db: Db) {
  /** The offer whose `column` (one of three fixed names, each its own statement) is `value`. */
  const offerBy = async (column: 'offer_id' | 'uri_token_hash' | 'code_hash', value: string): Promise<OfferRecord | undefined> =>
    (await preparedQuery<OfferRecord>(db, `offer-by-${column}`, `select * from credential_offers where ${column} = $1 limit 1`, [value]))[0];
  return {
    /** Records a new offer; `inTransaction` runs in the same transaction (the `credential_offer.created` event, src/webhooks/offer-events.ts). */
    async create(offer: Omit<OfferRecord, 'state' | 'created_at' | 'closed_at' | 'pin_generation'>, inTransaction?: (trx: Db) => Promise<void>): Promise<void> {
      const insert = (on: Db) =>
        preparedQuery(on, 'offer-create', INSERT_OFFER_SQL, [
          offer.offer_id, offer.workflow_id, offer.authentic_source, offer.vct, offer.document_id, offer.code_hash, offer.uri_token_hash,
          offer.document_hash, offer.tx_code_required, offer.pin_delivery, offer.email, offer.expires_at, offer.replaces ? JSON.stringify(offer.replaces) : null,
        ]);
      if (!inTransaction) {
        await insert(db);
        return;
      }
      await db.transaction(async (trx) => {
        await insert(trx);
        await inTransaction(trx);
      });
    },
    // The wallet path's look-ups: named statements, parsed and planned once per connection.
    byId: (offerId: string) => offerBy('offer_id', offerId),
    byUriTokenHash: (tokenHash: string) => offerBy('uri_token_hash', tokenHash),
    byCodeHash: (codeHash: string) => offerBy('code_hash', codeHash),
    /** The token endpoint redeemed the code: /offers and /token stop serving it without asking Temporal. */
    /** `inTransaction` runs in the same transaction when this call made the change (the `credential_offer.redeemed` event). */
    async markRedeemed(offerId: string, inTransaction?: (trx: Db) => Promise<void>): Promise<void> {
      const mark = (on: Db) => preparedQuery(on, 'offer-mark-redeemed', "update credential_offers set state = 'REDEEMED' where offer_id = $1 and state = 'OFFERED' returning 1", [offerId]);
      if (!inTransaction) {
        await mark(db);
        return;
      }
      await db.transaction(async (trx) => {
        if ((await mark(trx)).length > 0) await inTransaction(trx);
      });
    },
    /** The workflow re-sent the PIN: from now on only generation `generation`'s PIN redeems the code (never lowered). */
    async setPinGeneration(offerId: string, generation: number): Promise<void> {
      await db('credential_offers').where({ offer_id: offerId }).andWhere('pin_generation', '<', generation).update({ pin_generation: generation });
    },
    /** The workflow ended with `state`. */
    /** `inTransaction` runs in the same transaction (the ordering rows of the offer's end event). */
    async close(offerId: string, state: OfferState, inTransaction?: (trx: Db) => Promise<void>): Promise<void> {
      await db.transaction(async (trx) => {
        await trx('credential_offers').where({ offer_id: offerId }).update({ state, closed_at: trx.fn.now() });
        await inTransaction?.(trx);
      });
    },
    async remove(offerId: string): Promise<void> {
      await db('credential_offers').where({ offer_id: offerId }).delete();
    },
  };
}

export type OffersRepository = ReturnType<typeof createOffersRepository>;

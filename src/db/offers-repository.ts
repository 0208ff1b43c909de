import type { OfferState, PinDelivery } from '../../workflows/contracts/credential-offer';
import type { DocumentKey } from './documents-repository';
import type { Db } from './knex';

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

export function createOffersRepository(db: Db) {
  return {
    /** Records a new offer; `inTransaction` runs in the same transaction (the `credential_offer.created` event, src/webhooks/offer-events.ts). */
    async create(offer: Omit<OfferRecord, 'state' | 'created_at' | 'closed_at' | 'pin_generation'>, inTransaction?: (trx: Db) => Promise<void>): Promise<void> {
      const row = { ...offer, replaces: offer.replaces ? JSON.stringify(offer.replaces) : null };
      if (!inTransaction) {
        await db('credential_offers').insert(row);
        return;
      }
      await db.transaction(async (trx) => {
        await trx('credential_offers').insert(row);
        await inTransaction(trx);
      });
    },
    async byId(offerId: string): Promise<OfferRecord | undefined> {
      return db('credential_offers').where({ offer_id: offerId }).first();
    },
    async byUriTokenHash(tokenHash: string): Promise<OfferRecord | undefined> {
      return db('credential_offers').where({ uri_token_hash: tokenHash }).first();
    },
    async byCodeHash(codeHash: string): Promise<OfferRecord | undefined> {
      return db('credential_offers').where({ code_hash: codeHash }).first();
    },
    /** The token endpoint redeemed the code: /offers and /token stop serving it without asking Temporal. */
    /** `inTransaction` runs in the same transaction when this call made the change (the `credential_offer.redeemed` event). */
    async markRedeemed(offerId: string, inTransaction?: (trx: Db) => Promise<void>): Promise<void> {
      await db.transaction(async (trx) => {
        const changed = await trx('credential_offers').where({ offer_id: offerId, state: 'OFFERED' }).update({ state: 'REDEEMED' });
        if (changed > 0) await inTransaction?.(trx);
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

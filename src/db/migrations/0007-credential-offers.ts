import type { Knex } from 'knex';

/**
 * Credential offers: the record the wallet-facing endpoints find an offer by. The offer's process
 * (PIN attempts, expiry, issuance) is its Temporal workflow; the pre-authorized code is kept only
 * as a SHA-256, the PIN not at all (both are derived from the offer id, src/oid4vci/offer-secrets.ts).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('credential_offers', (t) => {
    t.text('offer_id').primary();
    t.text('workflow_id').notNullable();
    t.text('authentic_source').notNullable();
    t.text('vct').notNullable();
    t.text('document_id').notNullable();
    t.text('code_hash').notNullable().unique();
    t.boolean('tx_code_required').notNullable();
    /** Where the PIN goes when the notification request named an address (it wins over the identity's). */
    t.text('email');
    t.text('state').notNullable().defaultTo('OFFERED');
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('closed_at', { useTz: true });
    t.index(['workflow_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('credential_offers');
}

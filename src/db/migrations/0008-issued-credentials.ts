import type { Knex } from 'knex';

/**
 * What was issued to wallets: a record per credential (format, type, holder key thumbprint,
 * validity; never the credential itself, docs/architecture.md), and a short-lived, encrypted pickup
 * slot that carries a freshly signed credential from the signing activity to the waiting
 * /credential request, so the credential never enters the workflow history. The gateway deletes
 * the slot as it answers.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('issued_credentials', (t) => {
    t.uuid('id').primary();
    t.text('offer_id').notNullable();
    t.text('authentic_source').notNullable();
    t.text('vct').notNullable();
    t.text('document_id').notNullable();
    t.text('format').notNullable();
    t.text('holder_key_thumbprint').notNullable();
    t.timestamp('valid_from', { useTz: true });
    t.timestamp('valid_until', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['authentic_source', 'vct', 'document_id']);
  });
  await knex.schema.createTable('credential_pickups', (t) => {
    t.uuid('id').primary();
    t.text('offer_id').notNullable();
    /** AES-256-GCM under a key derived from the KEK; AAD is the pickup id. */
    t.text('sealed_credential').notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('credential_pickups');
  await knex.schema.dropTable('issued_credentials');
}

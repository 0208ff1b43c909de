import type { Knex } from 'knex';

/**
 * OpenID4VCI 1.0 state that must survive a restart of the whole stack: the c_nonces handed out by
 * the Nonce Endpoint (§7), single use, and the access tokens of redeemed pre-authorized codes
 * (§6). Only SHA-256 (hex) hashes of nonces and tokens are stored, never the values themselves.
 *
 * `up` creates only what is missing, so it is harmless to run again on a database that has it.
 */
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable('oid4vci_nonces'))) {
    await knex.schema.createTable('oid4vci_nonces', (t) => {
      t.text('nonce_hash').primary();
      t.timestamp('expires_at', { useTz: true }).notNullable();
      t.timestamp('used_at', { useTz: true });
      t.index(['expires_at']);
    });
  }
  if (!(await knex.schema.hasTable('oid4vci_access_tokens'))) {
    await knex.schema.createTable('oid4vci_access_tokens', (t) => {
      t.text('token_hash').primary();
      t.text('workflow_id').notNullable();
      t.text('offer_id').notNullable();
      t.timestamp('expires_at', { useTz: true }).notNullable();
      t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
      t.index(['expires_at']);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('oid4vci_access_tokens');
  await knex.schema.dropTableIfExists('oid4vci_nonces');
}

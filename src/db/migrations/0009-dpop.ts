import type { Knex } from 'knex';

/** DPoP (RFC 9449): an access token may be bound to the thumbprint of the wallet's DPoP key, and a proof's jti is single use. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oid4vci_access_tokens', (t) => {
    t.text('dpop_jkt');
  });
  await knex.schema.createTable('dpop_jtis', (t) => {
    t.text('jti_hash').primary();
    t.timestamp('expires_at', { useTz: true }).notNullable().index();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('dpop_jtis');
  await knex.schema.alterTable('oid4vci_access_tokens', (t) => {
    t.dropColumn('dpop_jkt');
  });
}

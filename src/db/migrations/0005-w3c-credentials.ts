import type { Knex } from 'knex';

/**
 * W3C credentials created through seed 001's `POST /api/v1/credentials`. That API hands the
 * credential back on `GET /api/v1/credentials/:id`, so the signed credential is kept here (unlike
 * wallet-issued credentials, of which only a record is kept). Every credential gets a revocation
 * index (revocable by default); the index sequence never hands out one index twice.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('create sequence w3c_status_list_index_seq minvalue 0 start 0');
  await knex.schema.createTable('w3c_credentials', (t) => {
    t.uuid('id').primary();
    t.text('credential_id').notNullable().unique();
    t.text('credential_type').notNullable();
    t.text('recipient_did').notNullable();
    t.text('onboarding_id');
    t.text('client').notNullable();
    t.bigInteger('status_list_index').notNullable().unique();
    t.timestamp('valid_from', { useTz: true }).notNullable();
    t.timestamp('valid_until', { useTz: true }).notNullable();
    /** The credential as issued: an EnvelopedVerifiableCredential around the `application/vc+jwt`. */
    t.jsonb('data').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['recipient_did']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('w3c_credentials');
  await knex.raw('drop sequence w3c_status_list_index_seq');
}

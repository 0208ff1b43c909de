import type { Knex } from 'knex';

/** Documents uploaded by authentic sources (seed 000 `POST /upload`) and the identities that may collect them. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('documents', (t) => {
    t.bigIncrements('id').primary();
    t.text('authentic_source').notNullable();
    t.text('vct').notNullable();
    t.text('document_id').notNullable();
    t.text('document_data_version');
    t.boolean('real_data');
    t.bigInteger('credential_valid_from');
    t.bigInteger('credential_valid_to');
    t.jsonb('meta').notNullable();
    t.jsonb('document_display');
    t.jsonb('document_data').notNullable();
    /** SHA-256 of the canonical upload: a repeated identical upload changes nothing. */
    t.text('content_hash').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['authentic_source', 'vct', 'document_id']);
  });
  await knex.schema.createTable('document_identities', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('document_pk').notNullable().references('documents.id').onDelete('CASCADE');
    t.integer('position').notNullable();
    /** Denormalised so identity matching can search one source's persons without a join. */
    t.text('authentic_source').notNullable();
    t.text('authentic_source_person_id');
    t.text('family_name');
    t.text('given_name');
    t.text('birth_date');
    /** The identity object as uploaded (schema, e-mail and any further attributes). */
    t.jsonb('attributes').notNullable();
    t.unique(['document_pk', 'position']);
    t.index(['authentic_source_person_id', 'authentic_source']);
    t.index(['authentic_source', 'birth_date']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('document_identities');
  await knex.schema.dropTable('documents');
}

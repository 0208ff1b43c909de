import type { Knex } from 'knex';

/**
 * Lookups the Datastore API needs beyond the primary key: `collect_id` (seed 000
 * `POST /document/collect_id`; `meta.collect.id`, else the document id) and each identity's birth
 * date normalised to ISO 8601, so identity matching narrows candidates with an index (birth dates
 * are compared exactly, never fuzzily).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('documents', (t) => {
    t.text('collect_id');
    // Selective column first: an index sharing (authentic_source, vct) with the unique key would
    // tempt the planner to scan a whole source's documents when it looks one up by document_id.
    t.index(['collect_id', 'authentic_source', 'vct']);
  });
  await knex.raw(`update documents set collect_id = coalesce(meta #>> '{collect,id}', document_id)`);
  await knex.schema.alterTable('document_identities', (t) => {
    t.text('birth_date_iso');
    t.index(['birth_date_iso', 'authentic_source']);
    t.dropIndex(['authentic_source', 'birth_date']);
  });
  await knex.raw(`update document_identities set birth_date_iso = birth_date where birth_date ~ '^\\d{4}-\\d{2}-\\d{2}$'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('document_identities', (t) => {
    t.index(['authentic_source', 'birth_date']);
    t.dropIndex(['birth_date_iso', 'authentic_source']);
    t.dropColumn('birth_date_iso');
  });
  await knex.schema.alterTable('documents', (t) => {
    t.dropIndex(['collect_id', 'authentic_source', 'vct']);
    t.dropColumn('collect_id');
  });
}

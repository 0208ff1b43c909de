import type { Knex } from 'knex';

/**
 * Indexes for the issuance path, so its statements stay index lookups however many credentials
 * have been issued (issue 16: each credential counted the offer's earlier credentials by a
 * sequential scan of `issued_credentials`):
 * - `issued_credentials (offer_id)`: the signing activity's cap check counts an offer's credentials;
 * - `status_list_entries (allocated_at) where state = 'reserved'`: the upkeep purge finds
 *   reservations abandoned by requests that never came back without reading the issued entries.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('issued_credentials', (t) => {
    t.index(['offer_id']);
  });
  await knex.raw(`create index status_list_entries_reserved_allocated_at on status_list_entries (allocated_at) where state = 'reserved'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index status_list_entries_reserved_allocated_at');
  await knex.schema.alterTable('issued_credentials', (t) => {
    t.dropIndex(['offer_id']);
  });
}

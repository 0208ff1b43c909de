import type { Knex } from 'knex';

/**
 * Signed status-list tokens (issue 17): the last signed form of each list (`jwt` and `cwt` of a
 * Token Status List, `w3c` and `w3c-di` of a Bitstring Status List), so every gateway process serves the same
 * token instead of each re-signing, and the status-list re-signing Schedule
 * (workflows/status-list-resign.ts) finds the ones whose `exp` comes within its margin.
 * `version` is the change mark (`status_list_change_seq`) the token shows at least; a stored token
 * is only replaced by one of a newer version, or of the same version that expires later.
 *
 * `status_events.deliveries_started_at`: the status event row, written in the transaction of the
 * change, is the outbox of its webhook deliveries; this is set once every subscriber's delivery
 * workflow has started. A row left without it (the start failed after the commit) is started by the
 * re-signing Schedule's run (`startPendingStatusDeliveries`). Events from before this migration
 * count as started. Seed 001 credential events (`credential.revoked`) use `authentic_source`
 * `client:<api client>`, `vct` the credential type and `document_id` the credential id.
 *
 * `credential_offers.replaces`: the document (`{authentic_source, vct, document_id}`) an offer
 * replaces, when the revocation workflow started it for a revocation's `reference`; the revoked
 * document's `document_revocations.reference` is the other direction of the link.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('status_list_tokens', (t) => {
    t.text('list_id').notNullable().references('id').inTable('status_lists');
    t.text('form').notNullable();
    t.binary('body').notNullable();
    t.text('content_type').notNullable();
    t.bigInteger('version').notNullable();
    t.timestamp('signed_at', { useTz: true }).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.primary(['list_id', 'form']);
    t.index(['expires_at']);
  });
  await knex.raw(`alter table status_list_tokens add constraint status_list_tokens_form check (form in ('jwt', 'cwt', 'w3c', 'w3c-di'))`);
  await knex.schema.alterTable('status_events', (t) => {
    t.timestamp('deliveries_started_at', { useTz: true });
  });
  await knex.raw('update status_events set deliveries_started_at = occurred_at');
  await knex.raw('create index status_events_pending_deliveries on status_events (occurred_at) where deliveries_started_at is null');
  await knex.schema.alterTable('credential_offers', (t) => {
    t.jsonb('replaces');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('credential_offers', (t) => {
    t.dropColumn('replaces');
  });
  await knex.schema.alterTable('status_events', (t) => {
    t.dropColumn('deliveries_started_at');
  });
  await knex.schema.dropTable('status_list_tokens');
}

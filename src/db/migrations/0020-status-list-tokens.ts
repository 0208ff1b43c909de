import type { Knex } from 'knex';

/**
 * Signed status-list tokens (issue 17): the last signed form of each list (`jwt` and `cwt` of a
 * Token Status List, `w3c` of a Bitstring Status List), so every gateway process serves the same
 * token instead of each re-signing, and the status-list re-signing Schedule
 * (workflows/status-list-resign.ts) finds the ones whose `exp` comes within its margin.
 * `version` is the change mark (`status_list_change_seq`) the token shows at least; a stored token
 * is only replaced by one of a newer version, or of the same version that expires later.
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
  await knex.raw(`alter table status_list_tokens add constraint status_list_tokens_form check (form in ('jwt', 'cwt', 'w3c'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('status_list_tokens');
}

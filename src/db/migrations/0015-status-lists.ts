import type { Knex } from 'knex';

/**
 * Status lists (issue 17): the lists themselves, one entry per allocated index, and the revocation
 * record of a document.
 *
 * - `status_lists`: one row per list, by family (`token`: the IETF Token Status List served as JWT
 *   and CWT, for `dc+sd-jwt` and `mso_mdoc`; `w3c`: the Bitstring Status List, for `jwt_vc_json` and
 *   seed 001's credentials), purpose and number. `bits` per entry (2 for `token`: 0 valid, 1
 *   invalid, 2 suspended; 1 for `w3c` revocation), `size` entries, `allocated` indices taken.
 * - `status_list_change_seq`: advanced after every committed status change, so a publisher knows
 *   when to re-sign (a sequence takes no row lock: concurrent changes do not queue on a hot row).
 * - `status_list_entries`: an allocated index and its status. Statuses live in rows, not in a shared
 *   bit array, so concurrent changes never overwrite one another (no lost update). An index is
 *   `reserved` by an issuance request (`request_key`, `ordinal`: a retry of the request finds its
 *   own), and `issued` in the transaction that records the credential (`credential_ref`). A reserved
 *   index is deleted again when its request fails, so a failure never burns an index; an issued one
 *   is never freed (draft-ietf-oauth-status-list forbids reuse).
 * - `document_revocations`: a revoked document, or one whose revocation is scheduled (seed 000
 *   `POST /api/v1/document/revoke`), its revocation id, reason and replacement reference. The
 *   reason stays here: the revocation workflow's history carries ids and times only.
 * - `status_events`: each status change of a document, as reported to its source's webhook.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('status_lists', (t) => {
    t.text('id').primary();
    t.text('family').notNullable();
    t.text('purpose').notNullable();
    t.integer('number').notNullable();
    t.smallint('bits').notNullable();
    t.integer('size').notNullable();
    t.integer('allocated').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['family', 'purpose', 'number']);
  });
  await knex.raw('create sequence status_list_change_seq');
  await knex.schema.createTable('status_list_entries', (t) => {
    t.text('list_id').notNullable().references('id').inTable('status_lists');
    t.integer('idx').notNullable();
    t.smallint('status').notNullable().defaultTo(0);
    t.text('state').notNullable();
    t.text('request_key');
    t.integer('ordinal');
    t.text('credential_ref');
    t.timestamp('allocated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['list_id', 'idx']);
    t.unique(['request_key', 'ordinal']);
    t.index(['credential_ref']);
  });
  await knex.raw(`alter table status_list_entries add constraint status_list_entries_state check (state in ('reserved', 'issued'))`);
  await knex.schema.alterTable('issued_credentials', (t) => {
    t.text('status_list_id');
    t.integer('status_index');
  });
  await knex.schema.createTable('document_revocations', (t) => {
    t.text('authentic_source').notNullable();
    t.text('vct').notNullable();
    t.text('document_id').notNullable();
    t.text('revocation_id').notNullable();
    /** `scheduled` (a revocation workflow waits for `revoke_at`) or `revoked` (final). */
    t.text('state').notNullable();
    t.text('reason');
    t.jsonb('reference');
    t.timestamp('revoke_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
    t.integer('credentials_revoked').notNullable().defaultTo(0);
    t.primary(['authentic_source', 'vct', 'document_id']);
  });
  await knex.raw(`alter table document_revocations add constraint document_revocations_state check (state in ('scheduled', 'revoked'))`);
  // Status changes reported to the authentic source's notification_endpoint: the webhook activity
  // rebuilds each event from its row (ids, type, time, counts; never document data).
  await knex.schema.createTable('status_events', (t) => {
    t.text('id').primary();
    t.text('authentic_source').notNullable();
    t.text('vct').notNullable();
    t.text('document_id').notNullable();
    t.text('type').notNullable();
    t.integer('credentials_changed').notNullable();
    t.timestamp('occurred_at', { useTz: true }).notNullable();
    t.index(['authentic_source', 'vct', 'document_id']);
  });
  // Seed 001 credentials issued before this migration took indices from a sequence, in lists of
  // 131,072: they become issued entries of the w3c revocation lists, so new allocations avoid them.
  await knex.raw(`
    insert into status_lists (id, family, purpose, number, bits, size, allocated)
    select 'w3c/revocation/' || n, 'w3c', 'revocation', n, 1, 131072, count(*)
    from (select (status_list_index / 131072)::int as n from w3c_credentials) s group by n`);
  await knex.raw(`
    insert into status_list_entries (list_id, idx, status, state, credential_ref)
    select 'w3c/revocation/' || (status_list_index / 131072)::int, (status_list_index % 131072)::int, 0, 'issued', 'w3c:' || id
    from w3c_credentials`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('status_events');
  await knex.schema.dropTable('document_revocations');
  await knex.schema.alterTable('issued_credentials', (t) => {
    t.dropColumn('status_list_id');
    t.dropColumn('status_index');
  });
  await knex.schema.dropTable('status_list_entries');
  await knex.schema.dropTable('status_lists');
  await knex.raw('drop sequence status_list_change_seq');
}

import type { Knex } from 'knex';

/**
 * Append-only audit log of API operations (seed 000, "Audit Logging"). It records who did what to
 * which ids and the outcome, never document data or secrets. A trigger refuses UPDATE and DELETE,
 * so not even the application's own role can rewrite history.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id').primary();
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('request_id');
    /** Authenticated principal (`source:hr.example.org`), or `anonymous`. */
    t.text('actor').notNullable();
    t.text('action').notNullable();
    t.text('method');
    t.text('path');
    t.integer('status');
    /** Ids the operation touched (authentic_source, vct, document_id, ...). */
    t.jsonb('target').notNullable().defaultTo('{}');
    t.text('client_ip');
    t.index(['at']);
    t.index(['actor', 'at']);
  });
  await knex.raw(`
    create function audit_log_is_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_log is append-only';
    end $$;
    create trigger audit_log_append_only before update or delete or truncate on audit_log
      for each statement execute function audit_log_is_append_only();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger if exists audit_log_append_only on audit_log; drop function if exists audit_log_is_append_only();');
  await knex.schema.dropTable('audit_log');
}

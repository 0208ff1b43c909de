import type { Knex } from 'knex';

/**
 * KYC onboarding (issue 19, seed 004; docs/architecture.md, Data):
 *
 * - `kyc_challenges`: the SHA-256 of each challenge nonce handed out by `GET /kyc/auth/challenge`,
 *   until it expires; `used_at` is set when it is answered, so a challenge works once.
 * - `kyc_users`: one row per wallet (`wallet` = the wallet JWT's `sub`), with the attributes of
 *   `POST /kyc/users` (file references resolved to `file:<fileId>`).
 * - `kyc_files`: uploaded files, their media type (recognised by content), size and SHA-256; read by
 *   operators through the admin API only, never logged, never in a workflow history.
 * - `kyc_applications`: one row per application (`POST /kyc/applications`): template, attributes, the
 *   files it references, the applicant's e-mail, and the state the onboarding workflow last recorded,
 *   plus the reviewer's decision and reason.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('kyc_challenges', (t) => {
    t.text('nonce_hash').primary();
    t.text('client_ip').notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable().index();
    t.timestamp('used_at', { useTz: true });
  });
  await knex.schema.createTable('kyc_users', (t) => {
    t.text('wallet').primary();
    t.jsonb('attributes').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('kyc_files', (t) => {
    t.uuid('file_id').primary();
    t.text('wallet').notNullable().index();
    t.text('media_type').notNullable();
    t.integer('size').notNullable();
    t.text('sha256').notNullable();
    t.binary('content').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('kyc_applications', (t) => {
    t.text('application_id').primary();
    t.text('wallet').notNullable();
    t.text('template_id').notNullable();
    t.jsonb('attributes').notNullable();
    t.jsonb('file_ids').notNullable();
    t.text('email');
    t.text('state').notNullable();
    t.text('decision_reason');
    t.text('decided_by');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['wallet', 'template_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('kyc_applications');
  await knex.schema.dropTable('kyc_files');
  await knex.schema.dropTable('kyc_users');
  await knex.schema.dropTable('kyc_challenges');
}

import type { Knex } from 'knex';

/**
 * X.509 stores (seed 003; docs/conventions.md X.509 service): the certificates the X.509 service
 * issued, kept in each store attached to the service (`x509_services.*.stores` in the YAML), by
 * (`store_path`, `certificate_id`). The same id is written to every attached store in one
 * transaction, or to none: an id taken in any of them fails the whole request.
 *
 * - `entry_type`: `vical_entry` for an IACA issued with `vicalEntryComplementaryMetadata` (kept in
 *   `vical_metadata`), else `certificate`.
 * - `client`: the API client that issued it; only that client reads it back.
 * Certificates are public data; no key material is stored here.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('x509_stored_certificates', (t) => {
    t.text('store_path').notNullable();
    t.text('certificate_id').notNullable();
    t.text('client').notNullable();
    t.text('entry_type').notNullable();
    /** `iaca`, `document_signer` or `generic`: which endpoint issued it. */
    t.text('profile').notNullable();
    t.text('certificate_pem').notNullable();
    t.text('serial_number').notNullable();
    t.jsonb('vical_metadata');
    t.timestamp('not_before', { useTz: true }).notNullable();
    t.timestamp('not_after', { useTz: true }).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['store_path', 'certificate_id']);
  });
  await knex.raw(`
    alter table x509_stored_certificates
      add constraint x509_stored_entry_type check (entry_type in ('certificate', 'vical_entry')),
      add constraint x509_stored_profile check (profile in ('iaca', 'document_signer', 'generic')),
      add constraint x509_stored_vical check ((entry_type = 'vical_entry') = (vical_metadata is not null));
    create index x509_stored_by_client on x509_stored_certificates (client, store_path, created_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('x509_stored_certificates');
}

import type { Knex } from 'knex';

/**
 * CRLs of the X.509 service (issue 20; docs/conventions.md, X.509 service: CRLs).
 *
 * - `x509_iacas`: every IACA the service can sign a CRL for, by `id` (22 base64url characters of 16
 *   random bytes; its CRL is `$ISSUER_URL/x509/crls/<id>.crl`): IACAs issued by
 *   `POST .../iso/iacas` with a KMS-hosted key (`client`, `key_id_path`), and the issuer's own IACAs
 *   (`client` null, `signing_key_kid` = the `signing_keys` row). It keeps the latest CRL signed for it
 *   (`crl_der`, `crl_number`, `crl_this_update`, `crl_next_update`): the CRL number grows by one per
 *   CRL signed (RFC 5280 §5.2.3).
 * - `x509_document_signers`: every Document Signer issued under such an IACA, by (`iaca_id`,
 *   `serial_number`), and its revocation (`revoked_at`, `revocation_reason`, an RFC 5280 §5.3.1
 *   reason name) once revoked. A revoked one is on every later CRL of its IACA until it expires.
 * Certificates and CRLs are public data; keys stay where they were (`kms_keys`, `signing_keys`).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('x509_iacas', (t) => {
    t.text('id').primary();
    t.text('client');
    t.text('key_id_path');
    t.text('signing_key_kid');
    t.text('certificate_pem').notNullable();
    /** Hex SHA-256 of the certificate's DER: an `iaca-pem-cert-descriptor` finds its record by it. */
    t.text('certificate_sha256').notNullable().unique();
    /** Hex subjectKeyIdentifier, and the subject as @peculiar/x509 prints it: an `iaca-cert-data-descriptor` finds its record by both. */
    t.text('key_identifier').notNullable();
    t.text('subject').notNullable();
    t.timestamp('not_after', { useTz: true }).notNullable();
    t.bigInteger('crl_number').notNullable().defaultTo(0);
    t.binary('crl_der');
    t.timestamp('crl_this_update', { useTz: true });
    t.timestamp('crl_next_update', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`
    alter table x509_iacas
      add constraint x509_iacas_key check (
        (client is not null and key_id_path is not null and signing_key_kid is null)
        or (client is null and key_id_path is null and signing_key_kid is not null));
    create unique index x509_iacas_signing_key on x509_iacas (signing_key_kid) where signing_key_kid is not null;
    create index x509_iacas_by_key on x509_iacas (client, key_identifier, created_at);
  `);
  await knex.schema.createTable('x509_document_signers', (t) => {
    t.text('iaca_id').notNullable().references('id').inTable('x509_iacas').onDelete('restrict');
    t.text('serial_number').notNullable();
    t.text('client');
    t.text('certificate_pem').notNullable();
    t.timestamp('not_after', { useTz: true }).notNullable();
    t.timestamp('revoked_at', { useTz: true });
    t.text('revocation_reason');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['iaca_id', 'serial_number']);
  });
  await knex.raw(`
    alter table x509_document_signers
      add constraint x509_ds_revocation check ((revoked_at is null) = (revocation_reason is null));
    create index x509_ds_by_serial on x509_document_signers (serial_number);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('x509_document_signers');
  await knex.schema.dropTable('x509_iacas');
}

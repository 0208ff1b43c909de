import type { Knex } from 'knex';

/**
 * Keys of the KMS service API (src/kms/, docs/architecture.md Data): a client's keys by their walt.id
 * key path `{organization}.{tenant}.{kms}.{keyId}`, generated here or imported as a JWK, with the
 * private part sealed under the key-sealing subkey of the KEK exactly as `signing_keys` is
 * (src/credentials/key-encryption.ts; the additional data is `kms:<client>:<key path>`), so a database
 * dump alone yields no key and an envelope moved to another row does not open.
 *
 * - Unique per (`client`, `key_path`): each API client has its own key paths; another client's key
 *   is indistinguishable from none.
 * - `certificate_pem`: the latest certificate the X.509 service issued for this key as subject, so
 *   a CA-signed request naming this key as issuer gets the issuer's name and key identifier from it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('kms_keys', (t) => {
    t.text('client').notNullable();
    t.text('key_path').notNullable();
    t.text('key_type').notNullable();
    /** RFC 7638 thumbprint of the public key. */
    t.text('kid').notNullable();
    t.jsonb('public_jwk').notNullable();
    t.text('private_key_envelope').notNullable();
    t.text('origin').notNullable();
    t.text('certificate_pem');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['client', 'key_path']);
  });
  await knex.raw(`
    alter table kms_keys
      add constraint kms_keys_key_type check (key_type in ('secp256r1', 'secp384r1', 'Ed25519')),
      add constraint kms_keys_origin check (origin in ('generated', 'imported')),
      add constraint kms_keys_no_private_jwk check (public_jwk -> 'd' is null);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('kms_keys');
}

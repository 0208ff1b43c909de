import type { Knex } from 'knex';

/**
 * Data Integrity (issue 24): a second credential key, Ed25519, for the `eddsa-rdfc-2022` cryptosuite
 * (W3C VC Data Integrity EdDSA Cryptosuites v1.0 §3). It is a purpose of its own
 * (`credential_ed25519`, `alg` `EdDSA`), so the one-active-key-per-purpose index keeps one of each;
 * the P-256 `credential` key signs `ecdsa-rdfc-2019` as well as the JOSE formats.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table signing_keys
      drop constraint signing_keys_purpose,
      add constraint signing_keys_purpose check (purpose in ('credential', 'credential_ed25519', 'document_signer', 'iaca'));
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex('signing_keys').where({ purpose: 'credential_ed25519' }).delete();
  await knex.raw(`
    alter table signing_keys
      drop constraint signing_keys_purpose,
      add constraint signing_keys_purpose check (purpose in ('credential', 'document_signer', 'iaca'));
  `);
}

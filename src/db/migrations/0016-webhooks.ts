import type { Knex } from 'knex';

/**
 * Signed webhooks (issue 18): a signing key of its own, purpose `webhooks` (ES256, P-256), sealed under
 * the KEK like the other signing keys. It signs the `X-Body-Signature` header (seed 002: SHA3-256 over
 * the exact body bytes) and the Bearer JWT of outgoing webhooks; its public part is served at
 * `GET /service/:serviceDid/public-info/public-key/webhooks`.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table signing_keys
      drop constraint signing_keys_purpose,
      add constraint signing_keys_purpose check (purpose in ('credential', 'credential_ed25519', 'document_signer', 'iaca', 'webhooks'));
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex('signing_keys').where({ purpose: 'webhooks' }).delete();
  await knex.raw(`
    alter table signing_keys
      drop constraint signing_keys_purpose,
      add constraint signing_keys_purpose check (purpose in ('credential', 'credential_ed25519', 'document_signer', 'iaca'));
  `);
}

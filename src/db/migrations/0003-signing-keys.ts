import type { Knex } from 'knex';

/**
 * Signing keys (docs/architecture.md, Data and Secrets): the issuer's ES256 keys with their private parts sealed by
 * src/credentials/key-encryption.ts (AES-256-GCM under the KEK from ISSUER_KEK, additional data bound
 * to the kid), so a database dump alone yields no key.
 *
 * - `kid`: RFC 7638 thumbprint of the public key, the `kid` published in /.well-known/jwks.json.
 * - `purpose`: `credential` (SD-JWT VC, VC 2.0, status lists), `document_signer` (mdoc MSOs, with a
 *   certificate issued by the IACA) or `iaca` (the mdoc root verifiers trust).
 * - `state`: `active` signs; `retired` no longer signs but stays published until `not_after`, the end of
 *   validity of the last credential it may have signed. A partial unique index keeps at most one
 *   active key per purpose, whatever several processes attempt at once.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('signing_keys', (t) => {
    t.text('kid').primary();
    t.text('purpose').notNullable();
    t.text('alg').notNullable();
    /** The public JWK as published (kty, crv, x, y, kid, use, alg); never a private member. */
    t.jsonb('public_jwk').notNullable();
    /** `v1.<iv>.<ciphertext>.<tag>` (key-encryption.ts). */
    t.text('private_key_envelope').notNullable();
    /** PEM certificate of `document_signer` and `iaca` keys. */
    t.text('certificate_pem');
    t.text('state').notNullable().defaultTo('active');
    /** Until when credentials signed by this key may be verified; null while active. */
    t.timestamp('not_after', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('retired_at', { useTz: true });
  });
  await knex.raw(`
    alter table signing_keys
      add constraint signing_keys_purpose check (purpose in ('credential', 'document_signer', 'iaca')),
      add constraint signing_keys_state check (state in ('active', 'retired')),
      add constraint signing_keys_retired_at check ((state = 'retired') = (retired_at is not null)),
      add constraint signing_keys_no_private_jwk check (public_jwk -> 'd' is null);
    create unique index signing_keys_one_active_per_purpose on signing_keys (purpose) where state = 'active';
    create index signing_keys_published on signing_keys (purpose, not_after);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('signing_keys');
}

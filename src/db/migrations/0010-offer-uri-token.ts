import type { Knex } from 'knex';

/**
 * Offers (issue 15): the `credential_offer_uri` carries a token of its own, kept only as a SHA-256
 * (the offer id, which workflow histories hold, no longer opens the offer); and an offer is bound
 * to the document content it was made for, so a re-upload cannot change what the holder receives.
 * Both nullable: offers recorded before this migration have neither and are no longer served.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('credential_offers', (t) => {
    t.text('uri_token_hash').unique();
    t.text('document_hash');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('credential_offers', (t) => {
    t.dropColumn('uri_token_hash');
    t.dropColumn('document_hash');
  });
}

import type { Knex } from 'knex';

/**
 * Re-sending an offer's PIN (issue 21): the PIN is derived from the offer id and this generation,
 * which the offer workflow raises on each re-send, so the previous PIN stops working while the
 * pre-authorized code stays the same. 0 is the first PIN (as derived before this migration).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('credential_offers', (t) => {
    t.integer('pin_generation').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('credential_offers', (t) => {
    t.dropColumn('pin_generation');
  });
}

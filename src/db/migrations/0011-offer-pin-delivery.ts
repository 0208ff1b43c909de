import type { Knex } from 'knex';

/**
 * Offers (issue 16): where the PIN went, decided once at preparation ('email', 'authentic_source'
 * or 'none'), so the holder page and the notification answer say the same thing the workflow does.
 * `state` is now kept in step with the offer's workflow (OFFERED → REDEEMED → ISSUED, then its end state).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('credential_offers', (t) => {
    t.text('pin_delivery').notNullable().defaultTo('email');
  });
  await knex('credential_offers').where({ tx_code_required: false }).update({ pin_delivery: 'none' });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('credential_offers', (t) => {
    t.dropColumn('pin_delivery');
  });
}

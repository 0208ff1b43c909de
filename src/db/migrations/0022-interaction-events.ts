import type { Knex } from 'knex';

/**
 * Seed 002 interactions (issue 18): one row per call to a credential type's third party, by its
 * `actionEventId`. The third party's answer (personal data) lives here, never in a workflow history:
 * the interaction workflow and the offer workflow pass the event id. `state` moves
 * `calling` → `issued` | `postponed` | `failed`; a postponed event → `issued` | `failed` by the
 * third party's callback (one UPDATE decides, so a replayed callback changes nothing); `collected`
 * once its credentials were signed.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('interaction_events', (t) => {
    t.text('action_event_id').primary();
    t.text('offer_id').notNullable().index();
    t.text('workflow_id').notNullable();
    t.text('authentic_source').notNullable();
    t.text('vct').notNullable();
    t.text('document_id').notNullable();
    t.text('subscriber_connect_did').notNullable().index();
    /** The holder keys the credentials are bound to (public JWKs). */
    t.jsonb('holder_jwks').notNullable();
    t.text('state').notNullable().defaultTo('calling');
    /** The answer's claims, already cast to the type's schema; null until answered with data. */
    t.jsonb('claims');
    t.text('failure_reason');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('answered_at', { useTz: true });
    t.timestamp('collected_at', { useTz: true });
  });
  await knex.raw(`alter table interaction_events add constraint interaction_events_state check (state in ('calling', 'issued', 'postponed', 'failed', 'collected'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('interaction_events');
}

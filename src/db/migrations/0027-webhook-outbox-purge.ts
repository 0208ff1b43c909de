import type { Knex } from 'knex';

/**
 * Indexes for the upkeep purge of the webhook outbox (webhook-outbox-repository.ts purgeEndedBatch),
 * so its batches stay index lookups however many events have been delivered:
 * - `webhook_deliveries (finished_at) where state <> 'PENDING'`: the ended deliveries past the retention;
 * - `webhook_events (dispatched_at) where dispatched_at is not null`: the dispatched events past it;
 * - `webhook_deliveries (event_id)`: whether an event still has a delivery row (the purge; also the
 *   dispatcher's and the ordered end events' look-ups by event id, which the primary key, led by the
 *   subscriber, does not serve).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create index webhook_deliveries_ended on webhook_deliveries (finished_at) where state <> 'PENDING';
    create index webhook_events_dispatched on webhook_events (dispatched_at) where dispatched_at is not null;
    create index webhook_deliveries_event on webhook_deliveries (event_id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index webhook_deliveries_event; drop index webhook_events_dispatched; drop index webhook_deliveries_ended;');
}

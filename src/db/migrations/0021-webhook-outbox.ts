import type { Knex } from 'knex';

/**
 * Webhook events of the offer path and their per-subscriber ordering (issue 18, part A).
 *
 * - `webhook_events` is an outbox: an event recorded outside a workflow (offer created, redeemed,
 *   credential issued, wallet notification received) is inserted in the same transaction as the
 *   state change it reports, so it cannot be lost when the process dies right after; the worker's
 *   dispatcher (src/webhooks/outbox-dispatcher.ts) starts its deliveries and sets `dispatched_at`.
 * - `webhook_deliveries` is one row per (subscriber, event) that is delivered in order per business
 *   object (the document: source, vct, document id), with the event's `position` (one sequence for
 *   every event, so insertion order). A delivery sends only when no earlier delivery of the same
 *   subscriber and document is still `PENDING` (activities/webhook-activities.ts).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create sequence webhook_event_position;
    create table webhook_events (
      id text primary key,
      type text not null,
      authentic_source text not null,
      vct text not null,
      document_id text not null,
      occurred_at timestamptz not null default clock_timestamp(),
      data jsonb not null,
      position bigint not null default nextval('webhook_event_position'),
      dispatched_at timestamptz,
      discarded boolean not null default false
    );
    create index webhook_events_undispatched on webhook_events (position) where dispatched_at is null;
    create table webhook_deliveries (
      subscriber text not null,
      event_id text not null,
      authentic_source text not null,
      vct text not null,
      document_id text not null,
      position bigint not null,
      state text not null default 'PENDING',
      waits integer not null default 0,
      first_attempt_at timestamptz,
      created_at timestamptz not null default now(),
      finished_at timestamptz,
      primary key (subscriber, event_id)
    );
    create index webhook_deliveries_pending on webhook_deliveries (subscriber, authentic_source, vct, document_id, position) where state = 'PENDING';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table webhook_deliveries; drop table webhook_events; drop sequence webhook_event_position;');
}

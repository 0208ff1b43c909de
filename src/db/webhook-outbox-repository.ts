import type { WebhookEvent } from '../../workflows/contracts/webhook-delivery';
import type { DocumentKey } from './documents-repository';
import type { Db } from './knex';

/** An event as recorded in the outbox (migration 0021): business ids only, never document data. */
export interface OutboxEventInput extends DocumentKey {
  id: string;
  type: string;
  data: WebhookEvent['data'];
}

export interface OutboxEventRow extends OutboxEventInput {
  occurred_at: Date;
  position: string;
  dispatched_at: Date | null;
  discarded: boolean;
}

/** A subscriber's delivery of one ordered event (`webhook_deliveries`). */
export interface OrderedDeliveryRow extends DocumentKey {
  subscriber: string;
  event_id: string;
  position: string;
  state: string;
  waits: number;
  first_attempt_at: Date | null;
  created_at: Date;
}

/** Who hears an event of `type` about `authenticSource`'s objects (config.ts webhookSubscribersFor). */
export type SubscribersFor = (authenticSource: string, type: string) => string[];

/** The event as it is sent: rebuilt from its row (the time is the row's, the data the row's). */
export const outboxWebhookEvent = (row: Pick<OutboxEventRow, 'id' | 'type' | 'occurred_at' | 'data'>): WebhookEvent => ({
  id: row.id,
  type: row.type,
  occurred_at: new Date(row.occurred_at).toISOString(),
  data: row.data,
});

/**
 * How long an ended delivery (`webhook_deliveries` not `PENDING`) and a dispatched event whose
 * deliveries are all gone are kept before the upkeep purge deletes them (docs/operations.md): 35
 * days, longer than the longest delivery horizon (30 days), so a dead letter can be redelivered
 * for at least that long.
 */
export const WEBHOOK_OUTBOX_RETENTION_SECONDS = 35 * 86_400;

const docKey = (k: DocumentKey): DocumentKey => ({ authentic_source: k.authentic_source, vct: k.vct, document_id: k.document_id });

/**
 * The webhook outbox and the ordering ledger (migration 0021). `record` runs inside the caller's
 * transaction, the one that makes the state change the event reports; the worker's dispatcher
 * (src/webhooks/outbox-dispatcher.ts) starts the deliveries later, so a process that dies right
 * after the commit loses nothing. Event ids are deterministic, so a retried step records its event once.
 */
export function createWebhookOutbox(db: Db, subscribersFor: SubscribersFor) {
  const addDeliveries = async (trx: Db, event: { id: string; type: string } & DocumentKey, position: string): Promise<number> => {
    const subscribers = subscribersFor(event.authentic_source, event.type);
    if (subscribers.length === 0) return 0;
    await trx('webhook_deliveries')
      .insert(subscribers.map((subscriber) => ({ subscriber, event_id: event.id, ...docKey(event), position })))
      .onConflict(['subscriber', 'event_id'])
      .ignore();
    return subscribers.length;
  };

  /** Whether anybody subscribes to `event`: a change whose only companion is its event needs no transaction when nobody does. */
  const wants = (event: Pick<OutboxEventInput, 'authentic_source' | 'type'>): boolean => subscribersFor(event.authentic_source, event.type).length > 0;

  const record = async (trx: Db, event: OutboxEventInput): Promise<boolean> => {
    // Nobody wants it: nothing to record or dispatch (two statements fewer per event on an issuer without subscribers).
    if (!wants(event)) return false;
    const [row] = (await trx('webhook_events')
      .insert({ id: event.id, type: event.type, ...docKey(event), data: JSON.stringify(event.data) })
      .onConflict('id')
      .ignore()
      .returning(['position'])) as { position: string }[];
    if (!row) return false;
    await addDeliveries(trx, event, row.position);
    return true;
  };

  return {
    /** Records `event` in `trx` with a delivery row per subscriber that wants it; false when it was recorded before, or nobody wants it. */
    record,

    wants,

    /** Records an event that is a change of its own (the wallet's notification arrived), in a transaction of its own. */
    async recordNow(event: OutboxEventInput): Promise<boolean> {
      if (!wants(event)) return false;
      return db.transaction((trx) => record(trx, event));
    },

    /**
     * The ordering rows of an event that its own workflow delivers (an offer's end event, started by
     * workflows/credential-offer.ts): a position after every event recorded before, no outbox row.
     */
    async recordOrdered(trx: Db, event: { id: string; type: string } & DocumentKey): Promise<void> {
      if (subscribersFor(event.authentic_source, event.type).length === 0) return;
      const existing = await trx('webhook_deliveries').where({ event_id: event.id }).first('position');
      const position = (existing as { position: string } | undefined)?.position ?? ((await trx.raw(`select nextval('webhook_event_position') as p`)) as { rows: { p: string }[] }).rows[0]!.p;
      await addDeliveries(trx, event, position);
    },

    /** An event whose change was undone before it was dispatched (an offer whose start lost to a running one): never sent. */
    async discard(id: string): Promise<void> {
      await db.transaction(async (trx) => {
        await trx('webhook_deliveries').where({ event_id: id }).delete();
        await trx('webhook_events').where({ id }).update({ dispatched_at: trx.fn.now(), discarded: true });
      });
    },

    async byId(id: string): Promise<OutboxEventRow | undefined> {
      return (await db('webhook_events').where({ id }).first()) as OutboxEventRow | undefined;
    },

    /**
     * Claims up to `limit` undispatched events, oldest first, locked (SKIP LOCKED: several workers
     * share the work), and hands them with their subscribers to `start`, which starts the deliveries
     * and says which to leave for a later pass and which to discard; the rest are marked dispatched
     * in the same transaction. A crash before the commit leaves them undispatched: started again,
     * the deliveries find their workflows already there.
     */
    async dispatch(limit: number, start: (rows: (OutboxEventRow & { subscribers: string[] })[]) => Promise<{ later: string[]; discard: string[] }>): Promise<number> {
      return db.transaction(async (trx) => {
        const rows = (await trx('webhook_events').whereNull('dispatched_at').orderBy('position').limit(limit).forUpdate().skipLocked()) as OutboxEventRow[];
        if (rows.length === 0) return 0;
        const deliveries = (await trx('webhook_deliveries').whereIn('event_id', rows.map((r) => r.id)).select('event_id', 'subscriber')) as { event_id: string; subscriber: string }[];
        const { later, discard } = await start(rows.map((r) => ({ ...r, subscribers: deliveries.filter((d) => d.event_id === r.id).map((d) => d.subscriber) })));
        if (discard.length > 0) {
          await trx('webhook_deliveries').whereIn('event_id', discard).delete();
          await trx('webhook_events').whereIn('id', discard).update({ dispatched_at: trx.fn.now(), discarded: true });
        }
        const done = rows.map((r) => r.id).filter((id) => !later.includes(id) && !discard.includes(id));
        if (done.length > 0) await trx('webhook_events').whereIn('id', done).update({ dispatched_at: trx.fn.now() });
        return done.length;
      });
    },

    /** The subscriber's ordered delivery of the event, if it is one. */
    async delivery(subscriber: string, eventId: string): Promise<OrderedDeliveryRow | undefined> {
      return (await db('webhook_deliveries').where({ subscriber, event_id: eventId }).first()) as OrderedDeliveryRow | undefined;
    },

    /** An earlier delivery of the same subscriber and document that has not ended yet (the one to wait for). */
    async earlierPending(row: OrderedDeliveryRow): Promise<string | undefined> {
      const earlier = (await db('webhook_deliveries')
        .where({ subscriber: row.subscriber, ...docKey(row), state: 'PENDING' })
        .andWhere('position', '<', row.position)
        .orderBy('position')
        .first('event_id')) as { event_id: string } | undefined;
      return earlier?.event_id;
    },

    /** Counts a wait (so the send attempts' backoff starts at the first real attempt). */
    async noteWait(subscriber: string, eventId: string): Promise<void> {
      await db('webhook_deliveries').where({ subscriber, event_id: eventId }).increment('waits', 1);
    },

    /** The first real send attempt's time (set by the first attempt). */
    async noteAttempt(subscriber: string, eventId: string): Promise<Date> {
      await db('webhook_deliveries').where({ subscriber, event_id: eventId }).whereNull('first_attempt_at').update({ first_attempt_at: db.fn.now() });
      const row = (await db('webhook_deliveries').where({ subscriber, event_id: eventId }).first('first_attempt_at')) as { first_attempt_at: Date };
      return new Date(row.first_attempt_at);
    },

    /**
     * One bounded batch of the upkeep purge (workflows/upkeep-purge.ts): up to `batchSize` deliveries
     * that ended more than `WEBHOOK_OUTBOX_RETENTION_SECONDS` ago, then up to `batchSize` events
     * dispatched that long ago with no delivery row left. A `PENDING` delivery is never deleted, nor
     * the event it delivers, nor an undispatched event. Rows locked by another statement are skipped.
     */
    async purgeEndedBatch(batchSize: number): Promise<{ deliveries: number; events: number }> {
      if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
      const deliveries = await db.raw<{ rowCount: number }>(
        `delete from webhook_deliveries where ctid = any(array(
           select ctid from webhook_deliveries where state <> 'PENDING' and finished_at < now() - make_interval(secs => ?) limit ? for update skip locked))`,
        [WEBHOOK_OUTBOX_RETENTION_SECONDS, batchSize],
      );
      const events = await db.raw<{ rowCount: number }>(
        `delete from webhook_events where ctid = any(array(
           select e.ctid from webhook_events e
           where e.dispatched_at < now() - make_interval(secs => ?) and not exists (select 1 from webhook_deliveries d where d.event_id = e.id)
           limit ? for update of e skip locked))`,
        [WEBHOOK_OUTBOX_RETENTION_SECONDS, batchSize],
      );
      return { deliveries: deliveries.rowCount, events: events.rowCount };
    },

    /** The delivery ended (DELIVERED, DEAD_LETTERED, REFUSED, NOT_CONFIGURED): later events of its document go next. */
    async finish(subscriber: string, eventId: string, state: string): Promise<void> {
      await db('webhook_deliveries').where({ subscriber, event_id: eventId }).update({ state, finished_at: db.fn.now() });
    },
  };
}

export type WebhookOutbox = ReturnType<typeof createWebhookOutbox>;

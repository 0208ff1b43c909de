import { interactionOutcomeEvent } from '../webhooks/offer-events';
import type { Db } from './knex';
import type { WebhookOutbox } from './webhook-outbox-repository';

export type InteractionEventState = 'calling' | 'issued' | 'postponed' | 'failed' | 'collected';

/** A row of `interaction_events` (migration 0022): one call to a credential type's third party (seed 002). */
export interface InteractionEventRecord {
  action_event_id: string;
  offer_id: string;
  workflow_id: string;
  authentic_source: string;
  vct: string;
  document_id: string;
  subscriber_connect_did: string;
  holder_jwks: Record<string, unknown>[];
  state: InteractionEventState;
  claims: Record<string, unknown> | null;
  failure_reason: string | null;
  created_at: Date;
  answered_at: Date | null;
  collected_at: Date | null;
}

export type NewInteractionEvent = Pick<InteractionEventRecord, 'action_event_id' | 'offer_id' | 'workflow_id' | 'authentic_source' | 'vct' | 'document_id' | 'subscriber_connect_did' | 'holder_jwks'>;

/** What an answer moves an event to, as its webhook event names it (src/webhooks/offer-events.ts). */
const OUTCOME_OF = { issued: 'answered', postponed: 'postponed', failed: 'failed' } as const;

/**
 * The interaction events of migration 0022; every state change is one conditional UPDATE, so two
 * answers cannot both win. Each answer records its webhook event (`interaction.answered`,
 * `.postponed`, `.failed`) in the outbox in the same transaction, so it is delivered in order with
 * the offer's other events and never lost.
 */
export function createInteractionEventsRepository(db: Db, outbox: Pick<WebhookOutbox, 'record'>) {
  return {
    /** Records the event before the third party is called; a retried activity finds its own row. */
    async create(event: NewInteractionEvent): Promise<void> {
      await db('interaction_events').insert({ ...event, holder_jwks: JSON.stringify(event.holder_jwks) }).onConflict('action_event_id').ignore();
    },
    async byId(actionEventId: string): Promise<InteractionEventRecord | undefined> {
      return db('interaction_events').where({ action_event_id: actionEventId }).first();
    },
    /** The events of an offer, oldest first. */
    async byOffer(offerId: string): Promise<InteractionEventRecord[]> {
      return db('interaction_events').where({ offer_id: offerId }).orderBy('created_at');
    },
    /** Moves the event from `from` to `to` with the answer's claims or reason, and records its webhook event; false when it is no longer in `from`. */
    async answer(actionEventId: string, from: InteractionEventState, to: 'issued' | 'postponed' | 'failed', answer: { claims?: Record<string, unknown>; reason?: string; /** The third party's callback answered (the gateway's /webhook-accept/ routes). */ byCallback?: boolean } = {}): Promise<boolean> {
      return db.transaction(async (trx) => {
        const [row] = (await trx('interaction_events')
          .where({ action_event_id: actionEventId, state: from })
          .update({ state: to, answered_at: trx.fn.now(), ...(answer.claims ? { claims: JSON.stringify(answer.claims) } : {}), ...(answer.reason !== undefined ? { failure_reason: answer.reason.slice(0, 500) } : {}) })
          .returning(['action_event_id', 'offer_id', 'workflow_id', 'authentic_source', 'vct', 'document_id'])) as Pick<InteractionEventRecord, 'action_event_id' | 'offer_id' | 'workflow_id' | 'authentic_source' | 'vct' | 'document_id'>[];
        if (!row) return false;
        await outbox.record(trx, interactionOutcomeEvent(OUTCOME_OF[to], row, answer.byCallback === true));
        return true;
      });
    },
    /** Marks an issued event collected (its credentials were signed); false when it was not `issued`. */
    async markCollected(actionEventId: string): Promise<boolean> {
      const rows = await db('interaction_events').where({ action_event_id: actionEventId, state: 'issued' }).update({ state: 'collected', collected_at: db.fn.now() }).returning('action_event_id');
      return rows.length === 1;
    },
    /** The latest event of a holder (by its `subscriberConnectDid`) with a source and type, for a push without a pending event. */
    async latestForHolder(subscriberConnectDid: string): Promise<InteractionEventRecord | undefined> {
      return db('interaction_events').where({ subscriber_connect_did: subscriberConnectDid }).orderBy('created_at', 'desc').first();
    },
  };
}

export type InteractionEventsRepository = ReturnType<typeof createInteractionEventsRepository>;

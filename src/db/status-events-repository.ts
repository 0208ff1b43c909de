import { randomBytes } from 'node:crypto';
import type { DocumentKey } from './documents-repository';
import type { auditRow } from './audit-log-repository';
import type { Db } from './knex';

/**
 * Event types of status changes, as sent to the authentic source's notification_endpoint (and the
 * issuer-wide subscribers that want them); `credential.revoked` is a seed 001 credential's.
 */
export type StatusEventType = 'document.revoked' | 'document.suspended' | 'document.reinstated' | 'credential.revoked';

/** The key a seed 001 credential's status events are recorded under (it has no authentic source or document). */
export const CLIENT_EVENT_PREFIX = 'client:';
export const credentialEventKey = (client: string, credentialType: string, credentialId: string): DocumentKey => ({ authentic_source: `${CLIENT_EVENT_PREFIX}${client}`, vct: credentialType, document_id: credentialId });

export interface StatusEventRow extends DocumentKey {
  id: string;
  type: StatusEventType;
  credentials_changed: number;
  occurred_at: Date;
  /** Set once its webhook deliveries have all started (migration 0020); null while the outbox holds it. */
  deliveries_started_at?: Date | null;
}

/** `status.<128 random bits>`: the id of a status event (and its webhook's Idempotency-Key). */
export const STATUS_EVENT_ID = /^status\.[A-Za-z0-9_-]{22}$/;

/** The webhook event of a status change: type, id, time and business ids; never document data. */
export const statusWebhookEvent = (row: StatusEventRow): { id: string; type: StatusEventType; occurred_at: string; data: Record<string, string | number> } => ({
  id: row.id,
  type: row.type,
  occurred_at: new Date(row.occurred_at).toISOString(),
  data:
    row.type === 'credential.revoked'
      ? { client: row.authentic_source.slice(CLIENT_EVENT_PREFIX.length), credential_type: row.vct, credential_id: row.document_id }
      : { vct: row.vct, document_id: row.document_id, credentials_changed: row.credentials_changed },
});

/** Status events (migration 0015 `status_events`), written in the transaction of the change they report. */
export function createStatusEventsRepository(db: Db) {
  return {
    /**
     * Records a status event in the change's transaction: the outbox row of its webhook deliveries.
     * `deliveriesStarted`: a workflow starts them durably (the revocation workflow's child), so the
     * row is not left for the outbox sweep.
     */
    async record(trx: Db, key: DocumentKey, type: StatusEventType, credentialsChanged: number, at: Date, options: { deliveriesStarted?: boolean } = {}): Promise<StatusEventRow> {
      const [row] = (await trx('status_events')
        .insert({ id: `status.${randomBytes(16).toString('base64url')}`, ...key, type, credentials_changed: credentialsChanged, occurred_at: at, deliveries_started_at: options.deliveriesStarted ? at : null })
        .returning('*')) as StatusEventRow[];
      return row!;
    },
    /**
     * Revokes one credential's status-list entry, with its audit entry and its status event, in ONE
     * statement (a single statement is atomic: no BEGIN/COMMIT round trips; `npm run bench -- status`):
     * the audit and event rows are written only if the entry flipped. Undefined when it was already
     * revoked (or has no entry): nothing is written then.
     */
    async revokeCredentialEntry(credentialRef: string, audit: ReturnType<typeof auditRow>, key: DocumentKey, type: StatusEventType, at: Date, options: { deliveriesStarted?: boolean } = {}): Promise<StatusEventRow | undefined> {
      const { rows } = await db.raw<{ rows: StatusEventRow[] }>(
        `with flipped as (
           update status_list_entries set status = 1, updated_at = now() where credential_ref = ? and status <> 1 returning 1
         ), audited as (
           insert into audit_log (request_id, actor, action, method, path, status, target, client_ip)
           select ?, ?, ?, ?, ?, ?::int, ?::jsonb, ? where exists (select 1 from flipped)
         )
         insert into status_events (id, authentic_source, vct, document_id, type, credentials_changed, occurred_at, deliveries_started_at)
         select ?, ?, ?, ?, ?, (select count(*) from flipped)::int, ?::timestamptz, ?::timestamptz where exists (select 1 from flipped)
         returning *`,
        [
          credentialRef,
          audit.request_id, audit.actor, audit.action, audit.method, audit.path, audit.status, audit.target, audit.client_ip,
          `status.${randomBytes(16).toString('base64url')}`, key.authentic_source, key.vct, key.document_id, type, at, options.deliveriesStarted ? at : null,
        ],
      );
      return rows[0];
    },
    /** Every subscriber's delivery workflow has started. */
    async markDeliveriesStarted(id: string): Promise<void> {
      await db('status_events').where({ id }).whereNull('deliveries_started_at').update({ deliveries_started_at: db.fn.now() });
    },
    /** Events whose deliveries have not all started and that occurred before `before` (the outbox sweep's work), oldest first. */
    async pendingDeliveries(before: Date, limit = 100): Promise<StatusEventRow[]> {
      return (await db('status_events').whereNull('deliveries_started_at').where('occurred_at', '<', before).orderBy('occurred_at').limit(limit)) as StatusEventRow[];
    },
    async byId(id: string): Promise<StatusEventRow | undefined> {
      return (await db('status_events').where({ id }).first()) as StatusEventRow | undefined;
    },
    async forDocument(key: DocumentKey): Promise<StatusEventRow[]> {
      return (await db('status_events').where(key).orderBy('occurred_at')) as StatusEventRow[];
    },
  };
}

export type StatusEventsRepository = ReturnType<typeof createStatusEventsRepository>;

/**
 * Checks a status event against its row before the webhook activity sends it (as verifyWebhookEvent
 * does for offer events): the id names a recorded event of this subscriber, and what is sent is the
 * event rebuilt from the row.
 */
export async function verifyStatusEvent(subscriber: string, event: { id: string; type: string; data: Record<string, unknown> }, events: Pick<StatusEventsRepository, 'byId'>) {
  const row = await events.byId(event.id);
  if (!row || row.authentic_source !== subscriber) return { success: false as const, error: 'no status event of this subscriber has that id' };
  const rebuilt = statusWebhookEvent(row);
  const given = event.data ?? {};
  const same = event.type === rebuilt.type && Object.keys(given).length === Object.keys(rebuilt.data).length && Object.entries(rebuilt.data).every(([k, v]) => given[k] === v);
  if (!same) return { success: false as const, error: 'the event does not match the status event record' };
  return { success: true as const, event: rebuilt };
}

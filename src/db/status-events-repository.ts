import { randomBytes } from 'node:crypto';
import type { DocumentKey } from './documents-repository';
import type { auditRow } from './audit-log-repository';
import { type Db, preparedQuery } from './knex';

/**
 * Event types of status changes, as sent to the authentic source's notification_endpoint (and the
 * issuer-wide subscribers that want them); `credential.revoked` is a seed 001 credential's.
 */
export type StatusEventType = 'document.revoked' | 'document.suspended' | 'document.reinstated' | 'credential.revoked';

/** The key a seed 001 credential's status events are recorded under (it has no authentic source or document). */
export const CLIENT_EVENT_PREFIX = 'client:';
export const credentialEventSource = (client: string) => `${CLIENT_EVENT_PREFIX}${client}`;
export const credentialEventKey = (client: string, credentialType: string, credentialId: string): DocumentKey => ({ authentic_source: credentialEventSource(client), vct: credentialType, document_id: credentialId });

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

/** The statement of `revokeOwnedCredential`, prepared once per connection (parse and plan were most of its PostgreSQL time). */
const REVOKE_OWNED_CREDENTIAL_SQL = `with owned as (
    select id, credential_id, credential_type, status_list_index, data->'proof'->>'type' = 'DataIntegrityProof' as data_integrity
    from w3c_credentials where id = $1 and client = $2
  ), flipped as (
    update status_list_entries set status = 1, updated_at = now()
    where credential_ref = (select 'w3c:' || id::text from owned) and status <> 1 returning 1
  ), audited as (
    insert into audit_log (request_id, actor, action, method, path, status, target, client_ip)
    select $3, $4, $5, $6, $7, $8::int, $9::jsonb || jsonb_build_object('credential_id', owned.credential_id), $10 from owned where exists (select 1 from flipped)
  ), event as (
    insert into status_events (id, authentic_source, vct, document_id, type, credentials_changed, occurred_at, deliveries_started_at)
    select $11, $12, owned.credential_type, owned.id::text, $13, (select count(*) from flipped)::int, $14::timestamptz, $15::timestamptz from owned where exists (select 1 from flipped)
    returning *
  )
  select owned.*, event.id as event_id, event.authentic_source as event_authentic_source, event.vct as event_vct, event.document_id as event_document_id,
         event.type as event_type, event.credentials_changed as event_credentials_changed, event.occurred_at as event_occurred_at, event.deliveries_started_at as event_deliveries_started_at
  from owned left join event on true`;

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
     * Revokes a seed 001 credential (`w3c_credentials.id`) if `client` owns it: the ownership check,
     * the flip of its status-list entry, its audit entry and its `credential.revoked` event in ONE
     * statement (a single statement is atomic: no BEGIN/COMMIT round trips, and no separate look-up;
     * `npm run bench -- status`). The audit and event rows are written only if the entry flipped; the
     * audit target gets the credential's `credential_id`, the event the key `credentialEventKey`
     * gives. `undefined`: no such credential of this client (404); `event` undefined: it was already
     * revoked (409), nothing written.
     */
    async revokeOwnedCredential(
      id: string,
      client: string,
      audit: ReturnType<typeof auditRow>,
      at: Date,
      options: { deliveriesStarted?: boolean } = {},
    ): Promise<{ credential: { id: string; credential_id: string; credential_type: string; status_list_index: number; data_integrity: boolean }; event: StatusEventRow | undefined } | undefined> {
      const type: StatusEventType = 'credential.revoked';
      const rows = await preparedQuery<Record<string, unknown> & { id: string; credential_id: string; credential_type: string; status_list_index: string | number; data_integrity: boolean | null }>(
        db,
        'status-revoke-owned-credential',
        REVOKE_OWNED_CREDENTIAL_SQL,
        [
          id, client,
          audit.request_id, audit.actor, audit.action, audit.method, audit.path, audit.status, audit.target, audit.client_ip,
          `status.${randomBytes(16).toString('base64url')}`, credentialEventSource(client), type, at, options.deliveriesStarted ? at : null,
        ],
      );
      const row = rows[0];
      if (!row) return undefined;
      const credential = { id: row.id, credential_id: row.credential_id, credential_type: row.credential_type, status_list_index: Number(row.status_list_index), data_integrity: row.data_integrity === true };
      const event: StatusEventRow | undefined =
        row.event_id == null
          ? undefined
          : {
              id: row.event_id as string,
              authentic_source: row.event_authentic_source as string,
              vct: row.event_vct as string,
              document_id: row.event_document_id as string,
              type: row.event_type as StatusEventType,
              credentials_changed: row.event_credentials_changed as number,
              occurred_at: row.event_occurred_at as Date,
              deliveries_started_at: (row.event_deliveries_started_at as Date | null) ?? null,
            };
      return { credential, event };
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

import { type Db, preparedQuery } from './knex';

export interface AuditEntry {
  requestId?: string;
  actor: string;
  action: string;
  method?: string;
  path?: string;
  status?: number;
  /** Ids only; never document data, identities or secrets. */
  target?: Record<string, string | number | boolean | null>;
  clientIp?: string;
}

/** Request ids the audit log keeps: 1-128 characters of [A-Za-z0-9._:-] (a UUID, a W3C trace id, `svc:1234`). */
export const isValidRequestId = (id: string): boolean => /^[A-Za-z0-9._:-]{1,128}$/.test(id);

/** The row an entry becomes; exported for writers that append in their own SQL statement. A malformed request id is not written. */
export function auditRow(entry: AuditEntry) {
  return {
    request_id: entry.requestId !== undefined && isValidRequestId(entry.requestId) ? entry.requestId : null,
    actor: entry.actor,
    action: entry.action,
    method: entry.method ?? null,
    path: entry.path ?? null,
    status: entry.status ?? null,
    target: JSON.stringify(entry.target ?? {}),
    client_ip: entry.clientIp ?? null,
  };
}

export function createAuditLogRepository(db: Db) {
  return {
    /** Appends one entry; pass the transaction of the business write so both commit or neither does. */
    async append(entry: AuditEntry, trx: Db = db): Promise<void> {
      const row = auditRow(entry);
      await preparedQuery(trx, 'audit-append', 'insert into audit_log (request_id, actor, action, method, path, status, target, client_ip) values ($1, $2, $3, $4, $5, $6, $7, $8)', [
        row.request_id, row.actor, row.action, row.method, row.path, row.status, row.target, row.client_ip,
      ]);
    },
    /**
     * The `webhook.dead_lettered` entry the delivery workflow wrote for its run `runId` (actor
     * `system`): what a `webhook.dead_lettered` event is rebuilt from (activities/webhook-activities.ts).
     */
    async webhookDeadLetter(runId: string): Promise<{ at: Date; target: Record<string, unknown> } | undefined> {
      const row = (await db('audit_log').where({ action: 'webhook.dead_lettered', actor: 'system' }).whereRaw("target->>'run_id' = ?", [runId]).orderBy('id').first('at', 'target')) as
        | { at: Date; target: Record<string, unknown> }
        | undefined;
      return row;
    },
    async list(filter: { actor?: string; limit?: number } = {}) {
      const q = db('audit_log').orderBy('id', 'desc').limit(filter.limit ?? 100);
      if (filter.actor) q.where('actor', filter.actor);
      return q.select('*');
    },
  };
}

export type AuditLogRepository = ReturnType<typeof createAuditLogRepository>;

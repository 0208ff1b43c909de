import type { Logger } from 'pino';
import { auditRow, type AuditEntry } from '../db/audit-log-repository';
import type { Db } from '../db/knex';

/**
 * The audit trail of the IssuerService: one append-only `audit_log` row per call, with the caller's
 * certificate subject (issue 15, finding 1). Each call awaits its row before the reply leaves, so no
 * credential is handed out unrecorded (a failed write fails the call).
 *
 * Group commit keeps that off the signing path's throughput: while one INSERT is in flight, the rows
 * of the calls finishing meanwhile queue up and go out together in the next one. A lone call costs
 * one INSERT round trip; under load, calls share them (at most MAX_BATCH rows per statement).
 */

export interface GrpcAuditLog {
  /** Resolves once the entry is stored. */
  record(entry: AuditEntry): Promise<void>;
  /** Waits for the rows already queued. */
  close(): Promise<void>;
}

/** Writes the given entries in one statement. */
export type AuditWriter = (entries: readonly AuditEntry[]) => Promise<void>;

const MAX_BATCH = 500;

export function auditWriterFor(db: Db): AuditWriter {
  return async (entries) => {
    await db('audit_log').insert(entries.map(auditRow));
  };
}

export function createGrpcAuditLog(write: AuditWriter, logger: Logger): GrpcAuditLog {
  let queue: { entry: AuditEntry; resolve: () => void; reject: (err: unknown) => void }[] = [];
  let writing: Promise<void> | undefined;

  const drain = async (): Promise<void> => {
    while (queue.length > 0) {
      const batch = queue.slice(0, MAX_BATCH);
      queue = queue.slice(batch.length);
      try {
        await write(batch.map((item) => item.entry));
        for (const item of batch) item.resolve();
      } catch (err) {
        logger.error({ err, rows: batch.length }, 'grpc audit rows could not be written');
        for (const item of batch) item.reject(err);
      }
    }
  };

  // Rows queued between the loop's last check and the end of `drain` are picked up by the next kick.
  const kick = (): void => {
    if (writing || queue.length === 0) return;
    writing = drain().finally(() => {
      writing = undefined;
      kick();
    });
  };

  return {
    record(entry) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ entry, resolve, reject });
        kick();
      });
    },
    async close() {
      while (writing) await writing;
    },
  };
}

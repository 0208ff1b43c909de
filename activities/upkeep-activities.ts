import { Context } from '@temporalio/activity';
import type { ExpiredRowsRepository, ExpiringTable } from '../src/db/nonces-repository';
import type { StatusListsRepository } from '../src/db/status-lists-repository';
import type { WebhookOutbox } from '../src/db/webhook-outbox-repository';

export interface UpkeepDeps {
  expiredRows: ExpiredRowsRepository;
  statusLists: StatusListsRepository;
  /** The webhook outbox and its ordering ledger (migration 0021), purged of ended rows. */
  outbox: WebhookOutbox;
}

export interface PurgeExpiredInput {
  table: ExpiringTable;
  /** Rows per DELETE statement. */
  batchSize: number;
  /** Statements per activity call, so one call stays well inside its timeout. */
  maxBatches: number;
}

export interface PurgeExpiredResult {
  deleted: number;
  /** True when the last batch was full: there may be more, and the workflow calls again. */
  more: boolean;
}

export interface PurgeWebhookOutboxResult extends PurgeExpiredResult {
  /** Of `deleted`: the webhook_deliveries rows and the webhook_events rows. */
  deliveries: number;
  events: number;
}

export const createUpkeepActivities = ({ expiredRows, statusLists, outbox }: UpkeepDeps) => ({
  /** Deletes expired rows of one table in bounded batches; idempotent (deleting what is gone deletes nothing). */
  async purgeExpiredRows({ table, batchSize, maxBatches }: PurgeExpiredInput): Promise<PurgeExpiredResult> {
    let deleted = 0;
    for (let batch = 0; batch < maxBatches; batch++) {
      const n = await expiredRows.purgeBatch(table, batchSize);
      deleted += n;
      Context.current().heartbeat({ table, deleted });
      if (n < batchSize) return { deleted, more: false };
    }
    return { deleted, more: true };
  },

  /** Frees status-list indices reserved by issuance requests that never came back, in bounded batches (same contract as purgeExpiredRows). */
  async releaseStaleStatusReservations({ batchSize, maxBatches }: Omit<PurgeExpiredInput, 'table'>): Promise<PurgeExpiredResult> {
    let deleted = 0;
    for (let batch = 0; batch < maxBatches; batch++) {
      const n = await statusLists.releaseStale(batchSize);
      deleted += n;
      Context.current().heartbeat({ deleted });
      if (n < batchSize) return { deleted, more: false };
    }
    return { deleted, more: true };
  },

  /**
   * Deletes ended webhook deliveries and dispatched events older than the outbox retention
   * (WEBHOOK_OUTBOX_RETENTION_SECONDS), never a pending one, in bounded batches (same contract as purgeExpiredRows).
   */
  async purgeWebhookOutbox({ batchSize, maxBatches }: Omit<PurgeExpiredInput, 'table'>): Promise<PurgeWebhookOutboxResult> {
    let deliveries = 0;
    let events = 0;
    for (let batch = 0; batch < maxBatches; batch++) {
      const n = await outbox.purgeEndedBatch(batchSize);
      deliveries += n.deliveries;
      events += n.events;
      Context.current().heartbeat({ deliveries, events });
      if (n.deliveries < batchSize && n.events < batchSize) return { deleted: deliveries + events, deliveries, events, more: false };
    }
    return { deleted: deliveries + events, deliveries, events, more: true };
  },
});

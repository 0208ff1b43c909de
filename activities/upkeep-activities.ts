import { Context } from '@temporalio/activity';
import type { ExpiredRowsRepository, ExpiringTable } from '../src/db/nonces-repository';
import type { StatusListsRepository } from '../src/db/status-lists-repository';

export interface UpkeepDeps {
  expiredRows: ExpiredRowsRepository;
  statusLists: StatusListsRepository;
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

export const createUpkeepActivities = ({ expiredRows, statusLists }: UpkeepDeps) => ({
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
});

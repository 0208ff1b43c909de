import { patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { PURGED_TABLES, type UpkeepPurgeInput, type UpkeepPurgeStatus, upkeepPurgeStateQuery } from './contracts/upkeep-purge';

/**
 * Upkeep: deletes expired rows (c_nonces, access tokens, parked credentials, DPoP jtis) in bounded
 * batches, and frees status-list indices reserved by issuance requests that never came back. Run
 * by the Temporal Schedule `upkeepPurgeScheduleId(taskQueue)` that the worker creates at start
 * (src/worker/upkeep-schedule.ts); visible and pausable on the Temporal UI's Schedules page.
 * Deterministic: all I/O is in the activities `purgeExpiredRows` and `releaseStaleStatusReservations`,
 * which are idempotent.
 */
export async function upkeepPurgeWorkflow(input: UpkeepPurgeInput = {}): Promise<UpkeepPurgeStatus> {
  const batchSize = input.batchSize ?? 1000;
  const maxBatches = input.maxBatchesPerCall ?? 20;
  const maxCalls = input.maxCallsPerTable ?? 50;
  const status: UpkeepPurgeStatus = { state: 'PURGING', deleted: {}, leftForNextRun: [] };
  setHandler(upkeepPurgeStateQuery, () => status);

  const { purgeExpiredRows, releaseStaleStatusReservations } = proxyActivities<ReturnType<typeof createActivities>>({
    startToCloseTimeout: '2m',
    heartbeatTimeout: '30s',
    retry: { initialInterval: '5s', maximumInterval: '1m', maximumAttempts: 5 },
  });

  for (const table of PURGED_TABLES) {
    let deleted = 0;
    let more = true;
    for (let call = 0; more && call < maxCalls; call++) {
      const result = await purgeExpiredRows({ table, batchSize, maxBatches });
      deleted += result.deleted;
      status.deleted[table] = deleted;
      more = result.more;
    }
    status.deleted[table] = deleted;
    if (more) status.leftForNextRun.push(table);
  }
  if (patched('purge-stale-status-reservations')) {
    // Status-list indices whose issuance requests crashed for good (status-lists-repository.ts releaseStale);
    // issuance itself no longer looks for them. Older histories ended after the tables.
    let freed = 0;
    let more = true;
    for (let call = 0; more && call < maxCalls; call++) {
      const result = await releaseStaleStatusReservations({ batchSize, maxBatches });
      freed += result.deleted;
      status.staleReservationsFreed = freed;
      more = result.more;
    }
    status.staleReservationsFreed = freed;
  }
  status.state = 'DONE';
  return status;
}

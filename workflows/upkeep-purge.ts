import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { PURGED_TABLES, type UpkeepPurgeInput, type UpkeepPurgeStatus, upkeepPurgeStateQuery } from './contracts/upkeep-purge';

/**
 * Upkeep: deletes expired rows (c_nonces, access tokens, parked credentials, DPoP jtis) in bounded
 * batches. Run by the Temporal Schedule `upkeepPurgeScheduleId(taskQueue)` that the worker creates
 * at start (src/worker/upkeep-schedule.ts); visible and pausable on the Temporal UI's Schedules page.
 * Deterministic: all I/O is in the `purgeExpiredRows` activity, which is idempotent.
 */
export async function upkeepPurgeWorkflow(input: UpkeepPurgeInput = {}): Promise<UpkeepPurgeStatus> {
  const batchSize = input.batchSize ?? 1000;
  const maxBatches = input.maxBatchesPerCall ?? 20;
  const maxCalls = input.maxCallsPerTable ?? 50;
  const status: UpkeepPurgeStatus = { state: 'PURGING', deleted: {}, leftForNextRun: [] };
  setHandler(upkeepPurgeStateQuery, () => status);

  const { purgeExpiredRows } = proxyActivities<ReturnType<typeof createActivities>>({
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
  status.state = 'DONE';
  return status;
}

import { patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { PURGED_TABLES, type UpkeepPurgeInput, type UpkeepPurgeStatus, upkeepPurgeStateQuery } from './contracts/upkeep-purge';

/**
 * Upkeep: deletes expired rows (c_nonces, access tokens, parked credentials, DPoP jtis) in bounded
 * batches, frees status-list indices reserved by issuance requests that never came back, and
 * deletes the webhook outbox's ended deliveries and dispatched events after their retention. Run
 * by the Temporal Schedule `upkeepPurgeScheduleId(taskQueue)` that the worker creates at start
 * (src/worker/upkeep-schedule.ts); visible and pausable on the Temporal UI's Schedules page.
 * Deterministic: all I/O is in the activities `purgeExpiredRows`, `releaseStaleStatusReservations` and `purgeWebhookOutbox`,
 * which are idempotent.
 */
export async function upkeepPurgeWorkflow(input: UpkeepPurgeInput = {}): Promise<UpkeepPurgeStatus> {
  const batchSize = input.batchSize ?? 1000;
  const maxBatches = input.maxBatchesPerCall ?? 20;
  const maxCalls = input.maxCallsPerTable ?? 50;
  const status: UpkeepPurgeStatus = { state: 'PURGING', deleted: {}, leftForNextRun: [] };
  setHandler(upkeepPurgeStateQuery, () => status);

  const { purgeExpiredRows, releaseStaleStatusReservations, purgeWebhookOutbox } = proxyActivities<ReturnType<typeof createActivities>>({
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
  if (patched('purge-webhook-outbox')) {
    // The webhook outbox's ended rows, after its retention (webhook-outbox-repository.ts purgeEndedBatch); never a pending one.
    // Older histories ended after the reservations.
    const purged = { deliveries: 0, events: 0 };
    let more = true;
    for (let call = 0; more && call < maxCalls; call++) {
      const result = await purgeWebhookOutbox({ batchSize, maxBatches });
      purged.deliveries += result.deliveries;
      purged.events += result.events;
      status.webhookOutboxPurged = { ...purged };
      more = result.more;
    }
    status.webhookOutboxPurged = purged;
  }
  status.state = 'DONE';
  return status;
}

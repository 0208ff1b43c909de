import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { type StatusListResignInput, type StatusListResignStatus, statusListResignStateQuery } from './contracts/status-list-resign';

/**
 * Re-signs status lists before their `exp` (issue 17; draft-ietf-oauth-status-list §5.1 `exp`,
 * W3C Bitstring Status List v1.0 §2.2 `validUntil`), so a verifier never gets an expired list while
 * the issuer runs. Run by the Temporal Schedule the worker creates at start
 * (src/worker/status-list-resign-schedule.ts). Deterministic: the `resignDueStatusLists` activity
 * finds the stored tokens within the margin, signs them anew and stores them
 * (`status_list_tokens`), where every gateway process reads them; a retry finds nothing left due.
 * Then the status events' outbox sweep (`startPendingStatusDeliveries`): webhook deliveries of
 * status changes whose start failed after the commit are started (src/temporal/status-event-deliveries.ts).
 */
export async function statusListResignWorkflow(input: StatusListResignInput = {}): Promise<StatusListResignStatus> {
  const status: StatusListResignStatus = { state: 'RESIGNING', checked: 0, resigned: [], deliveriesStarted: [], deliveriesFailed: [] };
  setHandler(statusListResignStateQuery, () => status);
  const { resignDueStatusLists, startPendingStatusDeliveries } = proxyActivities<ReturnType<typeof createActivities>>({
    startToCloseTimeout: '2m',
    retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
  });
  const result = await resignDueStatusLists(input.marginSeconds !== undefined ? { marginSeconds: input.marginSeconds } : {});
  status.checked = result.checked;
  status.resigned = result.resigned;
  const deliveries = await startPendingStatusDeliveries(input.deliveryGraceSeconds !== undefined ? { graceSeconds: input.deliveryGraceSeconds } : {});
  status.deliveriesStarted = deliveries.started;
  status.deliveriesFailed = deliveries.failed;
  status.state = 'DONE';
  return status;
}

import { type Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import { UPKEEP_PURGE_WORKFLOW_TYPE, type UpkeepPurgeInput } from '../../workflows/contracts/upkeep-purge';

/** One schedule per task queue, so deployments sharing a namespace each purge their own database. */
export const upkeepPurgeScheduleId = (taskQueue: string) => `upkeep-purge/${taskQueue}`;

/** How often expired nonces, tokens, pickups and DPoP jtis are deleted. */
export const UPKEEP_PURGE_INTERVAL = '15m';

export interface UpkeepScheduleOptions {
  taskQueue: string;
  /** Default UPKEEP_PURGE_INTERVAL. */
  every?: string;
  input?: UpkeepPurgeInput;
}

/**
 * Creates the upkeep purge Schedule unless it exists (ScheduleAlreadyRunning): every worker calls
 * this at start, so the first creates it and the rest, and every restart, leave it as it is,
 * including a pause or a changed interval an operator made in the Temporal UI.
 * Runs never overlap (SKIP) and missed runs are not caught up beyond one interval.
 */
export async function ensureUpkeepSchedule(client: Client, opts: UpkeepScheduleOptions): Promise<{ scheduleId: string; created: boolean }> {
  const scheduleId = upkeepPurgeScheduleId(opts.taskQueue);
  const every = opts.every ?? UPKEEP_PURGE_INTERVAL;
  try {
    await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: every as `${number}m` }] },
      action: {
        type: 'startWorkflow',
        workflowType: UPKEEP_PURGE_WORKFLOW_TYPE,
        workflowId: `upkeep/purge/${opts.taskQueue}`,
        taskQueue: opts.taskQueue,
        args: [opts.input ?? {}],
        workflowExecutionTimeout: '1h',
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: every as `${number}m` },
      memo: { purpose: 'Deletes expired c_nonces, access tokens, credential pickups and DPoP jtis (workflows/upkeep-purge.ts)' },
    });
    return { scheduleId, created: true };
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return { scheduleId, created: false };
    throw err;
  }
}

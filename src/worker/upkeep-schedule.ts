import type { Client } from '@temporalio/client';
import { ensureIntervalSchedule } from './ensure-schedule';
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
  return ensureIntervalSchedule(client, {
    scheduleId: upkeepPurgeScheduleId(opts.taskQueue),
    workflowType: UPKEEP_PURGE_WORKFLOW_TYPE,
    workflowId: `upkeep/purge/${opts.taskQueue}`,
    taskQueue: opts.taskQueue,
    every: opts.every ?? UPKEEP_PURGE_INTERVAL,
    args: [opts.input ?? {}],
    purpose: 'Deletes expired c_nonces, access tokens, credential pickups and DPoP jtis (workflows/upkeep-purge.ts)',
  });
}

import type { Client } from '@temporalio/client';
import { ensureIntervalSchedule } from './ensure-schedule';
import { STATUS_LIST_RESIGN_WORKFLOW_TYPE, type StatusListResignInput } from '../../workflows/contracts/status-list-resign';

/** One schedule per task queue (each deployment re-signs the lists of its own database). */
export const statusListResignScheduleId = (taskQueue: string) => `status-list-resign/${taskQueue}`;
export const statusListResignWorkflowId = (taskQueue: string) => `upkeep/status-list-resign/${taskQueue}`;

/**
 * How often the Schedule runs, in seconds, for a list validity (STATUS_LIST_VALIDITY): a quarter of
 * the re-signing margin (half the validity), at most an hour, so a few runs fall inside the margin
 * even if one fails.
 */
export const statusListResignIntervalSeconds = (validitySeconds: number) => Math.max(1, Math.min(3600, Math.floor(validitySeconds / 8)));

export interface StatusListResignScheduleOptions {
  taskQueue: string;
  /** A Temporal duration (`15m`, `1s`). */
  every: string;
  input?: StatusListResignInput;
}

/** Creates the status-list re-signing Schedule unless it exists (as ensureUpkeepSchedule does). */
export async function ensureStatusListResignSchedule(client: Client, opts: StatusListResignScheduleOptions): Promise<{ scheduleId: string; created: boolean }> {
  return ensureIntervalSchedule(client, {
    scheduleId: statusListResignScheduleId(opts.taskQueue),
    workflowType: STATUS_LIST_RESIGN_WORKFLOW_TYPE,
    workflowId: statusListResignWorkflowId(opts.taskQueue),
    taskQueue: opts.taskQueue,
    every: opts.every,
    args: [opts.input ?? {}],
    purpose: 'Re-signs status lists before their exp (workflows/status-list-resign.ts)',
  });
}

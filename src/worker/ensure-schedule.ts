import { type Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';

export interface IntervalScheduleSpec {
  scheduleId: string;
  workflowType: string;
  workflowId: string;
  taskQueue: string;
  /** A Temporal duration (`15m`, `6h`, `1s`): the interval, and the catch-up window. */
  every: string;
  args: unknown[];
  /** Shown in the Temporal UI. */
  purpose: string;
}

/**
 * Creates an interval Schedule unless it exists (ScheduleAlreadyRunning): every worker calls this at
 * start, so the first creates it and the rest, and every restart, leave it as it is, including a
 * pause or a changed interval an operator made in the Temporal UI. Runs never overlap (SKIP) and
 * missed runs are not caught up beyond one interval.
 */
export async function ensureIntervalSchedule(client: Client, spec: IntervalScheduleSpec): Promise<{ scheduleId: string; created: boolean }> {
  const every = spec.every as `${number}s`;
  try {
    await client.schedule.create({
      scheduleId: spec.scheduleId,
      spec: { intervals: [{ every }] },
      action: { type: 'startWorkflow', workflowType: spec.workflowType, workflowId: spec.workflowId, taskQueue: spec.taskQueue, args: spec.args, workflowExecutionTimeout: '1h' },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: every },
      memo: { purpose: spec.purpose },
    });
    return { scheduleId: spec.scheduleId, created: true };
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return { scheduleId: spec.scheduleId, created: false };
    throw err;
  }
}

import { defineQuery } from '@temporalio/workflow';

/**
 * The contract of the status-list re-signing workflow (workflows/status-list-resign.ts), run by the
 * Temporal Schedule `status-list-resign/<task queue>` (src/worker/status-list-resign-schedule.ts).
 */
export const STATUS_LIST_RESIGN_WORKFLOW_TYPE = 'statusListResignWorkflow';
export type StatusListResignWorkflow = (input?: StatusListResignInput) => Promise<StatusListResignStatus>;

export interface StatusListResignInput {
  /** Re-sign tokens whose `exp` is within this many seconds; default half of STATUS_LIST_VALIDITY. */
  marginSeconds?: number;
  /** Status events pending for longer than this (seconds, default 10) get their webhook deliveries started. */
  deliveryGraceSeconds?: number;
}

export interface StatusListResignStatus {
  state: 'RESIGNING' | 'DONE';
  /** (list, form) pairs looked at. */
  checked: number;
  /** The ones signed anew, as `<list id>|<form>` (ids only: no list content). */
  resigned: string[];
  /** Status event ids whose webhook deliveries the outbox sweep started, or could not start (the next run retries). */
  deliveriesStarted: string[];
  deliveriesFailed: string[];
}

export const statusListResignStateQuery = defineQuery<StatusListResignStatus>('state');

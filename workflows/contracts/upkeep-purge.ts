import { defineQuery } from '@temporalio/workflow';
import type { ExpiringTable } from '../../src/db/nonces-repository';

/** The contract of the upkeep purge workflow (workflows/upkeep-purge.ts), run by a Temporal Schedule. */
export const UPKEEP_PURGE_WORKFLOW_TYPE = 'upkeepPurgeWorkflow';
export type UpkeepPurgeWorkflow = (input?: UpkeepPurgeInput) => Promise<UpkeepPurgeStatus>;

export const PURGED_TABLES = ['oid4vci_nonces', 'oid4vci_access_tokens', 'credential_pickups', 'dpop_jtis'] as const satisfies readonly ExpiringTable[];

export interface UpkeepPurgeInput {
  /** Rows per DELETE (default 1000). */
  batchSize?: number;
  /** DELETEs per activity call (default 20). */
  maxBatchesPerCall?: number;
  /** Activity calls per table per run (default 50); what is left goes in the next run. */
  maxCallsPerTable?: number;
}

export interface UpkeepPurgeStatus {
  state: 'PURGING' | 'DONE';
  /** Rows deleted so far, by table. */
  deleted: Partial<Record<ExpiringTable, number>>;
  /** Tables that still had expired rows when this run's bound was reached. */
  leftForNextRun: ExpiringTable[];
  /** Status-list reservations freed because their issuance requests never came back (since the `purge-stale-status-reservations` patch). */
  staleReservationsFreed?: number;
  /** Ended webhook deliveries and dispatched events deleted after the outbox retention (since the `purge-webhook-outbox` patch). */
  webhookOutboxPurged?: { deliveries: number; events: number };
}

export const upkeepPurgeStateQuery = defineQuery<UpkeepPurgeStatus>('state');

import { Context } from '@temporalio/activity';
import type { Config } from '../src/config/config';
import type { StatusListPublisher } from '../src/credentials/status-list-publisher';
import type { StatusEventsRepository } from '../src/db/status-events-repository';
import { createStatusEventDeliveries } from '../src/temporal/status-event-deliveries';

export interface StatusListActivityDeps {
  config: Config;
  /** The worker's publisher over the shared `status_list_tokens` (src/main/activity-deps.ts). */
  statusListPublisher: Pick<StatusListPublisher, 'resignDue'>;
  statusEvents: StatusEventsRepository;
}

export const createStatusListActivities = ({ config, statusListPublisher, statusEvents }: StatusListActivityDeps) => ({
  /** Re-signs every status-list token that expires within the margin (workflows/status-list-resign.ts); idempotent. */
  async resignDueStatusLists(input: { marginSeconds?: number }): Promise<{ checked: number; resigned: string[] }> {
    const { checked, resigned } = await statusListPublisher.resignDue(input.marginSeconds);
    return { checked, resigned: resigned.map((r) => `${r.listId}|${r.form}`) };
  },

  /**
   * The status events' outbox sweep: starts the webhook deliveries of events whose start failed
   * after their change committed (pending for longer than `graceSeconds`), with the worker's own
   * Temporal client. Idempotent: a delivery that exists is not started again. Answers event ids.
   */
  async startPendingStatusDeliveries(input: { graceSeconds?: number }): Promise<{ started: string[]; failed: string[] }> {
    const deliveries = createStatusEventDeliveries({ config, temporal: Context.current().client, statusEvents, attempts: 1 });
    return deliveries.startPending((input.graceSeconds ?? 10) * 1000);
  },
});

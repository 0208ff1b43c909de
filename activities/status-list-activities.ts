import type { StatusListPublisher } from '../src/credentials/status-list-publisher';

export interface StatusListActivityDeps {
  /** The worker's publisher over the shared `status_list_tokens` (src/main/activity-deps.ts). */
  statusListPublisher: Pick<StatusListPublisher, 'resignDue'>;
}

export const createStatusListActivities = ({ statusListPublisher }: StatusListActivityDeps) => ({
  /** Re-signs every status-list token that expires within the margin (workflows/status-list-resign.ts); idempotent. */
  async resignDueStatusLists(input: { marginSeconds?: number }): Promise<{ checked: number; resigned: string[] }> {
    const { checked, resigned } = await statusListPublisher.resignDue(input.marginSeconds);
    return { checked, resigned: resigned.map((r) => `${r.listId}|${r.form}`) };
  },
});

import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { type WebhookDeliveryInput, type WebhookDeliveryStatus, type WebhookDeliveryWorkflow, WEBHOOK_DELIVERY_WORKFLOW_TYPE, webhookDeliveryWorkflowId } from '../../workflows/contracts/webhook-delivery';
import { isSafeLiteral } from './process-finder';

/**
 * Dead-lettered webhook deliveries for operators (issue 18): found through Temporal visibility
 * (`WorkflowType = 'webhookDeliveryWorkflow' AND ProcessState = 'DEAD_LETTERED'`, in this
 * deployment's task queue), and redelivered by starting the delivery workflow again under the same
 * workflow id `webhook/<subscriber>/<event id>` with the recorded input: the event keeps its id, so
 * the subscriber sees the same `Idempotency-Key`. A delivery whose latest run is not dead-lettered
 * (redelivered meanwhile, or delivered) is not listed.
 */
export interface DeadLetter {
  workflow_id: string;
  run_id: string;
  subscriber: string;
  event_id: string;
  event_type: string;
  authentic_source: string;
  dead_lettered_at: string | null;
  last_error: string | null;
}

export class DeadLetterNotFoundError extends Error {}

export interface DeadLettersOptions {
  client: Client;
  namespace: string;
  taskQueue: string;
}

const literal = (value: string) => {
  if (!isSafeLiteral(value)) throw new Error('visibility query values must not contain quotes, backslashes or control characters');
  return `'${value}'`;
};

export function createDeadLetters({ client, namespace, taskQueue }: DeadLettersOptions) {
  /** The recorded input of one run: the first event of its history. */
  async function inputOf(workflowId: string, runId: string): Promise<WebhookDeliveryInput> {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    if (!payload) throw new Error(`${workflowId}: no recorded input`);
    return defaultPayloadConverter.fromPayload(payload as never);
  }

  /** The latest run of a delivery when it ended DEAD_LETTERED, else undefined. */
  async function latestDeadLetter(workflowId: string): Promise<DeadLetter | undefined> {
    let described;
    try {
      described = await client.workflow.getHandle(workflowId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
    if (described.type !== WEBHOOK_DELIVERY_WORKFLOW_TYPE || described.taskQueue !== taskQueue || described.status.name !== 'COMPLETED') return undefined;
    const status = (await client.workflow.getHandle(workflowId, described.runId).result()) as WebhookDeliveryStatus;
    if (status.state !== 'DEAD_LETTERED') return undefined;
    const input = await inputOf(workflowId, described.runId);
    return {
      workflow_id: workflowId,
      run_id: described.runId,
      subscriber: input.subscriber,
      event_id: input.event.id,
      event_type: input.event.type,
      authentic_source: input.authenticSource ?? input.subscriber,
      dead_lettered_at: described.closeTime?.toISOString() ?? null,
      last_error: status.lastError ?? null,
    };
  }

  async function list(filter: { subscriber?: string }, page: { pageSize: number; pageToken?: string }): Promise<{ dead_letters: DeadLetter[]; next_page_token: string | null }> {
    const clauses = [`TaskQueue = ${literal(taskQueue)}`, `WorkflowType = ${literal(WEBHOOK_DELIVERY_WORKFLOW_TYPE)}`, `ProcessState = 'DEAD_LETTERED'`];
    if (filter.subscriber !== undefined) clauses.push(`WorkflowId STARTS_WITH ${literal(webhookDeliveryWorkflowId(filter.subscriber, ''))}`);
    const response = await client.workflowService.listWorkflowExecutions({
      namespace,
      query: clauses.join(' AND '),
      pageSize: page.pageSize,
      ...(page.pageToken ? { nextPageToken: Buffer.from(page.pageToken, 'base64url') } : {}),
    });
    const ids = [...new Set((response.executions ?? []).map((e) => e.execution?.workflowId ?? '').filter(Boolean))];
    const found = await Promise.all(ids.map((id) => latestDeadLetter(id)));
    const token = response.nextPageToken && response.nextPageToken.length > 0 ? Buffer.from(response.nextPageToken).toString('base64url') : null;
    // A run listed by visibility but no longer the latest (redelivered) drops out here.
    return { dead_letters: found.filter((d): d is DeadLetter => d !== undefined), next_page_token: token };
  }

  /** Starts the delivery again with its recorded input (the activity re-checks the event against the database). */
  async function redeliver(letter: DeadLetter): Promise<{ workflow_id: string; run_id: string }> {
    const { horizonSeconds: _ignored, ...input } = await inputOf(letter.workflow_id, letter.run_id);
    const handle = await client.workflow.start<WebhookDeliveryWorkflow>(WEBHOOK_DELIVERY_WORKFLOW_TYPE, { taskQueue, workflowId: letter.workflow_id, args: [input], workflowIdReusePolicy: 'ALLOW_DUPLICATE' });
    return { workflow_id: handle.workflowId, run_id: handle.firstExecutionRunId };
  }

  return {
    list,
    /** Redelivers one dead letter; DeadLetterNotFoundError when the delivery's latest run is not dead-lettered. */
    async redeliverOne(subscriber: string, eventId: string) {
      const letter = await latestDeadLetter(webhookDeliveryWorkflowId(subscriber, eventId));
      if (!letter) throw new DeadLetterNotFoundError(`no dead-lettered delivery of ${eventId} to ${subscriber}`);
      return redeliver(letter);
    },
    /** Redelivers every dead letter of `subscriber` (all pages, listed before the first is restarted), oldest first. */
    async redeliverAll(subscriber: string) {
      const letters: DeadLetter[] = [];
      let pageToken: string | undefined;
      do {
        const page = await list({ subscriber }, { pageSize: 100, ...(pageToken ? { pageToken } : {}) });
        letters.push(...page.dead_letters);
        pageToken = page.next_page_token ?? undefined;
      } while (pageToken);
      letters.sort((a, b) => (a.dead_lettered_at ?? '').localeCompare(b.dead_lettered_at ?? ''));
      const started: { workflow_id: string; run_id: string }[] = [];
      for (const letter of letters) started.push(await redeliver(letter));
      return started;
    },
  };
}

export type DeadLetters = ReturnType<typeof createDeadLetters>;

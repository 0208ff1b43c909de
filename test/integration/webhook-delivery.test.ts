import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { AuthenticSource, ProcessState } from '../../workflows/contracts/search-attributes';
import { type WebhookDeliveryInput, type WebhookEvent, webhookDeliveryStateQuery, WEBHOOK_DELIVERY_WORKFLOW_TYPE, type WebhookDeliveryWorkflow, webhookDeliveryWorkflowId } from '../../workflows/contracts/webhook-delivery';
import { createTestDatabase, loadTestConfig, testConfigFile, uniqueName } from '../support/test-services';
import { startTestWorker, type TestWorker } from '../support/test-worker';
import { historyText } from '../support/history-text';
import { registry } from '../../src/metrics/metrics';

const SECRET = 'whsec-test-0123456789';

/** A subscriber that answers from a script of statuses and records what it received. */
function startReceiver(): Promise<{ server: Server; url: string; received: { headers: IncomingHttpHeaders; body: string }[]; script: number[] }> {
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  const script: number[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.statusCode = script.shift() ?? 200;
      res.end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, script })));
}

describe('webhook delivery workflow, on a real Temporal server and worker', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let temporal: TestWorker;
  let client: Client;
  const taskQueue = uniqueName('webhooks');

  before(async () => {
    database = await createTestDatabase();
    receiver = await startReceiver();
    const config = loadTestConfig(
      testConfigFile((f) => {
        const sources = f.authentic_sources as Record<string, Record<string, unknown>>;
        sources['hr.example.org']!.notification_endpoint = { url: receiver.url, auth_header: 'X-Webhook-Secret', auth_secret_env: 'HR_WEBHOOK_SECRET' };
      }),
      { TEMPORAL_TASK_QUEUE: taskQueue },
    );
    temporal = await startTestWorker(config, database.db, { secret: (name) => (name === 'HR_WEBHOOK_SECRET' ? SECRET : undefined) });
    client = temporal.client;
  });
  after(async () => {
    await temporal?.close();
    await new Promise((r) => receiver?.server.close(r));
    await database?.drop();
  });

  const start = (input: WebhookDeliveryInput) =>
    client.workflow.start<WebhookDeliveryWorkflow>(WEBHOOK_DELIVERY_WORKFLOW_TYPE, { taskQueue, workflowId: webhookDeliveryWorkflowId(input.subscriber, input.event.id), args: [input] });
  /** An offer of `source` closed in `state`, recorded as the closeOffer activity records it. */
  async function closedOffer(state = 'EXPIRED', source = 'hr.example.org', closed = true): Promise<string> {
    const offerId = uniqueName('offer');
    await database.db('credential_offers').insert({
      offer_id: offerId,
      workflow_id: `offer/${source}/urn:eudi:diploma:1/${offerId}`,
      authentic_source: source,
      vct: 'urn:eudi:diploma:1',
      document_id: `doc-${offerId}`,
      code_hash: uniqueName('code'),
      tx_code_required: true,
      state: closed ? state : 'OFFERED',
      expires_at: new Date(Date.now() + 60_000),
      closed_at: closed ? new Date() : null,
    });
    return offerId;
  }
  /** The event workflows/credential-offer.ts starts the delivery child with, for that offer. */
  const offerEvent = (offerId: string, state = 'expired', credentialsIssued = 0): WebhookEvent => ({
    id: `offer.${offerId}.${state}`,
    type: `credential_offer.${state}`,
    occurred_at: new Date().toISOString(),
    data: { vct: 'urn:eudi:diploma:1', document_id: `doc-${offerId}`, offer_id: offerId, credentials_issued: credentialsIssued },
  });
  const event = async () => offerEvent(await closedOffer());
  const offerOf = async (ev: WebhookEvent) => (await database.db('credential_offers').where({ offer_id: ev.data.offer_id }).first()) as { closed_at: Date };

  test('retries a failing subscriber with backoff until it answers 2xx, then reports DELIVERED', async () => {
    receiver.script.push(503, 503);
    const ev = await event();
    const handle = await start({ subscriber: 'hr.example.org', event: ev });
    const result = await handle.result();
    assert.deepEqual(result, { state: 'DELIVERED', attempts: 3, responseStatus: 200 });
    const mine = receiver.received.filter((r) => r.headers['idempotency-key'] === ev.id);
    assert.equal(mine.length, 3, 'one request per attempt, all with the same idempotency key');
    assert.equal(mine[0]!.headers['x-webhook-secret'], SECRET);
    // What is sent is the event rebuilt from the offer record: its time is the offer's closed_at.
    assert.deepEqual(JSON.parse(mine[2]!.body), { ...ev, occurred_at: (await offerOf(ev)).closed_at.toISOString() });
  });

  test('an operator finds the delivery by search attributes and its state query', async () => {
    const ev = await event();
    const handle = await start({ subscriber: 'hr.example.org', event: ev });
    await handle.result();
    const description = await handle.describe();
    assert.equal(description.typedSearchAttributes.get(AuthenticSource), 'hr.example.org');
    assert.equal(description.typedSearchAttributes.get(ProcessState), 'DELIVERED');
    assert.equal((await handle.query(webhookDeliveryStateQuery)).state, 'DELIVERED');
  });

  test('the subscriber secret never enters the workflow history', async () => {
    const ev = await event();
    const handle = await start({ subscriber: 'hr.example.org', event: ev });
    await handle.result();
    const history = historyText(await handle.fetchHistory());
    assert.ok(history.includes(ev.id), 'payloads are decoded: the event id is there, so the search can fail');
    assert.ok(!history.includes(SECRET));
  });

  test('a 4xx refusal is not retried: the event is dead-lettered and audited for an operator', async () => {
    receiver.script.push(400);
    const ev = offerEvent(await closedOffer('CANCELLED'), 'cancelled');
    const handle = await start({ subscriber: 'hr.example.org', event: ev });
    const result = await handle.result();
    assert.equal(result.state, 'DEAD_LETTERED');
    assert.match(result.lastError ?? '', /HTTP 400/);
    assert.equal(receiver.received.filter((r) => r.headers['idempotency-key'] === ev.id).length, 1);
    const audit = await database.db('audit_log').where({ action: 'webhook.dead_lettered' });
    assert.equal(audit.length, 1);
    assert.equal(audit[0].target.event_id, ev.id);
  });

  test('a source without a notification_endpoint ends NOT_CONFIGURED without retrying', async () => {
    const result = await (await start({ subscriber: 'registry.example.org', event: await event() })).result();
    assert.equal(result.state, 'NOT_CONFIGURED');
  });

  test('the workflow id is the business key: the same event cannot be delivered by a second workflow', async () => {
    receiver.script.push(503, 503, 503);
    const ev = await event();
    const first = await start({ subscriber: 'hr.example.org', event: ev });
    await assert.rejects(start({ subscriber: 'hr.example.org', event: ev }), WorkflowExecutionAlreadyStartedError);
    await first.result();
  });

  test('a workflow started directly with a forged event sends nothing to the receiver and ends REFUSED (issue 15, finding 4)', async () => {
    const real = await closedOffer('EXPIRED');
    const open = await closedOffer('OFFERED', 'hr.example.org', false);
    const otherSource = await closedOffer('EXPIRED', 'registry.example.org');
    const forged: WebhookEvent[] = [
      { id: uniqueName('evt'), type: 'document.uploaded', occurred_at: new Date().toISOString(), data: { vct: 'urn:eudi:diploma:1', document_id: 'x' } },
      offerEvent(uniqueName('no-such-offer')),
      offerEvent(real, 'issued'),
      { ...offerEvent(real), type: 'credential_offer.issued' },
      { ...offerEvent(real), data: { ...offerEvent(real).data, document_id: 'someone-else' } },
      offerEvent(real, 'expired', 3),
      { ...offerEvent(real), data: { ...offerEvent(real).data, extra: 'injected' } },
      offerEvent(open, 'offered'),
      offerEvent(otherSource),
    ];
    const before = receiver.received.length;
    for (const ev of forged) {
      const handle = await start({ subscriber: 'hr.example.org', event: ev });
      const result = await handle.result();
      assert.equal(result.state, 'REFUSED', ev.id);
      assert.match(result.lastError ?? '', /refused/);
    }
    assert.equal(receiver.received.length, before, 'nothing reached the receiver');
    assert.ok(!receiver.received.some((r) => forged.some((ev) => r.headers['idempotency-key'] === ev.id)));
    assert.equal((await database.db('audit_log').where({ action: 'webhook.refused' })).length, forged.length);
    // The genuine event of the same offer still goes out.
    assert.equal((await (await start({ subscriber: 'hr.example.org', event: offerEvent(real) })).result()).state, 'DELIVERED');
  });

  test('the webhook metrics move by what the deliveries did: attempts by outcome, retries, dead letters (issue 21)', async () => {
    const value = async (name: string, outcome?: string) => (await registry.getSingleMetric(name)!.get()).values.find((v) => outcome === undefined || v.labels.outcome === outcome)?.value ?? 0;
    const snapshot = async () => ({
      delivered: await value('issuer_webhook_attempts_total', 'delivered'),
      retried: await value('issuer_webhook_attempts_total', 'retried'),
      rejected: await value('issuer_webhook_attempts_total', 'rejected'),
      refused: await value('issuer_webhook_attempts_total', 'refused'),
      notConfigured: await value('issuer_webhook_attempts_total', 'not_configured'),
      retries: await value('issuer_webhook_retries_total'),
      deadLetters: await value('issuer_webhook_dead_letters_total'),
    });
    const before = await snapshot();
    receiver.script.push(503, 200);
    assert.equal((await (await start({ subscriber: 'hr.example.org', event: await event() })).result()).state, 'DELIVERED');
    receiver.script.push(400);
    assert.equal((await (await start({ subscriber: 'hr.example.org', event: offerEvent(await closedOffer('CANCELLED'), 'cancelled') })).result()).state, 'DEAD_LETTERED');
    assert.equal((await (await start({ subscriber: 'hr.example.org', event: offerEvent(uniqueName('no-such-offer')) })).result()).state, 'REFUSED');
    assert.equal((await (await start({ subscriber: 'registry.example.org', event: await event() })).result()).state, 'NOT_CONFIGURED');
    const after = await snapshot();
    const moved = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k as keyof typeof before]]));
    assert.deepEqual(moved, { delivered: 1, retried: 1, rejected: 1, refused: 1, notConfigured: 1, retries: 1, deadLetters: 1 });
    const text = await registry.metrics();
    assert.match(text, /^issuer_webhook_attempts_total\{outcome="delivered"\} \d+$/m, 'exposed in the Prometheus text format');
    assert.match(text, /^issuer_webhook_dead_letters_total \d+$/m);
  });
});

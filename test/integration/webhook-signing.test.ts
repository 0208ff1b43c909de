import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { importSPKI, jwtVerify } from 'jose';
import { createLogger } from '../../src/logger';
import { type RunningPart, startGateway } from '../../src/main/issuer-parts';
import { type WebhookDeliveryInput, type WebhookEvent, WEBHOOK_DELIVERY_WORKFLOW_TYPE, type WebhookDeliveryWorkflow, webhookDeliveryWorkflowId } from '../../workflows/contracts/webhook-delivery';
import { createTestDatabase, loadTestConfig, TEST_DEV_API_KEY, testConfigFile, testEnv, uniqueName } from '../support/test-services';
import { startTestWorker, type TestWorker } from '../support/test-worker';
import { webhookReceiver as receiver } from '../support/webhook-receiver';

/**
 * Signed webhooks with guaranteed delivery (issue 18, seed 002 "Authentication Schemas"), on a real
 * Temporal server, PostgreSQL, gateway and an HTTP receiver on loopback. The receiver verifies what it
 * gets with code of its own: node:crypto (SHA3-256) for X-Body-Signature and jose for the Bearer JWT,
 * against the key the gateway's public-key endpoint serves.
 */
const RECEIVER_DID = 'did:web:receiver.example.org';
const ISSUER_URL = 'http://127.0.0.1:18443';
const SERVICE_DID = 'did:web:127.0.0.1%3A18443';
const VCT = 'urn:eudi:diploma:1';
const READER = 'reader-token-0123456789abcdef01';
const OPERATOR = 'operator-token-0123456789abcdef0';
const sha256Hash = (key: string) => `sha256:${createHash('sha256').update(key).digest('hex')}`;

describe('signed webhooks: X-Body-Signature, Bearer JWT, retries, dead letters and subscribers', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  const hr = receiver();
  const sink = receiver();
  let worker: TestWorker;
  let gateway: RunningPart;
  let client: Client;
  const taskQueue = uniqueName('hooks');

  before(async () => {
    database = await createTestDatabase();
    await hr.listen();
    await sink.listen();
    const config = loadTestConfig(
      testConfigFile((f) => {
        f.issuer = { pre_authorized_code: { enabled: true, pin_required: true, code_ttl: 1 } };
        const sources = f.authentic_sources as Record<string, Record<string, unknown>>;
        sources['hr.example.org']!.pin_delivery = 'authentic_source';
        sources['hr.example.org']!.notification_endpoint = { url: hr.url('/hr-hook'), body_signature: true, bearer_jwt: { audience: RECEIVER_DID } };
        f.admin_tokens = { reader: { token_hash: sha256Hash(READER), role: 'read' }, operator: { token_hash: sha256Hash(OPERATOR), role: 'operate' } };
        f.webhooks = {
          subscribers: { 'audit-sink': { url: sink.url('/sink'), events: ['credential_offer.expired', 'webhook.dead_lettered'], authentic_sources: ['hr.example.org'], body_signature: true } },
          // Backoff shortened for the test: 50 ms doubling to 200 ms, a 6 s horizon.
          delivery: { initial_interval: 0.05, max_interval: 0.2, horizon: 6, attempt_timeout: 2 },
        };
      }),
      { DATABASE_URL: database.url, TEMPORAL_ADDRESS: testEnv().temporalAddress, TEMPORAL_TASK_QUEUE: taskQueue, PORT: '0', ISSUER_URL },
    );
    worker = await startTestWorker(config, database.db);
    client = worker.client;
    gateway = await startGateway(config, createLogger('silent'));
  });
  after(async () => {
    await gateway?.close();
    await worker?.close();
    await hr.close();
    await sink.close();
    await database?.drop();
  });

  const start = (input: WebhookDeliveryInput) =>
    client.workflow.start<WebhookDeliveryWorkflow>(WEBHOOK_DELIVERY_WORKFLOW_TYPE, { taskQueue, workflowId: webhookDeliveryWorkflowId(input.subscriber, input.event.id), args: [input] });
  /** An offer closed in `state`, recorded as the closeOffer activity records it, and its event as the offer workflow names it. */
  async function closedOfferEvent(state = 'EXPIRED'): Promise<WebhookEvent> {
    const offerId = uniqueName('offer');
    await database.db('credential_offers').insert({
      offer_id: offerId,
      workflow_id: `offer/hr.example.org/${VCT}/${offerId}`,
      authentic_source: 'hr.example.org',
      vct: VCT,
      document_id: `doc-${offerId}`,
      code_hash: uniqueName('code'),
      tx_code_required: true,
      state,
      expires_at: new Date(Date.now() + 60_000),
      closed_at: new Date(),
    });
    const lower = state.toLowerCase();
    return { id: `offer.${offerId}.${lower}`, type: `credential_offer.${lower}`, occurred_at: new Date().toISOString(), data: { vct: VCT, document_id: `doc-${offerId}`, offer_id: offerId, credentials_issued: 0 } };
  }
  const mine = (r: ReturnType<typeof receiver>, ev: { id: string }) => r.received.filter((x) => x.headers['idempotency-key'] === ev.id);
  const publicKey = async () => {
    const res = await fetch(`${gateway.url}/service/${SERVICE_DID}/public-info/public-key/webhooks`);
    assert.equal(res.status, 200);
    return (await res.json()) as { serviceDid: string; kid: string; alg: string; publicKey: string; publicKeyJwk: Record<string, unknown> };
  };

  test('the public-key endpoint serves the webhooks key for our service DID only (seed 002 "Retrieving Service Public Key")', async () => {
    const key = await publicKey();
    assert.equal(key.serviceDid, SERVICE_DID);
    assert.equal(key.alg, 'ES256');
    assert.match(key.publicKey, /^-----BEGIN PUBLIC KEY-----/);
    assert.equal(key.publicKeyJwk.d, undefined, 'no private member');
    // The DID spelled with its colon decoded is the same DID.
    assert.equal((await fetch(`${gateway.url}/service/did:web:127.0.0.1:18443/public-info/public-key/webhooks`)).status, 200);
    for (const path of [`/service/did:web:other.example.org/public-info/public-key/webhooks`, `/service/${SERVICE_DID}/public-info/public-key/credential`]) {
      const res = await fetch(`${gateway.url}${path}`);
      assert.equal(res.status, 404, path);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
    }
  });

  test('the OpenAPI document lists the event catalogue (OpenAPI 3.1 webhooks) and the new endpoints', async () => {
    const doc = (await (await fetch(`${gateway.url}/openapi.json`)).json()) as { webhooks: Record<string, unknown>; paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } };
    assert.deepEqual(Object.keys(doc.webhooks).sort(), ['credential.issued', 'credential.revoked', 'credential_offer.cancelled', 'credential_offer.created', 'credential_offer.expired', 'credential_offer.issued', 'credential_offer.locked', 'credential_offer.redeemed', 'document.reinstated', 'document.revoked', 'document.suspended', 'interaction.answered', 'interaction.failed', 'interaction.postponed', 'wallet_notification.received', 'webhook.dead_lettered']);
    assert.ok(doc.components.schemas.WebhookEvent);
    for (const path of ['/service/{serviceDid}/public-info/public-key/{keyName}', '/service/{serviceDid}/webhook-accept/credentials-issued', '/service/{serviceDid}/webhook-accept/credendials-issued', '/service/{serviceDid}/webhook-accept/credentials-issuing-failed', '/admin/v1/webhooks/dead-letters', '/admin/v1/webhooks/dead-letters/redeliver']) assert.ok(doc.paths[path], path);
  });

  test('a subscriber failing the first 3 deliveries gets the event exactly once by Idempotency-Key, signed (X-Body-Signature over SHA3-256) and with a Bearer JWT it verifies', async () => {
    hr.script.push({ status: 503 }, { status: 500 }, { status: 429, retryAfter: '0' });
    const ev = await closedOfferEvent();
    const result = await (await start({ subscriber: 'hr.example.org', event: ev })).result();
    assert.equal(result.state, 'DELIVERED');
    assert.equal(result.attempts, 4);
    const requests = mine(hr, ev);
    assert.equal(requests.length, 4);
    assert.equal(new Set(requests.map((r) => r.headers['idempotency-key'])).size, 1, 'one idempotency key across retries');
    assert.equal(requests.filter((r) => r.status === 200).length, 1, 'accepted exactly once');

    const key = await publicKey();
    const spki = createPublicKey(key.publicKey);
    const jwtKey = await importSPKI(key.publicKey, 'ES256');
    for (const r of requests) {
      // Seed 002: "X-Body-Signature header with the value of the sha3-256 signature in base64 encoding".
      const signature = Buffer.from(String(r.headers['x-body-signature']), 'base64');
      assert.ok(verify('sha3-256', r.body, spki, signature), 'X-Body-Signature verifies over the exact body bytes');
      assert.ok(!verify('sha3-256', Buffer.concat([r.body, Buffer.from(' ')]), spki, signature), 'and not over other bytes');
      // Seed 002 Bearer token (RFC 7519): iss our service DID, aud the subscriber's DID.
      const token = String(r.headers.authorization).replace(/^Bearer /, '');
      const { payload, protectedHeader } = await jwtVerify(token, jwtKey, { issuer: SERVICE_DID, audience: RECEIVER_DID, algorithms: ['ES256'] });
      assert.equal(protectedHeader.kid, key.kid);
      assert.equal(payload.exp! - payload.iat!, 60, 'a short exp');
      assert.equal(typeof payload.jti, 'string');
      assert.equal(payload.body_sha3_256, createHash('sha3-256').update(r.body).digest('base64url'));
    }
    assert.equal(new Set(requests.map((r) => String(r.headers.authorization))).size, 4, 'a fresh jti per attempt');
    assert.deepEqual(JSON.parse(requests[3]!.body.toString()).id, ev.id);
  });

  test('a subscriber answering 400 is not retried: the delivery is DEAD_LETTERED after one attempt', async () => {
    hr.script.push({ status: 400 });
    const ev = await closedOfferEvent('CANCELLED');
    const handle = await start({ subscriber: 'hr.example.org', event: ev });
    const result = await handle.result();
    assert.equal(result.state, 'DEAD_LETTERED');
    assert.match(result.lastError ?? '', /HTTP 400/);
    assert.equal(mine(hr, ev).length, 1);
  });

  test('a dead letter is itself an event: the other subscribers of webhook.dead_lettered hear of it, signed; the failing one does not', async () => {
    hr.script.push({ status: 400 });
    const ev = await closedOfferEvent('CANCELLED');
    const handle = await start({ subscriber: 'hr.example.org', event: ev });
    assert.equal((await handle.result()).state, 'DEAD_LETTERED');
    const { runId } = await handle.describe();
    const noticeId = `webhook_dead_lettered.${runId}`;
    for (let i = 0; i < 100 && mine(sink, { id: noticeId }).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    const [notice] = mine(sink, { id: noticeId });
    assert.ok(notice, 'the sink got the dead-letter notice');
    const body = JSON.parse(notice.body.toString());
    assert.equal(body.type, 'webhook.dead_lettered');
    assert.deepEqual(body.data, { subscriber: 'hr.example.org', event_id: ev.id, event_type: ev.type, authentic_source: 'hr.example.org', delivery_workflow_id: webhookDeliveryWorkflowId('hr.example.org', ev.id) });
    assert.ok(verify('sha3-256', notice.body, createPublicKey((await publicKey()).publicKey), Buffer.from(String(notice.headers['x-body-signature']), 'base64')));
    assert.equal(mine(hr, { id: noticeId }).length, 0, 'not sent to the subscriber that failed');

    // A forged notice (no such dead-lettered run) is refused and sends nothing.
    const forged = { id: 'webhook_dead_lettered.00000000-0000-4000-8000-000000000000', type: 'webhook.dead_lettered', occurred_at: new Date().toISOString(), data: { ...body.data } };
    const refused = await (await start({ subscriber: 'audit-sink', event: forged, authenticSource: 'hr.example.org' })).result();
    assert.equal(refused.state, 'REFUSED');
    assert.equal(mine(sink, forged).length, 0);
    // The genuine notice with altered data is refused too.
    const altered: WebhookDeliveryInput = { subscriber: 'audit-sink', event: { ...body, data: { ...body.data, event_id: 'offer.x.issued' } }, authenticSource: 'hr.example.org' };
    const alteredRun = await client.workflow.start<WebhookDeliveryWorkflow>(WEBHOOK_DELIVERY_WORKFLOW_TYPE, { taskQueue, workflowId: uniqueName('forged-notice'), args: [altered] });
    assert.equal((await alteredRun.result()).state, 'REFUSED');
    assert.equal(mine(sink, { id: noticeId }).length, 1, 'still only the genuine notice');
  });

  test('a subscriber that keeps failing past the horizon is DEAD_LETTERED', async () => {
    const ev = await closedOfferEvent('LOCKED');
    for (let i = 0; i < 200; i++) hr.script.push({ status: 503 });
    const started = Date.now();
    const result = await (await start({ subscriber: 'hr.example.org', event: ev })).result();
    hr.script.length = 0;
    assert.equal(result.state, 'DEAD_LETTERED');
    assert.match(result.lastError ?? '', /horizon/);
    assert.ok(Date.now() - started < 10_000, 'gave up near the 6 s horizon');
    assert.ok(mine(hr, ev).length >= 3, `retried with backoff until then (${mine(hr, ev).length} attempts)`);
  });

  test('a receiver down for a while, then up again, gets every event', async () => {
    await hr.close();
    const events = [await closedOfferEvent(), await closedOfferEvent('CANCELLED'), await closedOfferEvent('LOCKED')];
    const handles = await Promise.all(events.map((event) => start({ subscriber: 'hr.example.org', event })));
    await new Promise((r) => setTimeout(r, 1500));
    await hr.listen();
    const results = await Promise.all(handles.map((h) => h.result()));
    assert.deepEqual(results.map((r) => r.state), ['DELIVERED', 'DELIVERED', 'DELIVERED']);
    for (const ev of events) assert.equal(mine(hr, ev).filter((r) => r.status === 200).length, 1, ev.id);
  });

  test('an expired offer is told to its source and to the issuer-wide subscriber of credential_offer.expired', async () => {
    const documentId = uniqueName('doc');
    const up = await fetch(`${gateway.url}/api/v1/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY },
      body: JSON.stringify({
        meta: { authentic_source: 'hr.example.org', vct: VCT, document_id: documentId },
        identities: [{ authentic_source_person_id: 'EMP-9', family_name: 'Lindqvist', given_name: 'Maja', birth_date: '1987-03-09' }],
        document_data: { degree_type: 'Master of Science', field_of_study: 'Astrophysics', issuing_institution: 'Example University', graduation_date: '2024-06-01' },
      }),
    });
    assert.equal(up.status, 200, await up.text());
    const notified = await fetch(`${gateway.url}/api/v1/notification`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY }, body: JSON.stringify({ authentic_source: 'hr.example.org', vct: VCT, document_id: documentId }) });
    assert.equal(notified.status, 200, await notified.text());
    const offer = (await database.db('credential_offers').where({ document_id: documentId }).first()) as { offer_id: string };
    const ev = { id: `offer.${offer.offer_id}.expired` };
    for (let i = 0; i < 150 && (mine(hr, ev).length === 0 || mine(sink, ev).length === 0); i++) await new Promise((r) => setTimeout(r, 100));
    const [toSource] = mine(hr, ev);
    const [toSink] = mine(sink, ev);
    assert.ok(toSource && toSink, 'both subscribers got the event');
    const body = JSON.parse(toSink.body.toString());
    assert.equal(body.type, 'credential_offer.expired');
    assert.deepEqual(Object.keys(body.data).sort(), ['credentials_issued', 'document_id', 'offer_id', 'vct'], 'business ids only');
    assert.ok(verify('sha3-256', toSink.body, createPublicKey((await publicKey()).publicKey), Buffer.from(String(toSink.headers['x-body-signature']), 'base64')));
    assert.equal(toSink.headers.authorization, undefined, 'the sink did not ask for a Bearer JWT');
  });

  const admin = (path: string, token: string, body?: unknown) =>
    fetch(`${gateway.url}${path}`, { method: body === undefined ? 'GET' : 'POST', headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  /** Polls the dead-letter list until `predicate` holds (visibility is eventually consistent). */
  const deadLettersUntil = async (predicate: (ids: string[]) => boolean): Promise<string[]> => {
    let ids: string[] = [];
    for (let i = 0; i < 100; i++) {
      const res = await admin('/admin/v1/webhooks/dead-letters?subscriber=hr.example.org', READER);
      assert.equal(res.status, 200);
      ids = ((await res.json()) as { dead_letters: { event_id: string }[] }).dead_letters.map((d) => d.event_id);
      if (predicate(ids)) return ids;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`the dead-letter list never showed what was expected: ${JSON.stringify(ids)}`);
  };

  test('an operator lists dead letters and redelivers one with the same Idempotency-Key; a reader cannot; every call is audited', async () => {
    hr.script.push({ status: 400 });
    const ev = await closedOfferEvent('CANCELLED');
    assert.equal((await (await start({ subscriber: 'hr.example.org', event: ev })).result()).state, 'DEAD_LETTERED');
    await deadLettersUntil((ids) => ids.includes(ev.id));

    const refused = await admin('/admin/v1/webhooks/dead-letters/redeliver', READER, { subscriber: 'hr.example.org', event_id: ev.id });
    assert.equal(refused.status, 403);
    const res = await admin('/admin/v1/webhooks/dead-letters/redeliver', OPERATOR, { subscriber: 'hr.example.org', event_id: ev.id });
    const body = (await res.json()) as { redelivered: { workflow_id: string; run_id: string }[] };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(body.redelivered.map((r) => r.workflow_id), [webhookDeliveryWorkflowId('hr.example.org', ev.id)]);
    const result = await client.workflow.getHandle(body.redelivered[0]!.workflow_id, body.redelivered[0]!.run_id).result();
    assert.equal(result.state, 'DELIVERED');
    assert.deepEqual(mine(hr, ev).map((r) => r.status), [400, 200], 'the same event id, refused once, then accepted');
    await deadLettersUntil((ids) => !ids.includes(ev.id));

    const again = await admin('/admin/v1/webhooks/dead-letters/redeliver', OPERATOR, { subscriber: 'hr.example.org', event_id: ev.id });
    assert.equal(again.status, 404, 'a delivered event is no dead letter');
    assert.equal(((await again.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
    // The audit row is written when the response has finished: poll for it.
    let audit: { status: number; actor: string; action: string }[] = [];
    for (let i = 0; i < 50 && audit.length < 3; i++, await new Promise((r) => setTimeout(r, 100))) {
      audit = await database.db('audit_log').where({ path: '/admin/v1/webhooks/dead-letters/redeliver' }).select('status', 'actor', 'action');
    }
    assert.deepEqual(audit.map((a) => `${a.actor} ${a.status}`).sort(), ['admin:operator 200', 'admin:operator 404', 'admin:reader 403']);
    assert.ok(audit.filter((a) => a.actor === 'admin:operator').every((a) => a.action === 'admin.webhooks.redeliver'));
  });

  test('redelivering all of a subscriber\'s dead letters delivers each of them', async () => {
    hr.script.push({ status: 410 }, { status: 422 });
    const events = [await closedOfferEvent('EXPIRED'), await closedOfferEvent('LOCKED')];
    for (const event of events) assert.equal((await (await start({ subscriber: 'hr.example.org', event })).result()).state, 'DEAD_LETTERED');
    await deadLettersUntil((ids) => events.every((e) => ids.includes(e.id)));
    const res = await admin('/admin/v1/webhooks/dead-letters/redeliver', OPERATOR, { subscriber: 'hr.example.org' });
    const body = (await res.json()) as { redelivered: { workflow_id: string; run_id: string }[] };
    assert.equal(res.status, 200, JSON.stringify(body));
    for (const event of events) {
      const run = body.redelivered.find((r) => r.workflow_id === webhookDeliveryWorkflowId('hr.example.org', event.id));
      assert.ok(run, event.id);
      assert.equal((await client.workflow.getHandle(run.workflow_id, run.run_id).result()).state, 'DELIVERED');
      assert.equal(mine(hr, event).filter((r) => r.status === 200).length, 1);
    }
  });
});

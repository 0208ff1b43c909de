import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, importSPKI, jwtVerify, SignJWT } from 'jose';
import { createLogger } from '../../src/logger';
import { type RunningPart, startGateway } from '../../src/main/issuer-parts';
import { createTestDatabase, loadTestConfig, TEST_DEV_API_KEY, testConfigFile, testEnv, uniqueName } from '../support/test-services';
import { startTestWorker, type TestWorker } from '../support/test-worker';
import { type ReceivedWebhook, webhookReceiver } from '../support/webhook-receiver';

/**
 * The offer path's webhook events (issue 18; docs/conventions.md, Webhooks): a full wallet pickup
 * through the real gateway, worker, Temporal and PostgreSQL produces created → redeemed → issued →
 * wallet notification → the offer's end, each delivered once by Idempotency-Key, signed
 * (X-Body-Signature, Bearer JWT, checked here with node:crypto and jose against the public-key
 * endpoint), and, after the receiver was down, still every event, in occurred_at order.
 */
const ISSUER_URL = 'http://127.0.0.1:18445';
const SERVICE_DID = 'did:web:127.0.0.1%3A18445';
const RECEIVER_DID = 'did:web:receiver.example.org';
const VCT = 'urn:eudi:diploma:1';
const GRANT = 'urn:ietf:params:oauth:grant-type:pre-authorized_code';
const SECRET_FIELD = 'Astrophysics-only-in-the-document';
/** The order a pickup's events happen in (OpenID4VCI 1.0 §6 token, §8 credential, §11 notification; then the offer ends). */
const PICKUP_ORDER = ['credential_offer.created', 'credential_offer.redeemed', 'credential.issued', 'wallet_notification.received', 'credential_offer.issued'];

interface EventBody {
  id: string;
  type: string;
  occurred_at: string;
  data: Record<string, unknown>;
}

describe('webhook events of the offer path: created, redeemed, issued, wallet notification, in order per document', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  const hook = webhookReceiver();
  let worker: TestWorker;
  let gateway: RunningPart;
  const taskQueue = uniqueName('offer-events');

  before(async () => {
    database = await createTestDatabase();
    await hook.listen();
    const config = loadTestConfig(
      testConfigFile((f) => {
        f.issuer = { pre_authorized_code: { enabled: true, pin_required: true } };
        const sources = f.authentic_sources as Record<string, Record<string, unknown>>;
        sources['hr.example.org']!.pin_delivery = 'authentic_source';
        sources['hr.example.org']!.notification_endpoint = { url: hook.url('/hook'), body_signature: true, bearer_jwt: { audience: RECEIVER_DID } };
        // Backoff shortened for the test: 50 ms doubling to 200 ms, a 60 s horizon.
        f.webhooks = { delivery: { initial_interval: 0.05, max_interval: 0.2, horizon: 60, attempt_timeout: 2 } };
      }),
      { DATABASE_URL: database.url, TEMPORAL_ADDRESS: testEnv().temporalAddress, TEMPORAL_TASK_QUEUE: taskQueue, PORT: '0', ISSUER_URL },
    );
    worker = await startTestWorker(config, database.db);
    gateway = await startGateway(config, createLogger('silent'));
  });
  after(async () => {
    await gateway?.close();
    await worker?.close();
    await hook.close();
    await database?.drop();
  });

  const json = async (res: Response) => {
    const text = await res.text();
    assert.ok(res.ok, `${res.status} ${text}`);
    return text ? (JSON.parse(text) as Record<string, any>) : {};
  };
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) => fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  const upload = async (documentId: string) =>
    json(
      await post(
        '/api/v1/upload',
        {
          meta: { authentic_source: 'hr.example.org', vct: VCT, document_id: documentId },
          identities: [{ authentic_source_person_id: 'EMP-7', family_name: 'Lindqvist', given_name: 'Maja', birth_date: '1987-03-09' }],
          document_data: { degree_type: 'Master of Science', field_of_study: SECRET_FIELD, issuing_institution: 'Example University', graduation_date: '2024-06-01' },
        },
        { 'x-api-key': TEST_DEV_API_KEY },
      ),
    );
  const notify = async (documentId: string) => json(await post('/api/v1/notification', { authentic_source: 'hr.example.org', vct: VCT, document_id: documentId }, { 'x-api-key': TEST_DEV_API_KEY }));

  /** Upload, notification (the PIN comes back: pin_delivery authentic_source), token with the PIN, one credential, the wallet's credential_accepted. */
  async function pickUp(documentId: string): Promise<string> {
    await upload(documentId);
    const notified = await notify(documentId);
    const uri = decodeURIComponent(String(notified.qr.deep_link).slice('openid-credential-offer://?credential_offer_uri='.length));
    const offer = await json(await fetch(`${gateway.url}${new URL(uri).pathname}`));
    const token = await json(
      await fetch(`${gateway.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: GRANT, 'pre-authorized_code': offer.grants[GRANT]['pre-authorized_code'], tx_code: notified.tx_code }),
      }),
    );
    const auth = { authorization: `Bearer ${token.access_token}` };
    const { c_nonce } = await json(await fetch(`${gateway.url}/nonce`, { method: 'POST' }));
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const proof = await new SignJWT({ nonce: c_nonce }).setProtectedHeader({ alg: 'ES256', typ: 'openid4vci-proof+jwt', jwk: await exportJWK(publicKey) }).setAudience(ISSUER_URL).setIssuedAt().sign(privateKey);
    const issued = await json(await post('/credential', { credential_configuration_id: VCT, proofs: { jwt: [proof] } }, auth));
    const note = await post('/notification', { notification_id: issued.notification_id, event: 'credential_accepted' }, auth);
    assert.equal(note.status, 204);
    await worker.client.workflow.getHandle(`offer/hr.example.org/${VCT}/${documentId}`).result();
    return String(issued.notification_id);
  }

  const bodyOf = (r: ReceivedWebhook) => JSON.parse(r.body.toString('utf8')) as EventBody;
  const ofDocument = (documentId: string) => hook.received.filter((r) => bodyOf(r).data.document_id === documentId);
  /** Waits until every event type of a pickup was accepted (2xx) for the document. */
  async function acceptedAll(documentId: string, timeoutMs = 45_000): Promise<ReceivedWebhook[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const accepted = ofDocument(documentId).filter((r) => r.status === 200);
      if (PICKUP_ORDER.every((t) => accepted.some((r) => bodyOf(r).type === t))) return accepted;
      if (Date.now() > deadline) assert.fail(`not every event arrived for ${documentId}: ${JSON.stringify(ofDocument(documentId).map((r) => [bodyOf(r).type, r.status]))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  test('a full pickup: each event once by Idempotency-Key, signed, ids only, in order', async () => {
    const documentId = uniqueName('doc');
    const offerId = await pickUp(documentId);
    const accepted = await acceptedAll(documentId);
    // Give a duplicate delivery (if there were one) time to show up.
    await new Promise((r) => setTimeout(r, 1500));
    const all = ofDocument(documentId);
    const keys = all.map((r) => String(r.headers['idempotency-key']));
    assert.equal(new Set(keys).size, keys.length, `each event exactly once: ${keys.join(', ')}`);
    assert.deepEqual(all.map((r) => bodyOf(r).type), PICKUP_ORDER, 'created → redeemed → issued → notification → the end');
    assert.equal(accepted.length, PICKUP_ORDER.length);

    const key = (await json(await fetch(`${gateway.url}/service/${SERVICE_DID}/public-info/public-key/webhooks`))) as { publicKey: string };
    const publicKey = createPublicKey(key.publicKey);
    const joseKey = await importSPKI(key.publicKey, 'ES256');
    for (const r of all) {
      const body = bodyOf(r);
      assert.equal(r.headers['idempotency-key'], body.id, 'Idempotency-Key is the event id');
      // Seed 002 "Request Signature": SHA3-256 over the exact body bytes.
      assert.ok(verify('sha3-256', r.body, publicKey, Buffer.from(String(r.headers['x-body-signature']), 'base64')), `X-Body-Signature of ${body.type}`);
      const { payload } = await jwtVerify(String(r.headers.authorization).replace(/^Bearer /, ''), joseKey, { issuer: SERVICE_DID, audience: RECEIVER_DID });
      assert.equal(payload.body_sha3_256, (await import('node:crypto')).createHash('sha3-256').update(r.body).digest('base64url'));
      assert.ok(!r.body.toString('utf8').includes(SECRET_FIELD), 'no document data');
      assert.ok(!Number.isNaN(Date.parse(body.occurred_at)));
      if (body.type !== 'credential_offer.issued') {
        assert.equal(body.data.authentic_source, 'hr.example.org');
        assert.equal(body.data.workflow_id, `offer/hr.example.org/${VCT}/${documentId}`);
      }
      assert.equal(body.data.offer_id, offerId);
      assert.equal(body.data.vct, VCT);
    }
    const byType = Object.fromEntries(all.map((r) => [bodyOf(r).type, bodyOf(r)]));
    assert.equal(byType['credential_offer.created']!.id, `offer_created.${offerId}`);
    assert.equal(byType['credential_offer.redeemed']!.id, `offer_redeemed.${offerId}`);
    assert.equal(byType['wallet_notification.received']!.data.event, 'credential_accepted');
    const issued = byType['credential.issued']!.data;
    assert.equal(issued.format, 'dc+sd-jwt');
    assert.equal(issued.credential_configuration_id, VCT);
    assert.equal(typeof issued.status_index, 'number', 'a token status list entry');
    assert.match(String(issued.status_list_uri), /\/status-lists\/token\/\d+$/);
    const record = await database.db('issued_credentials').where({ id: issued.credential_id }).first();
    assert.equal(record?.status_index, issued.status_index, 'the event names the recorded credential');
    assert.ok(!JSON.stringify(issued).includes('~'), 'never the SD-JWT itself');
    const times = all.map((r) => Date.parse(bodyOf(r).occurred_at));
    assert.deepEqual([...times].sort((a, b) => a - b), times, 'occurred_at order');
  });

  test('a receiver down (503) during a pickup gets every event once it is back, once each, in occurred_at order', async () => {
    const documentId = uniqueName('doc-outage');
    hook.state.downStatus = 503;
    try {
      await pickUp(documentId);
      // Every event has happened; the receiver has refused at least the first more than once.
      const deadline = Date.now() + 20_000;
      while (ofDocument(documentId).filter((r) => r.status === 503).length < 3) {
        assert.ok(Date.now() < deadline, 'the first event is retried while the receiver is down');
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      hook.state.downStatus = undefined;
    }
    const accepted = await acceptedAll(documentId);
    await new Promise((r) => setTimeout(r, 1500));
    const okKeys = ofDocument(documentId).filter((r) => r.status === 200).map((r) => String(r.headers['idempotency-key']));
    assert.equal(new Set(okKeys).size, okKeys.length, 'each event accepted exactly once');
    assert.deepEqual(accepted.map((r) => bodyOf(r).type), PICKUP_ORDER, 'accepted in the order they happened');
    const times = accepted.map((r) => Date.parse(bodyOf(r).occurred_at));
    assert.deepEqual([...times].sort((a, b) => a - b), times, 'occurred_at order');
    // Ordering, not just sorting at the end: no event was even tried before the earlier ones had been accepted.
    const attempted = ofDocument(documentId).map((r) => PICKUP_ORDER.indexOf(bodyOf(r).type));
    assert.deepEqual([...attempted].sort((a, b) => a - b), attempted, `attempts in order: ${attempted.join(',')}`);
    assert.ok(ofDocument(documentId).filter((r) => r.status === 503).every((r) => bodyOf(r).type === PICKUP_ORDER[0]), 'while down, only the first event was tried');
    // The ordering ledger: every delivery ended DELIVERED.
    const rows = await database.db('webhook_deliveries').where({ document_id: documentId });
    assert.deepEqual(rows.map((r: { state: string }) => r.state), PICKUP_ORDER.map(() => 'DELIVERED'));
  });

  test('a repeated notification finds the running offer: the offer it recorded meanwhile is never announced', async () => {
    const documentId = uniqueName('doc-repeat');
    await upload(documentId);
    const first = await notify(documentId);
    const second = await notify(documentId);
    assert.equal(second.qr.deep_link, first.qr.deep_link, 'the same live offer');
    const deadline = Date.now() + 20_000;
    while (!ofDocument(documentId).some((r) => bodyOf(r).type === PICKUP_ORDER[0])) {
      assert.ok(Date.now() < deadline, 'the running offer is announced');
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const created = ofDocument(documentId).filter((r) => bodyOf(r).type === PICKUP_ORDER[0]);
    assert.equal(created.length, 1, 'one offer, one created event');
    const rows = (await database.db('webhook_events').where({ document_id: documentId, type: PICKUP_ORDER[0] }).orderBy('position')) as { id: string; discarded: boolean }[];
    assert.deepEqual(rows.map((r) => r.discarded), [false, true], 'the second notification recorded an offer, then discarded it with its event');
    assert.equal(bodyOf(created[0]!).id, rows[0]!.id);
    assert.equal((await database.db('webhook_deliveries').where({ event_id: rows[1]!.id })).length, 0, 'nothing holds later events back');
  });

  test('an earlier event the receiver refuses (400, dead-lettered) does not hold the later ones back', async () => {
    const documentId = uniqueName('doc-refused');
    // Refuses the offer's created event (any 4xx but 408/429: not retried), accepts the rest.
    hook.state.statusFor = (body) => {
      const event = JSON.parse(body.toString('utf8')) as EventBody;
      return event.data.document_id === documentId && event.type === PICKUP_ORDER[0] ? 400 : undefined;
    };
    try {
      await pickUp(documentId);
      const deadline = Date.now() + 45_000;
      while (ofDocument(documentId).filter((r) => r.status === 200).length < PICKUP_ORDER.length - 1) {
        assert.ok(Date.now() < deadline, `the later events arrive: ${JSON.stringify(ofDocument(documentId).map((r) => [bodyOf(r).type, r.status]))}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      hook.state.statusFor = undefined;
    }
    const all = ofDocument(documentId);
    assert.deepEqual(all.map((r) => [bodyOf(r).type, r.status]), PICKUP_ORDER.map((t, i) => [t, i === 0 ? 400 : 200]), 'the refused one once, then the rest in order');
    const rows = (await database.db('webhook_deliveries').where({ document_id: documentId }).orderBy('position')) as { event_id: string; state: string }[];
    assert.deepEqual(rows.map((r) => r.state), ['DEAD_LETTERED', 'DELIVERED', 'DELIVERED', 'DELIVERED', 'DELIVERED']);
    const letter = await worker.client.workflow.getHandle(`webhook/hr.example.org/${rows[0]!.event_id}`).result();
    assert.equal(letter.state, 'DEAD_LETTERED', 'findable as a dead letter (and redeliverable by the admin endpoint)');
  });
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { offerStateQuery } from '../../workflows/contracts/credential-offer';
import { createLogger } from '../../src/logger';
import { type RunningPart, startGateway } from '../../src/main/issuer-parts';
import { createTestDatabase, loadTestConfig, REGISTRY_API_KEY, TEST_DEV_API_KEY, testConfigFile, testEnv, uniqueName } from '../support/test-services';
import { startSmtpReceiver, waitForPin } from '../support/smtp-receiver';
import { startTestWorker, type TestWorker } from '../support/test-worker';

/**
 * The operator API (issue 21) against real Temporal visibility, PostgreSQL and SMTP: admin tokens
 * with roles (RFC 6750 §2.1 Bearer), every call audited, processes found by each business id and by
 * state, the timeline of a collected offer in order, cancelling an offer.
 */
const sha256Hash = (key: string) => `sha256:${createHash('sha256').update(key).digest('hex')}`;
const READER = 'reader-token-0123456789abcdef01';
const OPERATOR = 'ops.operator-token-0123456789abcdef';
const UI = 'https://temporal-ui.example.org';
const GRANT = 'urn:ietf:params:oauth:grant-type:pre-authorized_code';
const VCT = 'urn:eudi:diploma:1';
const bodyOf = (res: Response): Promise<any> => res.json();

describe('admin API: authentication, roles, audit, finding and acting on processes', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let smtp: Awaited<ReturnType<typeof startSmtpReceiver>>;
  let worker: TestWorker;
  let gateway: RunningPart;
  let base: string;
  const taskQueue = uniqueName('admin');
  // Document ids unique to the run: workflow ids are namespace-wide.
  const doc = (name: string) => `${taskQueue}-${name}`;
  const testStart = new Date(Date.now() - 1000);

  before(async () => {
    database = await createTestDatabase();
    smtp = await startSmtpReceiver();
    const config = loadTestConfig(
      testConfigFile((f) => {
        f.issuer = { pre_authorized_code: { enabled: true, pin_required: true, code_ttl: 600, max_pin_attempts: 3 } };
        f.admin_tokens = { reader: { token_hash: sha256Hash(READER), role: 'read' }, operator: { key_id: 'ops', token_hash: sha256Hash(OPERATOR), role: 'operate' } };
      }),
      { DATABASE_URL: database.url, TEMPORAL_ADDRESS: testEnv().temporalAddress, TEMPORAL_TASK_QUEUE: taskQueue, PORT: '0', SMTP_URL: smtp.url, ISSUER_URL: 'https://issuer.example.org', TEMPORAL_UI_URL: UI },
    );
    worker = await startTestWorker(config, database.db);
    gateway = await startGateway(config, createLogger('silent'));
    base = gateway.url!;
  });
  after(async () => {
    await gateway?.close();
    await worker?.close();
    await smtp?.close();
    await database?.drop();
  });

  const admin = (path: string, token: string | undefined, init: RequestInit = {}) =>
    fetch(`${base}${path}`, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.headers as Record<string, string>) } });
  const auditRows = (requestId: string) => database.db('audit_log').where({ request_id: requestId }).select('*');
  const withRequestId = (id: string) => ({ headers: { 'x-request-id': id } });
  const upload = async (documentId: string, email: string) => {
    const res = await fetch(`${base}/api/v1/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY },
      body: JSON.stringify({
        meta: { authentic_source: 'hr.example.org', vct: VCT, document_id: documentId },
        identities: [{ authentic_source_person_id: 'EMP-7', family_name: 'Lindqvist', given_name: 'Maja', birth_date: '1987-03-09', email }],
        document_data: { degree_type: 'Master of Science', field_of_study: 'Astrophysics', issuing_institution: 'Example University', graduation_date: '2024-06-01' },
      }),
    });
    assert.equal(res.status, 200, await res.text());
  };
  const notify = async (documentId: string) => {
    const res = await fetch(`${base}/api/v1/notification`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY }, body: JSON.stringify({ authentic_source: 'hr.example.org', vct: VCT, document_id: documentId }) });
    const body = await bodyOf(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    const uri = decodeURIComponent(body.qr.deep_link.slice('openid-credential-offer://?credential_offer_uri='.length));
    return (await bodyOf(await fetch(`${base}${new URL(uri).pathname}`))).grants[GRANT]['pre-authorized_code'] as string;
  };
  /** Polls the find endpoint until `predicate` holds (visibility is eventually consistent). */
  const findUntil = async (query: string, predicate: (body: any) => boolean, token = READER) => {
    let body: any;
    for (let i = 0; i < 100; i++) {
      const res = await admin(`/admin/v1/processes?${query}`, token);
      body = await bodyOf(res);
      assert.equal(res.status, 200, JSON.stringify(body));
      if (predicate(body)) return body;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`visibility never showed what was expected for ${query}: ${JSON.stringify(body)}`);
  };

  // A full pickup, done once: upload, notification, PIN e-mail, one wrong PIN, token, credential, the wallet's event.
  const pickup = { documentId: '', code: '', pin: '', accessToken: '', credential: '', workflowId: '' };
  before(async () => {
    pickup.documentId = doc('collected');
    pickup.workflowId = `offer/hr.example.org/${VCT}/${pickup.documentId}`;
    await upload(pickup.documentId, 'maja@example.org');
    pickup.code = await notify(pickup.documentId);
    pickup.pin = await waitForPin(smtp.mails, 'maja@example.org');
    const token = (txCode: string) => fetch(`${base}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: GRANT, 'pre-authorized_code': pickup.code, tx_code: txCode }) });
    assert.equal((await token(String((Number(pickup.pin) + 1) % 1_000_000).padStart(6, '0'))).status, 400);
    pickup.accessToken = (await bodyOf(await token(pickup.pin))).access_token;
    const { c_nonce } = await bodyOf(await fetch(`${base}/nonce`, { method: 'POST' }));
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const proof = await new SignJWT({ nonce: c_nonce }).setProtectedHeader({ alg: 'ES256', typ: 'openid4vci-proof+jwt', jwk: await exportJWK(publicKey) }).setAudience('https://issuer.example.org').setIssuedAt().sign(privateKey);
    const issued = await bodyOf(await fetch(`${base}/credential`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${pickup.accessToken}` }, body: JSON.stringify({ credential_configuration_id: VCT, proofs: { jwt: [proof] } }) }));
    pickup.credential = issued.credentials[0].credential;
    const note = await fetch(`${base}/notification`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${pickup.accessToken}` }, body: JSON.stringify({ notification_id: issued.notification_id, event: 'credential_accepted' }) });
    assert.equal(note.status, 204);
    await worker.client.workflow.getHandle(pickup.workflowId).result();
  });

  test('no token, a wrong token and a source API key are 401 UNAUTHORIZED, each audited as anonymous', async () => {
    for (const [i, token] of [undefined, 'not-an-admin-token-000000000000', REGISTRY_API_KEY].entries()) {
      const requestId = `${taskQueue}-unauth-${i}`;
      const res = await admin('/admin/v1/processes', token, withRequestId(requestId));
      assert.equal(res.status, 401);
      assert.equal((await bodyOf(res)).error.code, 'UNAUTHORIZED');
      await waitForAudit(requestId);
      const [row] = await auditRows(requestId);
      assert.equal(row.actor, 'anonymous');
      assert.equal(row.status, 401);
      assert.equal(row.path, '/admin/v1/processes');
    }
  });

  test('a read token finds and inspects but cannot act: cancelling is 403 FORBIDDEN, audited with its name', async () => {
    const requestId = `${taskQueue}-read-cancel`;
    const res = await admin('/admin/v1/offers/cancel', READER, { method: 'POST', body: JSON.stringify({ authentic_source: 'hr.example.org', vct: VCT, document_id: pickup.documentId }), ...withRequestId(requestId) });
    assert.equal(res.status, 403);
    const body = await bodyOf(res);
    assert.equal(body.error.code, 'FORBIDDEN');
    assert.deepEqual(body.error.details, { role: 'read', required: 'operate' });
    await waitForAudit(requestId);
    const [row] = await auditRows(requestId);
    assert.equal(row.actor, 'admin:reader');
    assert.equal(row.status, 403);
  });

  test('the process of a collected offer is found by document id, by source and vct, and by state and kind; each search is audited with its filters', async () => {
    const byDocument = await findUntil(`document_id=${encodeURIComponent(pickup.documentId)}`, (b) => b.processes[0]?.state === 'ISSUED');
    assert.equal(byDocument.processes.length, 1);
    const found = byDocument.processes[0];
    assert.equal(found.workflow_id, pickup.workflowId);
    assert.equal(found.kind, 'offer');
    assert.equal(found.workflow_type, 'credentialOfferWorkflow');
    assert.equal(found.status, 'COMPLETED');
    assert.equal(found.authentic_source, 'hr.example.org');
    assert.equal(found.vct, VCT);
    assert.equal(found.document_id, pickup.documentId);
    assert.equal(found.temporal_ui_url, `${UI}/namespaces/default/workflows/${encodeURIComponent(pickup.workflowId)}/${found.run_id}/history`);
    const ids = (b: any) => b.processes.map((p: any) => p.workflow_id);
    assert.ok(ids(await findUntil(`authentic_source=hr.example.org&vct=${encodeURIComponent(VCT)}`, (b) => ids(b).includes(pickup.workflowId))).includes(pickup.workflowId));
    // Each business id on its own, too.
    assert.ok(ids(await findUntil('authentic_source=hr.example.org', (b) => ids(b).includes(pickup.workflowId))).includes(pickup.workflowId));
    assert.ok(ids(await findUntil(`vct=${encodeURIComponent(VCT)}&kind=offer`, (b) => ids(b).includes(pickup.workflowId))).includes(pickup.workflowId));
    assert.ok(ids(await findUntil('state=ISSUED&kind=offer', (b) => ids(b).includes(pickup.workflowId))).includes(pickup.workflowId));
    assert.deepEqual(ids(await findUntil('state=ISSUED&kind=batch', () => true)), [], 'no batch ran on this task queue');
    assert.deepEqual(ids(await findUntil(`document_id=${encodeURIComponent(pickup.documentId)}&state=EXPIRED`, () => true)), []);
    const requestId = `${taskQueue}-find`;
    await admin(`/admin/v1/processes?document_id=${encodeURIComponent(pickup.documentId)}`, READER, withRequestId(requestId));
    await waitForAudit(requestId);
    const [row] = await auditRows(requestId);
    assert.equal(row.actor, 'admin:reader');
    assert.equal(row.action, 'admin.processes.find');
    assert.deepEqual(row.target, { document_id: pickup.documentId });
  });

  test('a time range includes what started in it and excludes what did not', async () => {
    const q = `document_id=${encodeURIComponent(pickup.documentId)}`;
    assert.equal((await findUntil(`${q}&started_after=${testStart.toISOString()}`, (b) => b.processes.length === 1)).processes.length, 1);
    assert.equal((await findUntil(`${q}&started_before=${testStart.toISOString()}`, () => true)).processes.length, 0);
    assert.equal((await findUntil(`${q}&started_after=${new Date(Date.now() + 60_000).toISOString()}`, () => true)).processes.length, 0);
  });

  test('the timeline of a collected offer lists its steps in order, with the state query and no secret or personal data', async () => {
    const res = await admin(`/admin/v1/processes/${encodeURIComponent(pickup.workflowId)}`, READER);
    const body = await bodyOf(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.state_query.state, 'ISSUED');
    assert.equal(body.state_query.pinAttempts, 1);
    assert.equal(body.state_query.credentialsIssued, 1);
    const steps = body.timeline.map((e: any) => (e.event === 'state' ? `state:${e.details.state}` : e.event));
    // History order: a state change made inside an Update is recorded before the Update's completion.
    assert.deepEqual(steps, ['started', 'state:OFFERED', 'pin_sent', 'pin_wrong', 'state:REDEEMED', 'redeemed', 'state:ISSUED', 'credentials_issued', 'wallet_event', 'offer_closed', 'completed']);
    const byEvent = Object.fromEntries(body.timeline.map((e: any) => [e.event, e]));
    assert.deepEqual(byEvent.pin_wrong.details, { attempts_left: 2 });
    assert.deepEqual(byEvent.credentials_issued.details, { count: 1 });
    assert.deepEqual(byEvent.wallet_event.details, { event: 'credential_accepted' });
    const times = body.timeline.map((e: any) => Date.parse(e.at));
    assert.deepEqual(times, [...times].sort((a, b) => a - b), 'in history order, with times');
    assert.ok(times[0] >= testStart.getTime());
    const text = JSON.stringify(body);
    for (const secret of [pickup.code, pickup.accessToken, pickup.credential, pickup.credential.split('.')[1]!, 'Lindqvist', 'Maja', '1987-03-09', 'maja@example.org', 'Astrophysics']) {
      assert.ok(!text.includes(secret), `the answer does not contain ${secret.slice(0, 12)}...`);
    }
    assert.ok(!new RegExp(`\\b${pickup.pin}\\b`).test(text), 'nor the PIN');
  });

  test('re-sending a PIN (operator, by e-mail; the source, through its API): a new PIN works, the old one is a wrong PIN, attempts start again, the code stays', async () => {
    const documentId = doc('resend');
    const email = 'resend@example.org';
    await upload(documentId, email);
    const code = await notify(documentId);
    const firstPin = await waitForPin(smtp.mails, email);
    const token = (txCode: string) => fetch(`${base}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: GRANT, 'pre-authorized_code': code, tx_code: txCode }) });
    const wrong = String((Number(firstPin) + 1) % 1_000_000).padStart(6, '0');
    assert.equal((await token(wrong)).status, 400, 'one wrong PIN (OpenID4VCI 1.0 §6.3 invalid_grant)');
    const key = JSON.stringify({ authentic_source: 'hr.example.org', vct: VCT, document_id: documentId });
    assert.equal((await admin('/admin/v1/offers/resend-pin', READER, { method: 'POST', body: key })).status, 403, 'a read token cannot act');

    const resent = await admin('/admin/v1/offers/resend-pin', OPERATOR, { method: 'POST', body: key });
    const resentBody = await bodyOf(resent);
    assert.equal(resent.status, 200, JSON.stringify(resentBody));
    assert.deepEqual(resentBody, { workflow_id: `offer/hr.example.org/${VCT}/${documentId}`, pin_generation: 1, pin_delivery: 'email' });
    const state = await worker.client.workflow.getHandle(resentBody.workflow_id).query(offerStateQuery);
    assert.equal(state.pinAttempts, 0, 'the wrong-PIN count starts again');
    assert.equal(state.pinGeneration, 1);
    // The source asks too, through its own API: a third PIN, by e-mail (this source's PINs go by e-mail, so no tx_code comes back).
    const bySource = await fetch(`${base}/api/v1/notification/resend-pin`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY }, body: key });
    assert.deepEqual(await bodyOf(bySource), { pin_delivery: 'email', pin_generation: 2 });
    let mails: string[] = [];
    for (let i = 0; i < 150 && mails.length < 3; i++) {
      mails = smtp.mails.filter((m) => m.to.includes(email)).map((m) => /\b(\d{6})\b/.exec(m.text)?.[1] ?? '');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(mails.length, 3, 'three PIN e-mails: the first and two re-sends');
    const [, secondPin, thirdPin] = mails as [string, string, string];
    assert.equal(new Set([firstPin, secondPin, thirdPin]).size, 3, 'each re-send is a new PIN');
    assert.equal((await token(firstPin)).status, 400, 'the first PIN stopped working');
    assert.equal((await token(secondPin)).status, 400, 'so did the second');
    const redeemed = await token(thirdPin);
    assert.equal(redeemed.status, 200, 'the newest PIN redeems the same pre-authorized code');
    assert.ok((await bodyOf(redeemed)).access_token);
    // Redeemed: nothing to re-send; an unknown document has no offer.
    assert.equal((await admin('/admin/v1/offers/resend-pin', OPERATOR, { method: 'POST', body: key })).status, 409);
    assert.equal((await admin('/admin/v1/offers/resend-pin', OPERATOR, { method: 'POST', body: JSON.stringify({ authentic_source: 'hr.example.org', vct: VCT, document_id: doc('no-offer') }) })).status, 404);
    const audit = await database.db('audit_log').where({ action: 'admin.offer.resend_pin' }).select('target', 'status');
    assert.ok(audit.some((row: any) => row.status === 200 && row.target.document_id === documentId), 'the re-send is audited');
  });

  /** Locks a fresh offer with max_pin_attempts (3) wrong PINs; returns its key, code, PIN and a /token caller. */
  const lockedOffer = async (name: string) => {
    const documentId = doc(name);
    const email = `${name}@example.org`;
    await upload(documentId, email);
    const code = await notify(documentId);
    const pin = await waitForPin(smtp.mails, email);
    const token = (txCode: string) => fetch(`${base}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: GRANT, 'pre-authorized_code': code, tx_code: txCode }) });
    const wrong = String((Number(pin) + 1) % 1_000_000).padStart(6, '0');
    for (let i = 0; i < 3; i++) assert.equal((await token(wrong)).status, 400);
    const refused = await token(pin);
    assert.equal(refused.status, 400, 'locked: even the right PIN is refused (OpenID4VCI 1.0 §6.3 invalid_grant)');
    assert.match((await bodyOf(refused)).error_description, /locked/);
    const workflowId = `offer/hr.example.org/${VCT}/${documentId}`;
    const handle = worker.client.workflow.getHandle(workflowId);
    assert.equal((await handle.query(offerStateQuery)).state, 'LOCKED');
    assert.equal((await handle.describe()).status.name, 'RUNNING', 'a LOCKED offer waits (locked-offer-waits) instead of ending');
    return { documentId, email, code, pin, token, workflowId, handle, key: JSON.stringify({ authentic_source: 'hr.example.org', vct: VCT, document_id: documentId }) };
  };

  test('unlocking a locked offer: a read token is 403; an operate token unlocks it (audited), the same code redeems with the right PIN; unlocking what is not locked is 409', async () => {
    const offer = await lockedOffer('unlock');
    const readId = `${taskQueue}-read-unlock`;
    const byReader = await admin('/admin/v1/offers/unlock', READER, { method: 'POST', body: offer.key, ...withRequestId(readId) });
    assert.equal(byReader.status, 403);
    assert.equal((await bodyOf(byReader)).error.code, 'FORBIDDEN');
    assert.equal((await offer.handle.query(offerStateQuery)).state, 'LOCKED', 'the read token changed nothing');

    const requestId = `${taskQueue}-unlock`;
    const res = await admin('/admin/v1/offers/unlock', OPERATOR, { method: 'POST', body: offer.key, ...withRequestId(requestId) });
    const body = await bodyOf(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.workflow_id, offer.workflowId);
    assert.equal(body.state_query.state, 'OFFERED');
    assert.equal(body.state_query.pinAttempts, 0, 'the wrong-PIN count starts again');
    const steps = body.timeline.map((e: any) => (e.event === 'state' ? `state:${e.details.state}` : e.event));
    // Three wrong PINs (the third locks), the right PIN refused while locked, then the unlock.
    assert.deepEqual(steps.slice(-7), ['pin_wrong', 'pin_wrong', 'state:LOCKED', 'redeem_refused', 'redeem_refused', 'state:OFFERED', 'unlocked'], steps.join(', '));
    await waitForAudit(requestId);
    const [row] = await auditRows(requestId);
    assert.equal(row.actor, 'admin:operator');
    assert.equal(row.action, 'admin.offer.unlock');
    assert.equal(row.status, 200);
    assert.deepEqual(row.target, { workflow_id: offer.workflowId, authentic_source: 'hr.example.org', vct: VCT, document_id: offer.documentId });
    const [readRow] = await auditRows(readId);
    assert.equal(readRow.actor, 'admin:reader');
    assert.equal(readRow.status, 403);

    const again = await admin('/admin/v1/offers/unlock', OPERATOR, { method: 'POST', body: offer.key });
    assert.equal(again.status, 409, 'an OFFERED offer is not locked');
    assert.equal((await bodyOf(again)).error.code, 'CONFLICT');
    const redeemed = await offer.token(offer.pin);
    assert.equal(redeemed.status, 200, 'the same pre-authorized code and PIN redeem after the unlock');
    assert.ok((await bodyOf(redeemed)).access_token);
    assert.equal((await admin('/admin/v1/offers/unlock', OPERATOR, { method: 'POST', body: offer.key })).status, 409, 'a REDEEMED offer is not locked');
    assert.equal((await admin('/admin/v1/offers/unlock', OPERATOR, { method: 'POST', body: JSON.stringify({ authentic_source: 'hr.example.org', vct: VCT, document_id: doc('no-offer') }) })).status, 404);
  });

  test('after a lockout a PIN re-send lifts the lock: the old PIN fails, the new one redeems the same code; a locked offer can also be cancelled', async () => {
    const offer = await lockedOffer('locked-resend');
    const resent = await admin('/admin/v1/offers/resend-pin', OPERATOR, { method: 'POST', body: offer.key });
    assert.equal(resent.status, 200, JSON.stringify(await bodyOf(resent.clone())));
    assert.equal((await bodyOf(resent)).pin_generation, 1);
    const state = await offer.handle.query(offerStateQuery);
    assert.equal(state.state, 'OFFERED');
    assert.equal(state.pinAttempts, 0);
    let pins: string[] = [];
    for (let i = 0; i < 150 && pins.length < 2; i++) {
      pins = smtp.mails.filter((m) => m.to.includes(offer.email)).map((m) => /\b(\d{6})\b/.exec(m.text)?.[1] ?? '');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(pins.length, 2, 'the first PIN e-mail and the re-sent one');
    const newPin = pins[1]!;
    assert.notEqual(newPin, offer.pin);
    assert.equal((await offer.token(offer.pin)).status, 400, 'the old PIN stopped working');
    assert.equal((await offer.token(newPin)).status, 200, 'the new PIN redeems the same code');

    const other = await lockedOffer('locked-cancel');
    const cancelled = await admin('/admin/v1/offers/cancel', OPERATOR, { method: 'POST', body: other.key });
    assert.equal(cancelled.status, 200);
    assert.equal((await other.handle.result()).state, 'CANCELLED');
  });

  test("a document's timeline joins its upload, offer, credential (format, status index) and workflow, in time order, with no personal data", async () => {
    const q = (documentId: string) => `/admin/v1/documents/timeline?authentic_source=hr.example.org&vct=${encodeURIComponent(VCT)}&document_id=${encodeURIComponent(documentId)}`;
    let body: any;
    for (let i = 0; i < 50; i++) {
      body = await bodyOf(await admin(q(pickup.documentId), READER));
      if (body.events?.some((e: any) => e.event === 'offer_process_closed')) break; // visibility is eventually consistent
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(body.document, { authentic_source: 'hr.example.org', vct: VCT, document_id: pickup.documentId, stored: true });
    const events = body.events.map((e: any) => e.event);
    for (const event of ['uploaded', 'offer_created', 'credential_issued', 'offer_ended', 'offer_process_started', 'offer_process_closed']) assert.ok(events.includes(event), `${event} in ${events.join(', ')}`);
    assert.ok(events.indexOf('uploaded') < events.indexOf('offer_created') && events.indexOf('offer_created') < events.indexOf('credential_issued'));
    const times = body.events.map((e: any) => Date.parse(e.at));
    assert.deepEqual(times, [...times].sort((a, b) => a - b), 'in time order');
    const issued = body.events.find((e: any) => e.event === 'credential_issued');
    assert.equal(issued.details.format, 'dc+sd-jwt');
    assert.equal(typeof issued.details.status_index, 'number', 'the status-list index of the credential (draft-ietf-oauth-status-list §6.2 idx)');
    assert.equal(body.events.find((e: any) => e.event === 'offer_ended').details.state, 'ISSUED');
    assert.deepEqual(body.processes.map((p: any) => p.workflow_id), [pickup.workflowId]);
    const text = JSON.stringify(body);
    for (const secret of [pickup.code, pickup.accessToken, pickup.credential.split('.')[1]!, 'Lindqvist', 'Maja', '1987-03-09', 'maja@example.org', 'Astrophysics']) {
      assert.ok(!text.includes(secret), `the answer does not contain ${secret.slice(0, 12)}...`);
    }
    const unknown = await admin(q(doc('never-uploaded')), READER);
    assert.equal(unknown.status, 404);
    assert.equal((await bodyOf(unknown)).error.code, 'DOCUMENT_NOT_FOUND');
    assert.equal((await admin('/admin/v1/documents/timeline?authentic_source=hr.example.org', READER)).status, 400, 'vct and document_id are required');
    assert.equal((await admin(q(pickup.documentId), undefined)).status, 401);
  });

  test('an unknown process is 404 NOT_FOUND; unknown or malformed query parameters are 400 INVALID_FORMAT', async () => {
    const missing = await admin(`/admin/v1/processes/${encodeURIComponent(`offer/hr.example.org/${VCT}/${doc('never')}`)}`, READER);
    assert.equal(missing.status, 404);
    assert.equal((await bodyOf(missing)).error.code, 'NOT_FOUND');
    for (const query of ['colour=blue', 'state=issued', 'kind=payment', "vct=a'b", 'page_size=500', 'started_after=yesterday']) {
      const res = await admin(`/admin/v1/processes?${query}`, READER);
      assert.equal(res.status, 400, query);
      assert.equal((await bodyOf(res)).error.code, 'INVALID_FORMAT');
    }
  });

  test('pages follow next_page_token until the last page, which has none', async () => {
    for (const name of ['page-a', 'page-b']) {
      await upload(doc(name), `${name}@example.org`);
      await notify(doc(name));
    }
    await findUntil(`authentic_source=hr.example.org&kind=offer&page_size=10`, (b) => b.processes.length >= 3);
    const seen: string[] = [];
    let token: string | null = null;
    for (let page = 0; page < 10; page++) {
      const body: any = await findUntil(`authentic_source=hr.example.org&kind=offer&page_size=1${token ? `&page_token=${token}` : ''}`, () => true);
      assert.ok(body.processes.length <= 1);
      seen.push(...body.processes.map((p: any) => p.workflow_id));
      token = body.next_page_token;
      if (!token) break;
    }
    assert.equal(new Set(seen).size, seen.length, 'no process twice');
    for (const name of ['collected', 'page-a', 'page-b']) assert.ok(seen.includes(`offer/hr.example.org/${VCT}/${doc(name)}`), name);
  });

  test('an operate token cancels a live offer: it ends CANCELLED, its code stops working; a second cancel is 409 CONFLICT, an unknown offer 404; each audited', async () => {
    const documentId = doc('to-cancel');
    await upload(documentId, 'cancel@example.org');
    const code = await notify(documentId);
    const pin = await waitForPin(smtp.mails, 'cancel@example.org');
    const key = JSON.stringify({ authentic_source: 'hr.example.org', vct: VCT, document_id: documentId });
    const requestId = `${taskQueue}-cancel`;
    const res = await admin('/admin/v1/offers/cancel', OPERATOR, { method: 'POST', body: key, ...withRequestId(requestId) });
    const body = await bodyOf(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.state_query.state, 'CANCELLED');
    assert.ok(body.timeline.some((e: any) => e.event === 'cancel_requested'));
    const final = await worker.client.workflow.getHandle(`offer/hr.example.org/${VCT}/${documentId}`).result();
    assert.equal(final.state, 'CANCELLED');
    const token = await fetch(`${base}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: GRANT, 'pre-authorized_code': code, tx_code: pin }) });
    assert.equal((await bodyOf(token)).error, 'invalid_grant', 'the cancelled offer redeems nothing (OpenID4VCI 1.0 §6.3)');
    await waitForAudit(requestId);
    const [row] = await auditRows(requestId);
    assert.equal(row.actor, 'admin:operator');
    assert.equal(row.action, 'admin.offer.cancel');
    assert.equal(row.status, 200);
    assert.deepEqual(row.target, { workflow_id: `offer/hr.example.org/${VCT}/${documentId}`, authentic_source: 'hr.example.org', vct: VCT, document_id: documentId });

    const again = await admin('/admin/v1/offers/cancel', OPERATOR, { method: 'POST', body: key });
    assert.equal(again.status, 409);
    assert.equal((await bodyOf(again)).error.code, 'CONFLICT');
    const unknown = await admin('/admin/v1/offers/cancel', OPERATOR, { method: 'POST', body: JSON.stringify({ authentic_source: 'hr.example.org', vct: VCT, document_id: doc('no-offer') }) });
    assert.equal(unknown.status, 404);
  });

  test('in development the dev API key is an operate token', async () => {
    const res = await admin('/admin/v1/offers/cancel', TEST_DEV_API_KEY, { method: 'POST', body: JSON.stringify({ authentic_source: 'hr.example.org', vct: VCT, document_id: pickup.documentId }) });
    assert.equal(res.status, 409, 'authorized to act; the collected offer has ended');
  });

  test('the OpenAPI document lists the admin operations with the adminToken scheme and their query parameters', async () => {
    const doc = await bodyOf(await fetch(`${base}/openapi.json`));
    const find = doc.paths['/admin/v1/processes'].get;
    assert.deepEqual(find.security, [{ adminToken: [] }]);
    assert.deepEqual(
      find.parameters.map((p: any) => p.name),
      ['authentic_source', 'vct', 'document_id', 'state', 'kind', 'started_after', 'started_before', 'page_size', 'page_token'],
    );
    assert.ok(find.parameters.every((p: any) => p.in === 'query' && p.required === false));
    assert.deepEqual(doc.paths['/admin/v1/processes/{workflow_id}'].get.parameters.map((p: any) => [p.name, p.in]), [['workflow_id', 'path'], ['run_id', 'query']]);
    assert.ok(doc.paths['/admin/v1/offers/cancel'].post.responses['409']);
    assert.ok(doc.paths['/admin/v1/offers/unlock'].post.responses['409']);
    assert.deepEqual(doc.paths['/admin/v1/offers/unlock'].post.security, [{ adminToken: [] }]);
    assert.equal(doc.components.securitySchemes.adminToken.scheme, 'bearer');
  });

  test('every admin operation in the OpenAPI document leaves an audit row naming the caller and the answer, also when refused', async () => {
    const doc = await bodyOf(await fetch(`${base}/openapi.json`));
    const operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .filter(([path]) => path.startsWith('/admin/'))
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, 'no-such-id') })));
    const listed = operations.map((o) => `${o.method} ${o.path}`);
    for (const op of ['GET /admin/v1/processes', 'GET /admin/v1/processes/no-such-id', 'GET /admin/v1/documents/timeline', 'POST /admin/v1/offers/cancel', 'POST /admin/v1/offers/resend-pin', 'POST /admin/v1/offers/unlock', 'GET /admin/v1/webhooks/dead-letters', 'POST /admin/v1/webhooks/dead-letters/redeliver']) {
      assert.ok(listed.includes(op), `${op} in ${listed.join(', ')}`);
    }
    for (const [i, { method, path }] of operations.entries()) {
      // A read token: it may look (200, 400 or 404) but not act (403), so nothing changes here.
      const requestId = `${taskQueue}-every-${i}`;
      const res = await admin(path, READER, { method, ...(method === 'GET' ? {} : { body: '{}' }), ...withRequestId(requestId) });
      await res.body?.cancel();
      await waitForAudit(requestId);
      const [row] = await auditRows(requestId);
      assert.equal(row.actor, 'admin:reader', `${method} ${path}`);
      assert.equal(row.status, res.status, `${method} ${path}`);
      assert.equal(row.method, method);
    }
  });

  test('failed admin authentications are rate limited per key id (429 with Retry-After), and the right token still passes', async () => {
    let status = 0;
    let retryAfter: string | null = null;
    for (let i = 0; i < 25 && status !== 429; i++) {
      const res = await admin('/admin/v1/processes', `ops.wrong-guess-${String(i).padStart(20, '0')}`);
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      await res.body?.cancel();
    }
    assert.equal(status, 429);
    assert.match(retryAfter ?? '', /^\d+$/);
    assert.equal((await admin('/admin/v1/processes?kind=upkeep', OPERATOR)).status, 200, 'a sha256 token is cheap to check, so it is checked and passes');
  });

  async function waitForAudit(requestId: string): Promise<void> {
    // The audit row is written when the response finishes, just after the client has it.
    for (let i = 0; i < 50; i++) {
      if ((await auditRows(requestId)).length > 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.fail(`no audit row for ${requestId}`);
  }
});

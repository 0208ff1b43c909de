import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createLogger } from '../../src/logger';
import { type RunningPart, startGateway } from '../../src/main/issuer-parts';
import { issueCredentialsUpdate, offerStateQuery, redeemOfferUpdate } from '../../workflows/contracts/credential-offer';
import { startSmtpReceiver, waitForPin as waitForPinEmail } from '../support/smtp-receiver';
import { fetchHistoryText, historyHasNumber, historyText } from '../support/history-text';
import { createTestDatabase, loadTestConfig, TEST_DEV_API_KEY, testConfigFile, testEnv, uniqueName } from '../support/test-services';
import { startTestWorker, type TestWorker } from '../support/test-worker';

/**
 * Issue 15 on the offer path, from outside: what a PIN e-mail, a workflow history, the database and
 * the logs give an attacker, what a Temporal client can do without the gateway, and the limits of
 * one offer (credentials per offer, the document version it was made for, DPoP jti on /token).
 */
const bodyOf = (res: Response): Promise<any> => res.json();
const GRANT = 'urn:ietf:params:oauth:grant-type:pre-authorized_code';
/** Ten digits, so searching a history for the PIN cannot hit an unrelated number by chance. */
const PIN_LENGTH = 10;
const MAX_CREDENTIALS = 3;
const VCT = 'urn:eudi:diploma:1';
/** Document ids unique to this run: workflow ids are global in the namespace every test file shares. */
const RUN = randomBytes(4).toString('hex');
const doc = (name: string) => `${name}-${RUN}`;
const workflowIdOf = (documentId: string) => `offer/hr.example.org/${VCT}/${documentId}`;

/** Everything a pino logger writes, as text, to search for secrets. */
function captureLog() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, stream, text: () => lines.join('') };
}

describe('credential offer hardening (issue 15: findings 2, 3, 4, 6, 10)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let smtp: Awaited<ReturnType<typeof startSmtpReceiver>>;
  let hookServer: ReturnType<typeof createHttpServer>;
  let gateway: RunningPart;
  let worker: TestWorker;
  let client: Client;
  let base: string;
  const gatewayLog = captureLog();
  const workerLog = captureLog();

  before(async () => {
    database = await createTestDatabase();
    smtp = await startSmtpReceiver();
    hookServer = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
    const hooks = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hooks`;
    const config = loadTestConfig(
      testConfigFile((f) => {
        // pin_required is left to its default (true).
        f.issuer = { pre_authorized_code: { enabled: true, code_ttl: 60, pin_length: PIN_LENGTH, max_credentials_per_offer: MAX_CREDENTIALS } };
        (f.authentic_sources as Record<string, Record<string, unknown>>)['hr.example.org']!.notification_endpoint = { url: hooks };
      }),
      { DATABASE_URL: database.url, TEMPORAL_ADDRESS: testEnv().temporalAddress, TEMPORAL_TASK_QUEUE: uniqueName('hardening'), PORT: '0', SMTP_URL: smtp.url, ISSUER_URL: 'https://issuer.example.org' },
    );
    // The test harness's worker: the issuer's worker and the webhook outbox dispatcher, logging here.
    worker = await startTestWorker(config, database.db, {}, createLogger('debug', 'worker', workerLog.stream));
    client = worker.client;
    gateway = await startGateway(config, createLogger('debug', 'gateway', gatewayLog.stream));
    base = gateway.url!;
  });
  after(async () => {
    await gateway?.close();
    await worker?.close();
    await smtp?.close();
    await new Promise((r) => hookServer?.close(() => r(undefined)));
    await database?.drop();
  });

  const upload = async (documentId: string, fieldOfStudy = 'Computer Science') => {
    const res = await fetch(`${base}/api/v1/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY },
      body: JSON.stringify({
        meta: { authentic_source: 'hr.example.org', vct: VCT, document_id: documentId },
        identities: [{ authentic_source_person_id: 'EMP-1', family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15', email: `${documentId}@example.org` }],
        document_data: { degree_type: 'Bachelor of Science', field_of_study: fieldOfStudy, issuing_institution: 'Example University', graduation_date: '2025-05-15' },
      }),
    });
    assert.equal(res.status, 200);
  };
  /** Upload, notification, and what the holder receives: the deep link's URI and token, and the PIN mail. */
  const offered = async (documentId: string) => {
    await upload(documentId);
    const res = await fetch(`${base}/api/v1/notification`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY },
      body: JSON.stringify({ authentic_source: 'hr.example.org', vct: VCT, document_id: documentId }),
    });
    const body = await bodyOf(res);
    const errors = () => gatewayLog.lines.filter((line) => /"level":(50|60)/.test(line)).join('');
    assert.equal(res.status, 200, `${JSON.stringify(body)}\n${errors()}`);
    const uri = decodeURIComponent(body.qr.deep_link.slice('openid-credential-offer://?credential_offer_uri='.length));
    const uriToken = new URL(uri).pathname.split('/')[2]!;
    const pin = await waitForPinEmail(smtp.mails, `${documentId}@example.org`, PIN_LENGTH);
    const mail = smtp.mails.find((m) => m.to.includes(`${documentId}@example.org`))!.text;
    const { offerId } = await client.workflow.getHandle(workflowIdOf(documentId)).query(offerStateQuery);
    return { deepLink: body.qr.deep_link as string, uri, uriToken, pin, mail, offerId };
  };
  const codeOf = async (uriToken: string) => (await bodyOf(await fetch(`${base}/offers/${uriToken}`))).grants[GRANT]['pre-authorized_code'] as string;
  const token = (code: string, txCode: string, dpop?: string) =>
    fetch(`${base}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(dpop ? { dpop } : {}) },
      body: new URLSearchParams({ grant_type: GRANT, 'pre-authorized_code': code, tx_code: txCode }),
    });
  const redeemed = async (documentId: string) => {
    const offer = await offered(documentId);
    const res = await token(await codeOf(offer.uriToken), offer.pin);
    const body = await bodyOf(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    return { ...offer, accessToken: body.access_token as string };
  };
  const holderKey = async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    const proof = async () => {
      const { c_nonce } = await bodyOf(await fetch(`${base}/nonce`, { method: 'POST' }));
      return new SignJWT({ nonce: c_nonce }).setProtectedHeader({ alg: 'ES256', typ: 'openid4vci-proof+jwt', jwk }).setAudience('https://issuer.example.org').setIssuedAt().sign(privateKey);
    };
    return { jwk, proof };
  };
  const requestCredentials = async (accessToken: string, keys: number) => {
    const proofs = [];
    for (let i = 0; i < keys; i++) proofs.push(await (await holderKey()).proof());
    return fetch(`${base}/credential`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` }, body: JSON.stringify({ credential_configuration_id: VCT, proofs: { jwt: proofs } }) });
  };
  const issuedCount = async (documentId: string) => Number((await database.db('issued_credentials').where({ document_id: documentId }).count('* as n').first())!.n);

  test('the PIN e-mail carries the PIN and a short reference, and nothing that opens the offer (finding 2)', async () => {
    const { mail, offerId, uriToken, pin } = await offered(doc('mail-1'));
    assert.ok(mail.includes(pin));
    assert.match(mail, /Offer reference: [0-9A-F]{4}-[0-9A-F]{4}/);
    const code = await codeOf(uriToken);
    for (const secret of [offerId, uriToken, code]) assert.ok(!mail.includes(secret), 'the mail has no offer id, offer link or code');
    assert.ok(!/\/offers\//.test(mail), 'the mail has no offer link');
  });

  test('the offer id, which histories and queries hold, does not open the offer; the URI token is kept only as its hash (finding 3)', async () => {
    const { offerId, uriToken, uri } = await offered(doc('uri-1'));
    assert.equal(uri, `https://issuer.example.org/offers/${uriToken}`);
    assert.match(uriToken, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(uriToken, offerId);
    for (const path of [`/offers/${offerId}`, `/offers/${offerId}/view`]) assert.equal((await fetch(`${base}${path}`)).status, 404, path);
    assert.equal((await fetch(`${base}/offers/${uriToken}`)).status, 200);
    const row = await database.db('credential_offers').where({ document_id: doc('uri-1') }).first();
    assert.equal(row.uri_token_hash, createHash('sha256').update(uriToken).digest('hex'));
    assert.ok(!JSON.stringify(row).includes(uriToken), 'the database holds no URI token');
    const history = await fetchHistoryText(client, workflowIdOf(doc('uri-1')));
    assert.ok(history.includes(offerId), 'payloads are decoded: the offer id is there, so the search can fail');
    assert.ok(!history.includes(uriToken), 'the URI token never enters Temporal');
  });

  test('the access log shows /offers/[redacted] instead of the offer URI token (finding 3)', async () => {
    const { uriToken } = await offered(doc('log-1'));
    await fetch(`${base}/offers/${uriToken}`);
    await fetch(`${base}/OFFERS/${uriToken}/view`);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(!gatewayLog.text().includes(uriToken), 'no URI token in the gateway log');
    assert.ok(gatewayLog.lines.some((l) => l.includes('"path":"/offers/[redacted]"')));
  });

  test('a redeem Update from a Temporal client without the gateway\'s proof cannot produce a credential (finding 4)', async () => {
    await offered(doc('forged-1'));
    const handle = client.workflow.getHandle(workflowIdOf(doc('forged-1')));
    // The workflow cannot check a MAC, so it takes the word of the Update...
    assert.deepEqual(await handle.executeUpdate(redeemOfferUpdate, { args: [{ pinCorrect: true, redemptionProof: 'A'.repeat(43) }] }), { ok: true });
    const { jwk } = await holderKey();
    // ...but the issuing activity, which holds the key, refuses to sign.
    await assert.rejects(handle.executeUpdate(issueCredentialsUpdate, { args: [{ holderJwks: [jwk as Record<string, unknown>] }] }));
    await offered(doc('forged-2'));
    const bare = client.workflow.getHandle(workflowIdOf(doc('forged-2')));
    assert.deepEqual(await bare.executeUpdate(redeemOfferUpdate, { args: [{ pinCorrect: true }] }), { ok: true }, 'the old shape, without a proof');
    await assert.rejects(bare.executeUpdate(issueCredentialsUpdate, { args: [{ holderJwks: [jwk as Record<string, unknown>] }] }));
    assert.equal(await issuedCount(doc('forged-1')), 0);
    assert.equal(await issuedCount(doc('forged-2')), 0);
    assert.equal(Number((await database.db('credential_pickups').count('* as n').first())!.n), 0);
  });

  test('/token checks the code before the DPoP proof, so a made-up code does not spend (or store) the proof\'s jti (finding 6)', async () => {
    const { uriToken, pin } = await offered(doc('dpop-1'));
    const key = await generateKeyPair('ES256');
    const proof = await new SignJWT({ htm: 'POST', htu: 'https://issuer.example.org/token', jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(key.publicKey) })
      .setIssuedAt()
      .sign(key.privateKey);
    const jtis = async () => Number((await database.db('dpop_jtis').count('* as n').first())!.n);
    const before = await jtis();
    const bad = await token('made-up-code', pin, proof);
    assert.equal((await bodyOf(bad)).error, 'invalid_grant');
    assert.equal(await jtis(), before, 'no jti stored for a request with an unknown code');
    const good = await token(await codeOf(uriToken), pin, proof);
    const body = await bodyOf(good);
    assert.equal(good.status, 200, JSON.stringify(body));
    assert.equal(body.token_type, 'DPoP');
  });

  test(`an offer issues at most max_credentials_per_offer (${MAX_CREDENTIALS}) credentials; more is credential_request_denied (OpenID4VCI 1.0 §8.3.1.2, finding 10)`, async () => {
    const { accessToken } = await redeemed(doc('cap-1'));
    assert.equal((await requestCredentials(accessToken, 2)).status, 200);
    const over = await requestCredentials(accessToken, 2);
    assert.equal(over.status, 400);
    assert.deepEqual(await bodyOf(over), { error: 'credential_request_denied', error_description: `This offer may issue at most ${MAX_CREDENTIALS} credential(s)` });
    assert.equal((await requestCredentials(accessToken, 1)).status, 200);
    assert.equal((await bodyOf(await requestCredentials(accessToken, 1))).error, 'credential_request_denied');
    assert.equal(await issuedCount(doc('cap-1')), MAX_CREDENTIALS);
  });

  test('an offer is bound to the document content it was made for: after a changing re-upload it refuses clearly instead of issuing the new version (finding 10)', async () => {
    const { accessToken } = await redeemed(doc('version-1'));
    await upload(doc('version-1'), 'Mathematics');
    const res = await requestCredentials(accessToken, 1);
    assert.equal(res.status, 400);
    assert.deepEqual(await bodyOf(res), { error: 'credential_request_denied', error_description: 'The document was changed after this offer was made; ask its issuer for a new offer' });
    assert.equal(await issuedCount(doc('version-1')), 0);
  });

  test('a full pickup leaves no PIN, pre-authorized code, offer URI token, access token or credential in any workflow history or log', async () => {
    const { uriToken, pin } = await offered(doc('pickup-1'));
    const code = await codeOf(uriToken);
    const tokenBody = await bodyOf(await token(code, pin));
    const accessToken = tokenBody.access_token as string;
    const res = await requestCredentials(accessToken, 1);
    const body = await bodyOf(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    const credential = body.credentials[0].credential as string;
    const note = await fetch(`${base}/notification`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` }, body: JSON.stringify({ notification_id: body.notification_id, event: 'credential_accepted' }) });
    assert.equal(note.status, 204);
    const offerHandle = client.workflow.getHandle(workflowIdOf(doc('pickup-1')));
    assert.equal((await offerHandle.result()).state, 'ISSUED');

    // Every workflow of the pickup: the offer and the children it started (the source's webhook delivery).
    const offerHistory = await offerHandle.fetchHistory();
    const fetched = [offerHistory];
    const children = offerHistory.events!.flatMap((e) => (e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ? [e.startChildWorkflowExecutionInitiatedEventAttributes.workflowId] : []));
    assert.ok(children.length >= 1, 'the webhook delivery child was started');
    for (const id of children) {
      const child = client.workflow.getHandle(id);
      await child.result().catch(() => undefined);
      fetched.push(await child.fetchHistory());
    }
    // Decoded payloads (test/support/history-text.ts): a search of the raw history, whose payloads are bytes, could never fail.
    const histories = fetched.map((h) => historyText(h));
    assert.ok(histories[0]!.includes(doc('pickup-1')) && histories[0]!.includes('credential_accepted'), 'the offer history\'s payloads are readable (its input names the document; the wallet\'s event)');
    assert.ok(histories.slice(1).every((h) => h.includes('credential_offer.issued')), 'so are the webhook deliveries\' (their event type)');
    await new Promise((r) => setTimeout(r, 100));
    // Issue 21: no PIN, pre-authorized code, access token, credential, birth date, name or e-mail (the uploaded identity).
    const secrets = { code, uriToken, accessToken, credential, 'credential signature': credential.split('~')[0]!.split('.')[2]!, 'family name': 'Smith', 'given name': 'Alice', 'birth date': '1990-05-15', 'e-mail': `${doc('pickup-1')}@example.org` };
    const places = { ...Object.fromEntries(histories.map((h, i) => [`history ${i}`, h])), 'gateway log': gatewayLog.text(), 'worker log': workerLog.text() };
    assert.ok(gatewayLog.lines.length > 0, 'the gateway logged the requests');
    for (const [name, secret] of Object.entries(secrets)) {
      for (const [place, text] of Object.entries(places)) assert.ok(!text.includes(secret), `the ${name} is not in the ${place}`);
    }
    // The 6-digit PIN as a number of its own (inside a longer number, such as a time, it is not the PIN).
    fetched.forEach((h, i) => assert.ok(!historyHasNumber(h, pin), `the PIN is not in a payload of history ${i}`));
    const pinPattern = new RegExp(`(?<![0-9A-Za-z])${pin}(?![0-9A-Za-z])`);
    for (const [place, text] of Object.entries(places).filter(([p]) => p.endsWith('log'))) assert.ok(!pinPattern.test(text), `the PIN is not in the ${place}`);
  });
});

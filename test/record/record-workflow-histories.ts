/**
 * Records real workflow histories as replay fixtures, one file per scenario, in a folder named by
 * the commit the code was at (test/fixtures/workflow-histories/<commit>/): `npm run record-histories` (through the test harness, so it gets a real Temporal
 * server, PostgreSQL and the workflow bundle). Each scenario drives the issuer from outside, as an
 * authentic source and a wallet would, through the real gateway and worker; then the histories of
 * every workflow the run started are written out. Folders of earlier commits stay: they are the
 * histories running workflows may still have, and the replay test replays them all (CONTRIBUTING.md).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { Client } from '@temporalio/client';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createLogger } from '../../src/logger';
import { startGateway } from '../../src/main/issuer-parts';
import { CEILING_PROBE_WORKFLOW_TYPE, type CeilingProbeWorkflow, finishProbeUpdate } from '../../workflows/contracts/ceiling-probe';
import { UPKEEP_PURGE_WORKFLOW_TYPE, type UpkeepPurgeWorkflow } from '../../workflows/contracts/upkeep-purge';
import { revocationWorkflowId } from '../../workflows/contracts/revocation';
import { STATUS_LIST_RESIGN_WORKFLOW_TYPE, type StatusListResignWorkflow } from '../../workflows/contracts/status-list-resign';
import { DOCUMENT_SIGNER_RENEWAL_WORKFLOW_TYPE, type DocumentSignerRenewalWorkflow } from '../../workflows/contracts/document-signer-renewal';
import { startSmtpReceiver, waitForPin } from '../support/smtp-receiver';
import { createTestDatabase, loadTestConfig, TEST_DEV_API_KEY, testConfigFile, testEnv, uniqueName } from '../support/test-services';
import { startTestWorker } from '../support/test-worker';
import { HISTORIES_DIR, historyToPlain } from '../support/workflow-histories';
import { ethereumWallet, joseWallet, multipart } from '../support/kyc-wallet';
import { onboardingStateQuery, onboardingWorkflowId } from '../../workflows/contracts/onboarding';
import { ISSUED_FIELD_TYPES, ISSUED_FIELDS, startThirdParty, THIRD_PARTY_DID } from '../support/interaction-third-party';

const ISSUER = 'https://issuer.example.org';
const GRANT = 'urn:ietf:params:oauth:grant-type:pre-authorized_code';
const VCT = 'urn:eudi:diploma:1';
const json = (res: Response): Promise<any> => res.json();
const KYC_VCT = 'urn:example:kyc:identity:1';
const KYC_ATTR = (name: string) => `http://platform.selfkey.org/schema/attribute/${name}.json`;
const KYC_CONFIG = {
  login_redirect_url: 'https://kyc.example.org/session',
  review: { reviewers: ['reviewer@example.org'], reminder_after: 1, expire_after: 600 },
  templates: {
    identity: {
      name: 'Verified identity',
      credential_type: KYC_VCT,
      attributes: [
        { id: KYC_ATTR('first-name'), claim: 'given_name', schema: { type: 'string' } },
        { id: KYC_ATTR('last-name'), claim: 'family_name', schema: { type: 'string' } },
        { id: KYC_ATTR('email'), claim: 'email', schema: { type: 'string' } },
        { id: KYC_ATTR('passport'), file_types: ['png'], schema: { type: 'object', properties: { image: { type: 'string' } }, required: ['image'] } },
      ],
    },
  },
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A type whose data comes from a seed 002 third party (docs/conventions.md, Interactions). */
const INTERACTION_VCT = 'urn:example:interaction:1';
/** The third party's callback key (interaction.caller_public_key). */
const CALLER = generateKeyPairSync('ec', { namedCurve: 'P-256' });

/** A notification_endpoint that answers 204 to everything but the locked offer's event, which it refuses (400: dead-lettered). */
async function startHookReceiver() {
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.statusCode = String(req.headers['idempotency-key']).endsWith('.locked') ? 400 : 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** A gateway + worker pair on its own task queue, with the PIN by e-mail and the source's webhook. */
async function startIssuer(dbUrl: string, db: Awaited<ReturnType<typeof createTestDatabase>>['db'], smtpUrl: string, hookUrl: string, codeTtl: number, interactionUrl: string) {
  const taskQueue = uniqueName('record');
  const config = loadTestConfig(
    testConfigFile((f) => {
      f.issuer = { pre_authorized_code: { enabled: true, pin_required: true, code_ttl: codeTtl, max_pin_attempts: 2 } };
      (f.authentic_sources as Record<string, Record<string, unknown>>)['hr.example.org']!.notification_endpoint = { url: hookUrl, body_signature: true };
      // An issuer-wide subscriber of dead letters: the locked offer's refused delivery announces itself to it.
      f.webhooks = { subscribers: { 'dead-letter-sink': { url: hookUrl, events: ['webhook.dead_lettered'] } } };
      (f.authentic_sources as Record<string, Record<string, unknown>>)['hr.example.org']!.notification_endpoint = { url: hookUrl };
      ((f.authentic_sources as Record<string, Record<string, Record<string, unknown>>>)['hr.example.org']!.credential_types!).kyc_identity = { vct: KYC_VCT, format: 'dc+sd-jwt' };
      f.kyc = KYC_CONFIG;
      ((f.authentic_sources as Record<string, Record<string, Record<string, unknown>>>)['hr.example.org']!.credential_types!).employment_check = {
        vct: INTERACTION_VCT,
        format: 'dc+sd-jwt',
        interaction: { url: interactionUrl, action_id: 'employment-check', bearer_jwt: { audience: THIRD_PARTY_DID }, caller_public_key: CALLER.publicKey.export({ type: 'spki', format: 'pem' }).toString(), fields: ISSUED_FIELD_TYPES, interval: 1 },
      };
    }),
    { DATABASE_URL: dbUrl, TEMPORAL_ADDRESS: testEnv().temporalAddress, TEMPORAL_TASK_QUEUE: taskQueue, PORT: '0', SMTP_URL: smtpUrl, ISSUER_URL: ISSUER },
  );
  const worker = await startTestWorker(config, db);
  const gateway = await startGateway(config, createLogger('silent'));
  const base = gateway.url!;
  const post = (path: string, body: unknown, method = 'POST') =>
    fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY }, body: JSON.stringify(body) });
  return {
    taskQueue,
    client: worker.client,
    base,
    post,
    async upload(documentId: string, email: string, vct = VCT) {
      const res = await post('/api/v1/upload', {
        meta: { authentic_source: 'hr.example.org', vct, document_id: documentId },
        identities: [{ authentic_source_person_id: `P-${documentId}`, family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15', email }],
        document_data: { degree_type: 'Bachelor of Science', field_of_study: 'Computer Science', issuing_institution: 'Example University', graduation_date: '2025-05-15' },
      });
      assert.equal(res.status, 200, await res.text());
    },
    /** The pre-authorized code behind a notification's deep link (OpenID4VCI 1.0 §4.1.3). */
    async notify(documentId: string, vct = VCT): Promise<string> {
      const body = await json(await post('/api/v1/notification', { authentic_source: 'hr.example.org', vct, document_id: documentId }));
      const uri = new URL(decodeURIComponent(String(body.qr.deep_link).split('credential_offer_uri=')[1]!));
      return (await json(await fetch(`${base}${uri.pathname}`))).grants[GRANT]['pre-authorized_code'];
    },
    /** An operator's call (the dev API key is an operate admin token in development). */
    admin: (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_DEV_API_KEY}` }, body: JSON.stringify(body) }),
    /** The wallet's side after /token: one credential for a fresh holder key, then credential_accepted (OpenID4VCI 1.0 §8, §11). */
    async collect(accessToken: string, vct = VCT): Promise<void> {
      const { privateKey, publicKey } = await generateKeyPair('ES256');
      const { c_nonce: nonce } = await json(await fetch(`${base}/nonce`, { method: 'POST' }));
      const proof = await new SignJWT({ nonce }).setProtectedHeader({ alg: 'ES256', typ: 'openid4vci-proof+jwt', jwk: await exportJWK(publicKey) }).setAudience(ISSUER).setIssuedAt().sign(privateKey);
      const auth = { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` };
      const issued = await json(await fetch(`${base}/credential`, { method: 'POST', headers: auth, body: JSON.stringify({ credential_configuration_id: vct, proofs: { jwt: [proof] } }) }));
      assert.equal(issued.credentials?.length, 1, JSON.stringify(issued));
      await fetch(`${base}/notification`, { method: 'POST', headers: auth, body: JSON.stringify({ notification_id: issued.notification_id, event: 'credential_accepted' }) });
    },
    token: (code: string, txCode: string) =>
      fetch(`${base}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: GRANT, 'pre-authorized_code': code, tx_code: txCode }) }),
    /** A KYC applicant (seed 004): challenge signed by `sign`, user with a PNG passport, an application; its id. */
    async kycApply(sign: (nonce: string) => string | Promise<string>, email: string): Promise<{ applicationId: string; auth: Record<string, string> }> {
      const headers = { 'user-agent': 'SelfkeyIDW/1.0', origin: 'IDW' };
      const { jwt: challenge } = await json(await fetch(`${base}/kyc/auth/challenge`, { headers }));
      const nonce = JSON.parse(Buffer.from(challenge.split('.')[1], 'base64url').toString()).nonce as string;
      const answered = await json(await fetch(`${base}/kyc/auth/challenge`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json', authorization: `Bearer ${challenge}` }, body: JSON.stringify({ signature: await sign(nonce) }) }));
      const auth = { ...headers, authorization: `Bearer ${answered.jwt}` };
      const attributes = [
        { id: KYC_ATTR('first-name'), data: { value: 'Alice' } },
        { id: KYC_ATTR('last-name'), data: { value: 'Smith' } },
        { id: KYC_ATTR('email'), data: { value: email } },
        { id: KYC_ATTR('passport'), data: { value: { image: '$document-1' } } },
      ];
      const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
      const form = multipart([{ name: 'attributes', contentType: 'application/json', body: JSON.stringify(attributes) }, { name: '$document-1', contentType: 'image/png', body: png, filename: 'p.png' }]);
      assert.equal((await fetch(`${base}/kyc/users`, { method: 'POST', headers: { ...auth, 'content-type': form.contentType }, body: form.body })).status, 201);
      const applied = await json(await fetch(`${base}/kyc/applications`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ templateId: 'identity' }) }));
      const handle = worker.client.workflow.getHandle(onboardingWorkflowId(applied.applicationId));
      for (let i = 0; i < 100 && (await handle.query(onboardingStateQuery).catch(() => undefined))?.state !== 'IN_REVIEW'; i++) await sleep(100);
      return { applicationId: applied.applicationId as string, auth };
    },
    kycReview: (applicationId: string, decision: 'approve' | 'reject') =>
      fetch(`${base}/admin/v1/kyc/applications/${applicationId}/review`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_DEV_API_KEY}` }, body: JSON.stringify({ decision, reason: 'Unreadable scan' }) }),
    async close() {
      await gateway.close();
      await worker.close();
    },
  };
}

test('record workflow histories', { timeout: 240_000 }, async () => {
  const database = await createTestDatabase();
  const smtp = await startSmtpReceiver();
  const hooks = await startHookReceiver();
  // The third party checks nothing here (the interactions test does); it answers by document id.
  const thirdParty = await startThirdParty(async () => ({ pem: '', jwk: {} }), () => '', INTERACTION_VCT, { verify: false });
  const issuer = await startIssuer(database.url, database.db, smtp.url, hooks.url, 300, thirdParty.url);
  const shortLived = await startIssuer(database.url, database.db, smtp.url, hooks.url, 5, thirdParty.url);
  const recorded: { workflowId: string; scenario: string; client: Client }[] = [];
  const wrong = (pin: string) => String((Number(pin) + 1) % 1_000_000).padStart(6, '0');
  try {
    // An offer picked up to the end: a wrong PIN, the right one, a credential, the wallet's acceptance.
    await issuer.upload('rec-issued', 'issued@example.org');
    const code = await issuer.notify('rec-issued');
    const pin = await waitForPin(smtp.mails, 'issued@example.org');
    assert.equal((await issuer.token(code, wrong(pin))).status, 400);
    const { access_token: accessToken } = await json(await issuer.token(code, pin));
    await issuer.collect(accessToken);
    const issuedId = `offer/hr.example.org/${VCT}/rec-issued`;
    await issuer.client.workflow.getHandle(issuedId).result();
    recorded.push({ workflowId: issuedId, scenario: 'offer-issued', client: issuer.client });

    /** Uploads, offers and locks `documentId` on `on` with max_pin_attempts (2) wrong PINs; its code and the right PIN. */
    const lockedOffer = async (on: typeof issuer, documentId: string) => {
      await on.upload(documentId, `${documentId}@example.org`);
      const lockedCode = await on.notify(documentId);
      const lockedPin = await waitForPin(smtp.mails, `${documentId}@example.org`);
      for (let i = 0; i < 2; i++) await on.token(lockedCode, wrong(lockedPin));
      return { code: lockedCode, pin: lockedPin };
    };
    /** Redeems with `pin` and collects the credential. */
    const redeemAndCollect = async (code: string, pin: string) => {
      const redeemed = await json(await issuer.token(code, pin));
      assert.ok(redeemed.access_token, JSON.stringify(redeemed));
      await issuer.collect(redeemed.access_token);
    };
    const key = (documentId: string) => ({ authentic_source: 'hr.example.org', vct: VCT, document_id: documentId });

    // An offer locked by wrong PINs (max_pin_attempts: 2) and still locked when its code expires
    // (code_ttl 5 s on the short-lived issuer; since locked-offer-waits a LOCKED offer waits until then).
    await lockedOffer(shortLived, 'rec-locked');
    recorded.push({ workflowId: `offer/hr.example.org/${VCT}/rec-locked`, scenario: 'offer-locked', client: shortLived.client });

    // Locked, unlocked by an operator, then redeemed with the same PIN and collected.
    const unlockedOffer = await lockedOffer(issuer, 'rec-unlocked');
    const unlocked = await issuer.admin('/admin/v1/offers/unlock', key('rec-unlocked'));
    assert.equal(unlocked.status, 200, await unlocked.text());
    await redeemAndCollect(unlockedOffer.code, unlockedOffer.pin);
    recorded.push({ workflowId: `offer/hr.example.org/${VCT}/rec-unlocked`, scenario: 'offer-locked-unlocked', client: issuer.client });

    // Locked, then an operator re-sends the PIN (a new generation, which lifts the lock); the new PIN redeems and the wallet collects.
    const resentOffer = await lockedOffer(issuer, 'rec-pin-resent');
    const resent = await issuer.admin('/admin/v1/offers/resend-pin', key('rec-pin-resent'));
    assert.equal(resent.status, 200, await resent.text());
    let newPin: string | undefined;
    for (let i = 0; i < 100 && !newPin; i++, await sleep(100)) newPin = smtp.mails.filter((m) => m.to.includes('rec-pin-resent@example.org')).map((m) => /\b(\d{6})\b/.exec(m.text)?.[1]).at(1);
    assert.ok(newPin, 'the re-sent PIN arrived');
    await redeemAndCollect(resentOffer.code, newPin);
    recorded.push({ workflowId: `offer/hr.example.org/${VCT}/rec-pin-resent`, scenario: 'offer-locked-pin-resent', client: issuer.client });

    // An offer cancelled by deleting its document.
    await issuer.upload('rec-cancelled', 'cancelled@example.org');
    await issuer.notify('rec-cancelled');
    await waitForPin(smtp.mails, 'cancelled@example.org');
    assert.equal((await issuer.post('/api/v1/document', { authentic_source: 'hr.example.org', vct: VCT, document_id: 'rec-cancelled' }, 'DELETE')).status, 200);
    recorded.push({ workflowId: `offer/hr.example.org/${VCT}/rec-cancelled`, scenario: 'offer-cancelled', client: issuer.client });

    // An offer nobody redeems within code_ttl (5 s on this issuer).
    await shortLived.upload('rec-expired', 'expired@example.org');
    await shortLived.notify('rec-expired');
    recorded.push({ workflowId: `offer/hr.example.org/${VCT}/rec-expired`, scenario: 'offer-expired', client: shortLived.client });

    // A batch of two documents and one unknown.
    for (const id of ['rec-batch-a', 'rec-batch-b']) await issuer.upload(id, `${id}@example.org`);
    const batch = await json(await issuer.post('/api/v1/notification/batch', { authentic_source: 'hr.example.org', vct: VCT, document_ids: ['rec-batch-a', 'rec-batch-b', 'rec-no-such'] }));
    assert.ok(batch.data?.batch_id, JSON.stringify(batch));
    for (const id of ['rec-batch-a', 'rec-batch-b']) await waitForPin(smtp.mails, `${id}@example.org`);
    let batchId: string | undefined;
    for (let i = 0; i < 100 && !batchId; i++, await sleep(100)) {
      for await (const execution of issuer.client.workflow.list({ query: `WorkflowType = 'batchOfferWorkflow' AND TaskQueue = '${issuer.taskQueue}' AND ExecutionStatus = 'Completed'` })) batchId = execution.workflowId;
    }
    assert.ok(batchId, 'the batch workflow completed');
    recorded.push({ workflowId: batchId, scenario: 'batch-offer', client: issuer.client });

    // Temporal's bare ceiling probe (benchmarks).
    const probe = await issuer.client.workflow.start<CeilingProbeWorkflow>(CEILING_PROBE_WORKFLOW_TYPE, { taskQueue: issuer.taskQueue, workflowId: uniqueName('probe') });
    await probe.executeUpdate(finishProbeUpdate, { args: ['x'] });
    await probe.result();
    recorded.push({ workflowId: probe.workflowId, scenario: 'ceiling-probe', client: issuer.client });

    // One upkeep run, as its schedule starts it (the redeemed offer left a nonce and tokens behind).
    const purge = await issuer.client.workflow.start<UpkeepPurgeWorkflow>(UPKEEP_PURGE_WORKFLOW_TYPE, { taskQueue: issuer.taskQueue, workflowId: uniqueName('upkeep-purge'), args: [{}] });
    await purge.result();
    recorded.push({ workflowId: purge.workflowId, scenario: 'upkeep-purge', client: issuer.client });

    // Scheduled revocations (seed 000 revoke_at): one that fires after its durable timer (and cancels
    // the document's open offer), one cancelled before it fires.
    await issuer.upload('rec-revoked', 'revoked@example.org');
    await issuer.notify('rec-revoked');
    await waitForPin(smtp.mails, 'revoked@example.org');
    const revokeAt = Math.ceil(Date.now() / 1000) + 2;
    assert.equal((await issuer.post('/api/v1/document/revoke', { authentic_source: 'hr.example.org', vct: VCT, revocation: { id: 'rec-revoked', revoke_at: revokeAt } })).status, 200);
    const revokedId = revocationWorkflowId('hr.example.org', VCT, 'rec-revoked');
    assert.equal((await issuer.client.workflow.getHandle(revokedId).result()).state, 'REVOKED');
    recorded.push({ workflowId: revokedId, scenario: 'revocation-revoked', client: issuer.client });
    await issuer.upload('rec-revoke-cancelled', 'revoke-cancelled@example.org');
    assert.equal((await issuer.post('/api/v1/document/revoke', { authentic_source: 'hr.example.org', vct: VCT, revocation: { id: 'rec-revoke-cancelled', revoke_at: revokeAt + 3600 } })).status, 200);
    assert.equal((await issuer.post('/api/v1/document/revoke/cancel', { authentic_source: 'hr.example.org', vct: VCT, document_id: 'rec-revoke-cancelled' })).status, 200);
    const cancelledRevocationId = revocationWorkflowId('hr.example.org', VCT, 'rec-revoke-cancelled');
    assert.equal((await issuer.client.workflow.getHandle(cancelledRevocationId).result()).state, 'CANCELLED');
    recorded.push({ workflowId: cancelledRevocationId, scenario: 'revocation-cancelled', client: issuer.client });
    // An immediate revocation with a replacement (seed 000 revocation.reference): the workflow revokes and starts the replacement's offer.
    await issuer.upload('rec-replaced', 'replaced@example.org');
    await issuer.upload('rec-replacement', 'replacement@example.org');
    const replacedRes = await issuer.post('/api/v1/document/revoke', { authentic_source: 'hr.example.org', vct: VCT, revocation: { id: 'rec-replaced', reference: { authentic_source: 'hr.example.org', vct: VCT, document_id: 'rec-replacement' } } });
    assert.equal(replacedRes.status, 200);
    const replacedId = revocationWorkflowId('hr.example.org', VCT, 'rec-replaced');
    assert.equal((await issuer.client.workflow.getHandle(replacedId).result()).replacement?.offer, 'offered');
    recorded.push({ workflowId: replacedId, scenario: 'revocation-replaced', client: issuer.client });
    // One status-list re-signing run, as its Schedule starts it.
    const resign = await issuer.client.workflow.start<StatusListResignWorkflow>(STATUS_LIST_RESIGN_WORKFLOW_TYPE, { taskQueue: issuer.taskQueue, workflowId: uniqueName('status-list-resign'), args: [{}] });
    await resign.result();
    recorded.push({ workflowId: resign.workflowId, scenario: 'status-list-resign', client: issuer.client });
    // Document Signer renewal, as its schedule starts it: one run that is not due, one that renews.
    for (const [scenario, marginDays] of [['document-signer-renewal-not-due', 30], ['document-signer-renewal-renewed', 366]] as const) {
      const renewal = await issuer.client.workflow.start<DocumentSignerRenewalWorkflow>(DOCUMENT_SIGNER_RENEWAL_WORKFLOW_TYPE, { taskQueue: issuer.taskQueue, workflowId: uniqueName(scenario), args: [{ marginDays }] });
      const result = await renewal.result();
      assert.equal(result.check?.decision, marginDays === 30 ? 'NOT_DUE' : 'RENEW', scenario);
      recorded.push({ workflowId: renewal.workflowId, scenario, client: issuer.client });
    }
    // KYC onboarding collected: approved after a reviewer reminder (reminder_after 1 s); the offer child redeemed and issued.
    const applicant = await issuer.kycApply((nonce) => ethereumWallet().personalSign(nonce), 'kyc-collected@example.org');
    const collectedApp = applicant.applicationId;
    await sleep(1500);
    assert.equal((await issuer.kycReview(collectedApp, 'approve')).status, 200);
    const kycPin = await waitForPin(smtp.mails, 'kyc-collected@example.org');
    let deepLink: string | undefined;
    for (let i = 0; i < 100 && !deepLink; i++, await sleep(100)) deepLink = (await json(await fetch(`${issuer.base}/kyc/applications/${collectedApp}`, { headers: applicant.auth }))).credentialOffer;
    assert.ok(deepLink, 'the applicant sees the offer');
    const offerUri = new URL(decodeURIComponent(deepLink.split('credential_offer_uri=')[1]!));
    const kycCode = (await json(await fetch(`${issuer.base}${offerUri.pathname}`))).grants[GRANT]['pre-authorized_code'];
    const { access_token: kycToken } = await json(await issuer.token(kycCode, kycPin));
    await issuer.collect(kycToken, KYC_VCT);
    assert.equal((await issuer.client.workflow.getHandle(onboardingWorkflowId(collectedApp)).result()).state, 'COLLECTED');
    recorded.push({ workflowId: onboardingWorkflowId(collectedApp), scenario: 'onboarding-collected', client: issuer.client });

    // KYC onboarding rejected, the applicant signing with a JWS.
    const jws = await joseWallet('EdDSA');
    const { applicationId: rejectedApp } = await issuer.kycApply((nonce) => jws.sign(nonce), 'kyc-rejected@example.org');
    assert.equal((await issuer.kycReview(rejectedApp, 'reject')).status, 200);
    await issuer.client.workflow.getHandle(onboardingWorkflowId(rejectedApp)).result();
    recorded.push({ workflowId: onboardingWorkflowId(rejectedApp), scenario: 'onboarding-rejected', client: issuer.client });

    // Seed 002 interactions: answered at once; postponed, called back and collected from the deferred
    // endpoint (OpenID4VCI 1.0 §9); refused (its interaction.failed delivery is recorded below).
    const interactionOffer = async (documentId: string) => {
      const email = `${documentId}@example.org`;
      await issuer.upload(documentId, email, INTERACTION_VCT);
      const interactionCode = await issuer.notify(documentId, INTERACTION_VCT);
      const { access_token: token } = await json(await issuer.token(interactionCode, await waitForPin(smtp.mails, email)));
      const { c_nonce: n } = await json(await fetch(`${issuer.base}/nonce`, { method: 'POST' }));
      const { privateKey, publicKey } = await generateKeyPair('ES256');
      const p = await new SignJWT({ nonce: n }).setProtectedHeader({ alg: 'ES256', typ: 'openid4vci-proof+jwt', jwk: await exportJWK(publicKey) }).setAudience(ISSUER).setIssuedAt().sign(privateKey);
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
      const res = await fetch(`${issuer.base}/credential`, { method: 'POST', headers, body: JSON.stringify({ credential_configuration_id: INTERACTION_VCT, proofs: { jwt: [p] } }) });
      const actionEventId = thirdParty.callFor(documentId)?.body.actionEventId as string;
      return { status: res.status, body: await json(res), headers, actionEventId, workflowId: `offer/hr.example.org/${INTERACTION_VCT}/${documentId}` };
    };
    const accept = async (headers: Record<string, string>, notificationId: string) => {
      await fetch(`${issuer.base}/notification`, { method: 'POST', headers, body: JSON.stringify({ notification_id: notificationId, event: 'credential_accepted' }) });
    };
    const now = await interactionOffer('now_rec');
    assert.equal(now.status, 200, JSON.stringify(now.body));
    await accept(now.headers, now.body.notification_id);
    await issuer.client.workflow.getHandle(now.workflowId).result();
    recorded.push({ workflowId: now.workflowId, scenario: 'offer-interaction-issued', client: issuer.client }, { workflowId: `interaction/${now.actionEventId}`, scenario: 'interaction-issued', client: issuer.client });
    const later = await interactionOffer('later_rec');
    assert.equal(later.status, 202, JSON.stringify(later.body));
    const deferred = () => fetch(`${issuer.base}/deferred_credential`, { method: 'POST', headers: later.headers, body: JSON.stringify({ transaction_id: later.body.transaction_id }) });
    assert.equal((await deferred()).status, 202);
    const callbackBody = Buffer.from(JSON.stringify({ subscriberConnectDid: thirdParty.callFor('later_rec')!.body.subscriberConnectDid, actionEventId: later.actionEventId, issuedCredentials: [{ schemaId: INTERACTION_VCT, fields: ISSUED_FIELDS }] }));
    const serviceDid = 'did:web:issuer.example.org';
    const called = await fetch(`${issuer.base}/service/${serviceDid}/webhook-accept/credentials-issued`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-body-signature': sign('sha3-256', callbackBody, CALLER.privateKey).toString('base64') }, body: callbackBody });
    assert.equal(called.status, 200, await called.text());
    let collected: any;
    for (let i = 0; i < 100 && !collected?.credentials; i++, await sleep(200)) collected = await json(await deferred());
    assert.equal(collected.credentials?.length, 1, JSON.stringify(collected));
    await accept(later.headers, (await database.db('interaction_events').where({ action_event_id: later.actionEventId }).first()).offer_id);
    await issuer.client.workflow.getHandle(later.workflowId).result();
    await issuer.client.workflow.getHandle(`interaction/${later.actionEventId}`).result();
    recorded.push({ workflowId: later.workflowId, scenario: 'offer-interaction-deferred', client: issuer.client }, { workflowId: `interaction/${later.actionEventId}`, scenario: 'interaction-postponed-issued', client: issuer.client });
    const refused = await interactionOffer('refuse_rec');
    assert.equal(refused.body.error, 'credential_request_denied', JSON.stringify(refused.body));
    await issuer.client.workflow.getHandle(`interaction/${refused.actionEventId}`).result();
    // The refused offer stays open for its issuance window: deleting the document ends it.
    assert.equal((await issuer.post('/api/v1/document', { authentic_source: 'hr.example.org', vct: INTERACTION_VCT, document_id: 'refuse_rec' }, 'DELETE')).status, 200);
    recorded.push({ workflowId: refused.workflowId, scenario: 'offer-interaction-refused', client: issuer.client }, { workflowId: `interaction/${refused.actionEventId}`, scenario: 'interaction-failed', client: issuer.client });

    // Every offer above ended and told the source: their webhook deliveries are children to record too.
    for (const { workflowId, client } of [...recorded]) {
      if (!workflowId.startsWith('offer/')) continue;
      await client.workflow.getHandle(workflowId).result();
    }
    for (let i = 0; i < 100; i++, await sleep(100)) {
      const open = issuer.client.workflow.list({ query: `WorkflowType = 'webhookDeliveryWorkflow' AND ExecutionStatus = 'Running'` });
      let running = 0;
      for await (const _ of open) running++;
      if (running === 0) break;
    }
    for await (const execution of issuer.client.workflow.list({ query: `WorkflowType = 'webhookDeliveryWorkflow' AND ExecutionStatus = 'Completed'` })) {
      // Outbox events (offer_created.<offer>, credential_issued.<record>, ...) are named by their type, end events by their state.
      const outboxEvent = /\/(offer_created|offer_redeemed|credential_issued|wallet_notification)\./.exec(execution.workflowId)?.[1];
      const kind = execution.workflowId.includes('webhook_dead_lettered.') ? 'dead-letter-notice' : execution.workflowId.includes('/status.') ? 'status' : (outboxEvent ?? execution.workflowId.split('.').at(-1));
      recorded.push({ workflowId: execution.workflowId, scenario: `webhook-delivery-${kind}`, client: issuer.client });
    }

    const commit = execFileSync('git', ['rev-parse', '--short=7', 'HEAD'], { encoding: 'utf8' }).trim();
    const dir = join(HISTORIES_DIR, commit);
    mkdirSync(dir, { recursive: true });
    const seen = new Set<string>();
    for (const { workflowId, scenario, client } of recorded) {
      if (seen.has(scenario)) continue;
      seen.add(scenario);
      const handle = client.workflow.getHandle(workflowId);
      const [history, description] = await Promise.all([handle.fetchHistory(), handle.describe()]);
      const file = { workflowId, workflowType: description.type, scenario, history: historyToPlain(history) };
      writeFileSync(join(dir, `${scenario}.json`), `${JSON.stringify(file, null, 1)}\n`);
      process.stderr.write(`recorded ${scenario}: ${description.type} ${workflowId} (${history.events?.length} events)\n`);
    }
  } finally {
    await new Promise((r) => thirdParty.server.close(() => r(undefined)));
    await shortLived.close();
    await issuer.close();
    await hooks.close();
    await smtp.close();
    await database.drop();
  }
});

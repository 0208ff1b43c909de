import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { calculateJwkThumbprint, decodeJwt } from 'jose';
import { createLogger } from '../../src/logger';
import { freePort } from '../../src/runtime/free-port';
import { startGateway } from '../../src/main/issuer-parts';
import { credentialOfferWorkflowId, offerStateQuery } from '../../workflows/contracts/credential-offer';
import { onboardingStateQuery, onboardingWorkflowId, reviewDecisionSignal } from '../../workflows/contracts/onboarding';
import { ethereumWallet, joseWallet, multipart } from '../support/kyc-wallet';
import { createWallet } from '../support/oid4vci-wallet';
import { fetchHistoryText } from '../support/history-text';
import { type ReceivedMail, startSmtpReceiver, waitForPin } from '../support/smtp-receiver';
import { createTestDatabase, loadTestConfig, TEST_DEV_API_KEY, testConfigFile, testEnv, uniqueName } from '../support/test-services';
import { startTestWorker } from '../support/test-worker';

/**
 * KYC onboarding (issue 19) against real Temporal, PostgreSQL, SMTP and HTTP, driven as seed 004's
 * wallet drives it: challenge (GET/POST /kyc/auth/challenge) answered with an EIP-191 personal_sign
 * signature or a compact JWS, user creation with a real multipart upload, files, an application,
 * the onboarding workflow's automated checks, the operator's review through the admin API, and the
 * credential collected through OpenID4VCI 1.0 with the e-mailed PIN by the oid4vc-ts wallet library.
 */
const VCT = 'urn:example:kyc:identity:1';
const OPERATOR = 'kyc-operator-token-0123456789abcdef';
const ATTR = (name: string) => `http://platform.selfkey.org/schema/attribute/${name}.json`;
const WALLET_HEADERS = { 'user-agent': 'SelfkeyIDW/1.4.0', origin: 'IDW' };
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(200)]);
const PDF = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(300)]);
const json = (res: Response): Promise<any> => res.json();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const TEMPLATE = {
  name: 'Verified identity',
  credential_type: VCT,
  attributes: [
    { id: ATTR('first-name'), claim: 'given_name', schema: { type: 'string', minLength: 1 } },
    { id: ATTR('last-name'), claim: 'family_name', schema: { type: 'string', minLength: 1 } },
    { id: ATTR('birth-date'), claim: 'birth_date', schema: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } },
    { id: ATTR('email'), claim: 'email', schema: { type: 'string', format: 'email' } },
    { id: ATTR('passport'), file_types: ['png', 'jpeg'], schema: { type: 'object', properties: { image: { type: 'string', pattern: '^file:' } }, required: ['image'] } },
    { id: ATTR('utility-bill'), required: false, file_types: ['pdf'], schema: { type: 'object', properties: { document: { type: 'string', pattern: '^file:' } }, required: ['document'] } },
  ],
};

interface Person {
  given: string;
  family: string;
  birth: string;
  email: string;
}

/** Log lines written to a stream, so a test can search what the gateway and the worker logged. */
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

/** A gateway and a worker on their own task queue with a KYC configuration, both logging at debug level into `log`. */
async function startKycIssuer(database: Awaited<ReturnType<typeof createTestDatabase>>, smtpUrl: string, opts: { codeTtl: number; reminder: number; expire: number; challengeTtl: number }, log = captureLog()) {
  const taskQueue = uniqueName('kyc');
  // The wallet library follows credential_issuer: ISSUER_URL must be where the gateway listens.
  const port = await freePort();
  const config = loadTestConfig(
    testConfigFile((f) => {
      f.issuer = { pre_authorized_code: { enabled: true, pin_required: true, code_ttl: opts.codeTtl } };
      (f.authentic_sources as any)['hr.example.org'].credential_types.kyc_identity = { vct: VCT, format: 'dc+sd-jwt' };
      f.admin_tokens = { operator: { token_hash: `sha256:${createHash('sha256').update(OPERATOR).digest('hex')}`, role: 'operate' } };
      f.kyc = {
        challenge_ttl: opts.challengeTtl,
        allowed_origins: ['IDW', 'https://kyc.example.org'],
        user_agent_pattern: '^SelfkeyIDW/\\d',
        login_redirect_url: 'https://kyc.example.org/session',
        files: { max_bytes: 64 * 1024, types: ['pdf', 'png', 'jpeg'] },
        review: { reviewers: ['reviewer@example.org'], reminder_after: opts.reminder, expire_after: opts.expire },
        templates: { identity: TEMPLATE, matched: { ...TEMPLATE, name: 'Known employee', identity_match: { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1' } } },
      };
    }),
    { DATABASE_URL: database.url, TEMPORAL_ADDRESS: testEnv().temporalAddress, TEMPORAL_TASK_QUEUE: taskQueue, PORT: String(port), SMTP_URL: smtpUrl, ISSUER_URL: `http://127.0.0.1:${port}` },
  );
  const workerLogger = createLogger('debug', 'worker', log.stream);
  let worker = await startTestWorker(config, database.db, {}, workerLogger);
  const gateway = await startGateway(config, createLogger('debug', 'gateway', log.stream));
  // The test's own Temporal client, which outlives worker restarts.
  const connection = await Connection.connect({ address: testEnv().temporalAddress });
  const client = new Client({ connection, namespace: 'default' });
  const base = `http://127.0.0.1:${port}`;
  return {
    base,
    log,
    get worker() {
      return worker;
    },
    client: (): Client => client,
    async restartWorker(between?: () => Promise<void>) {
      await worker.close();
      await between?.();
      worker = await startTestWorker(config, database.db, {}, workerLogger);
    },
    close: async () => {
      await gateway.close();
      await worker.close();
      await connection.close();
    },
  };
}

type Issuer = Awaited<ReturnType<typeof startKycIssuer>>;

/** Seed 004 wallet calls against one issuer. */
function kycClient(issuer: Issuer) {
  const { base } = issuer;
  const call = (path: string, init: RequestInit & { token?: string } = {}) =>
    fetch(`${base}${path}`, { ...init, headers: { ...WALLET_HEADERS, ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.body && typeof init.body === 'string' ? { 'content-type': 'application/json' } : {}), ...(init.headers as Record<string, string>) } });
  const admin = (path: string, body?: unknown) =>
    fetch(`${base}${path}`, { method: body === undefined ? 'GET' : 'POST', headers: { authorization: `Bearer ${OPERATOR}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return {
    call,
    admin,
    async challenge(): Promise<{ jwt: string; nonce: string }> {
      const res = await call('/kyc/auth/challenge');
      const body = await json(res);
      assert.equal(res.status, 200, JSON.stringify(body));
      return { jwt: body.jwt, nonce: decodeJwt(body.jwt).nonce as string };
    },
    answer: (challengeJwt: string, signature: string) => call('/kyc/auth/challenge', { method: 'POST', token: challengeJwt, body: JSON.stringify({ signature }) }),
    async login(sign: (nonce: string) => Promise<string> | string): Promise<string> {
      const { jwt, nonce } = await this.challenge();
      const res = await this.answer(jwt, await sign(nonce));
      const body = await json(res);
      assert.equal(res.status, 200, JSON.stringify(body));
      return body.jwt;
    },
    async createUser(walletJwt: string, person: Person, passport: Buffer = PNG) {
      const attributes = [
        { id: ATTR('first-name'), data: { value: person.given } },
        { id: ATTR('last-name'), data: { value: person.family } },
        { id: ATTR('birth-date'), data: { value: person.birth } },
        { id: ATTR('email'), data: { value: person.email } },
        { id: ATTR('passport'), data: { value: { image: '$document-1' } } },
      ];
      const { body, contentType } = multipart([
        { name: 'attributes', contentType: 'application/json', body: JSON.stringify(attributes) },
        { name: '$document-1', contentType: 'image/png', body: passport, filename: 'passport.png' },
      ]);
      return call('/kyc/users', { method: 'POST', token: walletJwt, headers: { 'content-type': contentType }, body });
    },
    uploadFile: (walletJwt: string, content: Buffer) => call('/kyc/files', { method: 'POST', token: walletJwt, body: JSON.stringify({ file: content.toString('base64') }) }),
    apply: (walletJwt: string, body: unknown) => call('/kyc/applications', { method: 'POST', token: walletJwt, body: JSON.stringify(body) }),
    /** Polls the onboarding workflow's state query until it reaches `state`. */
    async waitForState(applicationId: string, state: string, timeoutMs = 20_000) {
      const handle = issuer.client().workflow.getHandle(onboardingWorkflowId(applicationId));
      let last: unknown;
      for (const started = Date.now(); Date.now() - started < timeoutMs; ) {
        try {
          last = await handle.query(onboardingStateQuery);
          if ((last as { state: string }).state === state) return last as Awaited<ReturnType<typeof handle.query<any>>>;
        } catch (err) {
          last = (err as Error).message;
        }
        await sleep(150);
      }
      assert.fail(`application ${applicationId} never reached ${state}: ${JSON.stringify(last)}`);
    },
  };
}

async function waitForMail(mails: ReceivedMail[], to: string, includes: string): Promise<ReceivedMail> {
  for (let i = 0; i < 200; i++) {
    const mail = mails.find((m) => m.to.includes(to) && m.text.replace(/=\r?\n/g, '').includes(includes));
    if (mail) return mail;
    await sleep(100);
  }
  throw new Error(`no mail to ${to} with ${includes}`);
}

describe('KYC onboarding (issue 19, seed 004)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let smtp: Awaited<ReturnType<typeof startSmtpReceiver>>;
  let issuer: Issuer;
  let kyc: ReturnType<typeof kycClient>;
  const histories: string[] = [];
  const personalData: string[] = [];

  before(async () => {
    database = await createTestDatabase();
    smtp = await startSmtpReceiver();
    issuer = await startKycIssuer(database, smtp.url, { codeTtl: 600, reminder: 300, expire: 600, challengeTtl: 2 });
    kyc = kycClient(issuer);
  });
  after(async () => {
    await issuer?.close();
    await smtp?.close();
    await database?.drop();
  });

  const person = (tag: string): Person => {
    const p = { given: `Maja${tag}`, family: `Lindqvist${tag}`, birth: '1987-03-09', email: `maja.${tag.toLowerCase()}@example.org` };
    personalData.push(p.given, p.family, p.email);
    return p;
  };

  const signers = [
    { kind: 'an EIP-191 personal_sign wallet', make: async () => { const w = ethereumWallet(); return { sign: (n: string) => w.personalSign(n), sub: w.address }; } },
    { kind: 'an ES256K JWS wallet', make: async () => { const w = await joseWallet('ES256K'); return { sign: (n: string) => w.sign(n), sub: `urn:ietf:params:oauth:jwk-thumbprint:sha-256:${await calculateJwkThumbprint(w.jwk, 'sha256')}` }; } },
  ];
  for (const [i, kycWallet] of signers.entries()) test(`end to end with ${kycWallet.kind}: challenge, user with a multipart upload, file, application, checks, approval, PIN e-mail, credential collected (seed 004; OpenID4VCI 1.0 §4.1.3, §6.1, §8, §11)`, async () => {
    const eth = await kycWallet.make();
    // Seed 004 GET /auth/challenge: C-JWT with sub = the client IP, nbf, exp, nonce.
    const { jwt: challengeJwt, nonce } = await kyc.challenge();
    const claims = decodeJwt(challengeJwt);
    assert.equal(claims.sub, '127.0.0.1');
    assert.ok(typeof claims.nbf === 'number' && typeof claims.exp === 'number' && claims.exp > claims.nbf);
    assert.equal(Buffer.from(nonce, 'base64').length, 32);
    // POST /auth/challenge: W-JWT whose sub is the wallet's key (its address, recovered from the EIP-191 signature).
    const answered = await kyc.answer(challengeJwt, await eth.sign(nonce));
    const walletJwt = (await json(answered)).jwt;
    assert.equal(answered.status, 200);
    assert.equal(decodeJwt(walletJwt).sub, eth.sub);

    // POST /users: multipart with the attributes part referencing the file part $document-1.
    const maja = person(`A${i}`);
    const created = await kyc.createUser(walletJwt, maja);
    const createdBody = await json(created);
    assert.equal(created.status, 201, JSON.stringify(createdBody));
    assert.equal(createdBody.message, 'User Created Successfully');
    assert.equal(decodeJwt(createdBody.token).sub, eth.sub);
    // GET /auth/token and POST /login.
    const tokenRes = await kyc.call('/kyc/auth/token', { token: walletJwt });
    const { token } = await json(tokenRes);
    assert.equal(tokenRes.status, 200);
    const login = await kyc.call('/kyc/login', { method: 'POST', token: walletJwt, body: JSON.stringify({ token }) });
    assert.deepEqual(await json(login), { redirectUrl: 'https://kyc.example.org/session' });
    // GET /templates and the template's JSON Schema.
    assert.deepEqual(await json(await kyc.call('/kyc/templates')), { templates: [{ id: 'identity', name: 'Verified identity', credentialType: VCT }, { id: 'matched', name: 'Known employee', credentialType: VCT }] });
    const schema = (await json(await kyc.call('/kyc/templates/identity/schema.json'))).template.schema;
    assert.deepEqual(schema.required, [ATTR('first-name'), ATTR('last-name'), ATTR('birth-date'), ATTR('email'), ATTR('passport')]);

    // POST /files (JSON base64) and POST /applications referring to it by fileId.
    const uploaded = await kyc.uploadFile(walletJwt, PDF);
    const { fileId } = await json(uploaded);
    assert.equal(uploaded.status, 200);
    const applied = await kyc.apply(walletJwt, { templateId: 'identity', attributes: [{ id: ATTR('utility-bill'), data: { value: { document: fileId } } }], files: [fileId] });
    const appliedBody = await json(applied);
    assert.equal(applied.status, 201, JSON.stringify(appliedBody));
    assert.equal(appliedBody.message, 'Application Created');
    const applicationId = appliedBody.applicationId as string;

    // Automated checks pass; the application waits for review.
    await kyc.waitForState(applicationId, 'IN_REVIEW');
    // One live application per wallet and template: a second is 409 CONFLICT.
    const second = await kyc.apply(walletJwt, { templateId: 'identity' });
    assert.equal(second.status, 409);
    assert.equal((await json(second)).error.code, 'CONFLICT');

    // The operator reads the application and its files through the admin API only.
    const detail = await json(await kyc.admin(`/admin/v1/kyc/applications/${applicationId}`));
    assert.equal(detail.state, 'IN_REVIEW');
    assert.equal(detail.wallet, eth.sub);
    assert.equal(detail.files.length, 2);
    const pdfMeta = detail.files.find((f: any) => f.file_id === fileId);
    assert.equal(pdfMeta.sha256, createHash('sha256').update(PDF).digest('hex'));
    assert.equal(pdfMeta.media_type, 'application/pdf');
    const file = await json(await kyc.admin(`/admin/v1/kyc/files/${fileId}`));
    assert.ok(Buffer.from(file.content_base64, 'base64').equals(PDF));
    // The gateway writes the audit row as the response finishes.
    let audited;
    for (let i = 0; i < 50 && !audited; i++, await sleep(50)) audited = await database.db('audit_log').where({ action: 'admin.kyc.file.get' }).whereRaw("target->>'file_id' = ?", [fileId]).first();
    assert.equal(audited.actor, 'admin:operator');
    assert.deepEqual(audited.target, { file_id: fileId });

    // Approval through the admin endpoint (audited) → an offer as a child workflow, PIN by e-mail.
    const approved = await kyc.admin(`/admin/v1/kyc/applications/${applicationId}/review`, { decision: 'approve' });
    assert.equal(approved.status, 200, await approved.clone().text());
    const offered = await kyc.waitForState(applicationId, 'OFFERED');
    assert.equal(offered.offers, 1);
    const status = await json(await kyc.call(`/kyc/applications/${applicationId}`, { token: walletJwt }));
    assert.equal(status.state, 'OFFERED');
    assert.match(status.credentialOffer, /^openid-credential-offer:\/\/\?credential_offer_uri=/);
    const pin = await waitForPin(smtp.mails, maja.email);

    // The holder's wallet (oid4vc-ts) collects the credential with the PIN.
    const wallet = createWallet();
    const offer = await wallet.client.resolveCredentialOffer(status.credentialOffer);
    assert.deepEqual(offer.credential_configuration_ids, [VCT]);
    const issuerMetadata = await wallet.client.resolveIssuerMetadata(offer.credential_issuer);
    const { accessTokenResponse } = await wallet.client.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer: offer, issuerMetadata, txCode: pin });
    const { c_nonce } = await wallet.client.requestNonce({ issuerMetadata });
    const signer = await wallet.newKey();
    const { jwt: proof } = await wallet.client.createCredentialRequestJwtProof({ issuerMetadata, credentialConfigurationId: VCT, signer, nonce: c_nonce });
    const { credentialResponse } = await wallet.client.retrieveCredentials({ issuerMetadata, accessToken: accessTokenResponse.access_token, credentialConfigurationId: VCT, proofs: { jwt: [proof] } });
    const credential = (credentialResponse.credentials![0] as { credential: string }).credential;
    const disclosed = credential.split('~').slice(1, -1).map((d) => JSON.parse(Buffer.from(d, 'base64url').toString()) as unknown[]);
    assert.deepEqual(Object.fromEntries(disclosed.map((d) => [d[1], d[2]])), { given_name: maja.given, family_name: maja.family, birth_date: maja.birth, email: maja.email });
    await wallet.client.sendNotification({ issuerMetadata, accessToken: accessTokenResponse.access_token, notification: { notificationId: credentialResponse.notification_id!, event: 'credential_accepted' } });
    const final = await issuer.client().workflow.getHandle(onboardingWorkflowId(applicationId)).result();
    assert.equal(final.state, 'COLLECTED');
    assert.equal((await json(await kyc.call(`/kyc/applications/${applicationId}`, { token: walletJwt }))).state, 'COLLECTED');

    const offerId = credentialOfferWorkflowId('hr.example.org', VCT, applicationId);
    assert.equal((await issuer.client().workflow.getHandle(offerId).query(offerStateQuery)).state, 'ISSUED');
    histories.push(await fetchHistoryText(issuer.client(), onboardingWorkflowId(applicationId)), await fetchHistoryText(issuer.client(), offerId));
    personalData.push(PDF.subarray(9, 60).toString('base64'), PNG.subarray(8, 60).toString('base64'), maja.birth);
  });

  test('a JWS wallet (EdDSA) signs in; a rejection e-mails the reason and the wallet may apply again (seed 004; RFC 7515 §7.1)', async () => {
    const jws = await joseWallet('EdDSA');
    const walletJwt = await kyc.login((nonce) => jws.sign(nonce));
    assert.match(String(decodeJwt(walletJwt).sub), /^urn:ietf:params:oauth:jwk-thumbprint:sha-256:/);
    const ola = person('B');
    assert.equal((await kyc.createUser(walletJwt, ola)).status, 201);
    const first = (await json(await kyc.apply(walletJwt, { templateId: 'identity' }))).applicationId;
    await kyc.waitForState(first, 'IN_REVIEW');
    const reason = 'The passport scan is unreadable';
    const rejected = await kyc.admin(`/admin/v1/kyc/applications/${first}/review`, { decision: 'reject', reason });
    assert.equal(rejected.status, 200);
    const final = await issuer.client().workflow.getHandle(onboardingWorkflowId(first)).result();
    assert.equal(final.state, 'REJECTED');
    await waitForMail(smtp.mails, ola.email, reason);
    // A decided application cannot be decided again.
    assert.equal((await kyc.admin(`/admin/v1/kyc/applications/${first}/review`, { decision: 'approve' })).status, 409);
    histories.push(await fetchHistoryText(issuer.client(), onboardingWorkflowId(first)));
    // The operator API shows the onboarding as a process with its timeline (ids and states only).
    const processRes = await kyc.admin(`/admin/v1/processes/${encodeURIComponent(onboardingWorkflowId(first))}`);
    const processBody = await json(processRes);
    assert.equal(processRes.status, 200, JSON.stringify(processBody));
    assert.equal(processBody.kind, 'onboarding');
    assert.equal(processBody.state, 'REJECTED');
    const steps = processBody.timeline.map((e: any) => (e.event === 'state' ? `state:${e.details.state}` : e.event === 'signal' ? `signal:${e.details.name}` : e.event));
    assert.deepEqual(steps.filter((x: string) => x.startsWith('state:') || x.startsWith('signal:') || ['checks_run', 'applicant_notified'].includes(x)), ['state:CHECKING', 'checks_run', 'state:IN_REVIEW', 'signal:review', 'state:REJECTED', 'applicant_notified']);
    assert.ok(!JSON.stringify(processBody).includes(ola.email) && !JSON.stringify(processBody).includes(reason));
    personalData.push(reason);

    const again = await kyc.apply(walletJwt, { templateId: 'identity' });
    assert.equal(again.status, 201);
    const second = (await json(again)).applicationId;
    assert.notEqual(second, first);
    await kyc.waitForState(second, 'IN_REVIEW');
    // The applicant withdraws.
    const withdrawn = await kyc.call(`/kyc/applications/${second}/withdraw`, { method: 'POST', token: walletJwt });
    assert.equal(withdrawn.status, 200);
    assert.equal((await issuer.client().workflow.getHandle(onboardingWorkflowId(second)).result()).state, 'WITHDRAWN');
  });

  test('ES256 and ES256K JWS wallets sign in too; a signature by another key than the header\'s is 401', async () => {
    for (const alg of ['ES256', 'ES256K'] as const) {
      const w = await joseWallet(alg);
      const jwt = await kyc.login((nonce) => w.sign(nonce));
      assert.match(String(decodeJwt(jwt).sub), /^urn:ietf:params:oauth:jwk-thumbprint:sha-256:/);
      const other = await joseWallet(alg);
      const { jwt: challengeJwt, nonce } = await kyc.challenge();
      const res = await kyc.answer(challengeJwt, await other.sign(nonce, w.jwk));
      assert.equal(res.status, 401);
      assert.equal((await json(res)).error.code, 'UNAUTHORIZED');
    }
  });

  test('a challenge works once, and not after it expires (seed 004: single-use, short-lived)', async () => {
    const eth = ethereumWallet();
    const { jwt, nonce } = await kyc.challenge();
    assert.equal((await kyc.answer(jwt, eth.personalSign(nonce))).status, 200);
    const reused = await kyc.answer(jwt, eth.personalSign(nonce));
    assert.equal(reused.status, 401);
    assert.match((await json(reused)).error.message, /used or has expired/);
    const late = await kyc.challenge();
    await sleep(3100); // challenge_ttl is 2 s here
    const expired = await kyc.answer(late.jwt, eth.personalSign(late.nonce));
    assert.equal(expired.status, 401);
    assert.match((await json(expired)).error.message, /expired/);
  });

  test('the Origin and User-Agent headers are checked as configured; a wrong wallet JWT is 401', async () => {
    const badOrigin = await fetch(`${issuer.base}/kyc/auth/challenge`, { headers: { ...WALLET_HEADERS, origin: 'https://evil.example' } });
    assert.equal(badOrigin.status, 401);
    const badAgent = await fetch(`${issuer.base}/kyc/auth/challenge`, { headers: { ...WALLET_HEADERS, 'user-agent': 'curl/8' } });
    assert.equal(badAgent.status, 400);
    assert.equal((await json(badAgent)).error.code, 'INVALID_FORMAT');
    const web = await fetch(`${issuer.base}/kyc/auth/challenge`, { headers: { ...WALLET_HEADERS, origin: 'https://kyc.example.org' } });
    assert.equal(web.status, 200);
    const { jwt: challengeJwt } = await kyc.challenge();
    // A challenge JWT is not a wallet JWT (explicit typ, RFC 8725 §3.11).
    assert.equal((await kyc.call('/kyc/auth/token', { token: challengeJwt })).status, 401);
    assert.equal((await kyc.call('/kyc/auth/token')).status, 401);
    // A wallet without a user: GET /auth/token is 404 (seed 004).
    const lone = await kyc.login((nonce) => ethereumWallet().personalSign(nonce));
    assert.equal((await kyc.call('/kyc/auth/token', { token: lone })).status, 404);
    assert.equal((await kyc.call('/kyc/templates/nope/schema.json')).status, 404);
  });

  test('files over the limit or of a wrong type by their content are 400, whatever their name and Content-Type say', async () => {
    const walletJwt = await kyc.login((nonce) => ethereumWallet().personalSign(nonce));
    const big = await kyc.uploadFile(walletJwt, Buffer.concat([PDF, Buffer.alloc(64 * 1024)]));
    assert.equal(big.status, 400);
    assert.match((await json(big)).error.message, /larger than/);
    const gif = Buffer.from('GIF89a........................');
    const wrongType = await kyc.uploadFile(walletJwt, gif);
    assert.equal(wrongType.status, 400);
    assert.match((await json(wrongType)).error.message, /not an accepted type/);
    // Multipart: a GIF called passport.png with Content-Type image/png, and an oversized part.
    const disguised = await kyc.createUser(walletJwt, person('C'), gif);
    assert.equal(disguised.status, 400);
    assert.deepEqual((await json(disguised)).error.details.fields, [{ path: '$document-1', message: 'file type not accepted' }]);
    const oversized = await kyc.createUser(walletJwt, person('D'), Buffer.concat([PNG, Buffer.alloc(70 * 1024)]));
    assert.equal(oversized.status, 400);
    const { body, contentType } = multipart([{ name: 'file', contentType: 'application/pdf', body: gif, filename: 'x.pdf' }]);
    const partWrong = await kyc.call('/kyc/files', { method: 'POST', token: walletJwt, headers: { 'content-type': contentType }, body });
    assert.equal(partWrong.status, 400);
    const ok = multipart([{ name: 'file', contentType: 'application/octet-stream', body: PNG, filename: 'scan' }]);
    const partOk = await kyc.call('/kyc/files', { method: 'POST', token: walletJwt, headers: { 'content-type': ok.contentType }, body: ok.body });
    assert.equal(partOk.status, 200);
    assert.equal((await database.db('kyc_files').where({ file_id: (await json(partOk)).fileId }).first()).media_type, 'image/png');
  });

  test('attributes that violate the template are 400 INVALID_FORMAT with the offending paths, at POST /users and POST /applications', async () => {
    const walletJwt = await kyc.login((nonce) => ethereumWallet().personalSign(nonce));
    const badDate = await kyc.createUser(walletJwt, { ...person('E'), birth: '09/03/1987' });
    assert.equal(badDate.status, 400);
    const fields = (await json(badDate)).error.details.fields;
    assert.equal(fields[0].path, 'attributes.2.data.value');
    assert.match(fields[0].message, /pattern/);
    // No user attributes yet: the application lacks the required ones.
    const missing = await kyc.apply(walletJwt, { templateId: 'identity', attributes: [{ id: ATTR('first-name'), data: { value: 'X' } }] });
    assert.equal(missing.status, 400);
    assert.ok((await json(missing)).error.details.fields.some((f: any) => f.path === `attributes/${ATTR('last-name')}`));
    const unknown = await kyc.apply(walletJwt, { templateId: 'nope' });
    assert.equal(unknown.status, 400);
    const foreignFile = await kyc.apply(walletJwt, { templateId: 'identity', files: ['00000000-0000-4000-8000-000000000000'] });
    assert.equal(foreignFile.status, 400);
  });

  test('the automated checks fail an application whose file is of a type its attribute does not accept', async () => {
    const walletJwt = await kyc.login((nonce) => ethereumWallet().personalSign(nonce));
    const p = person('F');
    assert.equal((await kyc.createUser(walletJwt, p)).status, 201);
    const { fileId } = await json(await kyc.uploadFile(walletJwt, PNG));
    const res = await kyc.apply(walletJwt, { templateId: 'identity', attributes: [{ id: ATTR('utility-bill'), data: { value: { document: fileId } } }], files: [fileId] });
    const applicationId = (await json(res)).applicationId;
    const final = await issuer.client().workflow.getHandle(onboardingWorkflowId(applicationId)).result();
    assert.equal(final.state, 'CHECKS_FAILED');
    assert.deepEqual(final.checkFailures, ['file_type']);
    await waitForMail(smtp.mails, p.email, 'automated checks');
  });

  test('a template with identity_match checks the applicant against the authentic source\'s persons: a known person goes to review, an unknown one fails the checks', async () => {
    const known = person('H');
    const upload = await fetch(`${issuer.base}/api/v1/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY },
      body: JSON.stringify({
        meta: { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: uniqueName('kyc-match') },
        identities: [{ authentic_source_person_id: 'P-H', family_name: known.family, given_name: known.given, birth_date: known.birth }],
        document_data: { degree_type: 'Master of Science', field_of_study: 'Astrophysics', issuing_institution: 'Example University', graduation_date: '2024-06-01' },
      }),
    });
    assert.equal(upload.status, 200, await upload.text());
    const knownJwt = await kyc.login((nonce) => ethereumWallet().personalSign(nonce));
    assert.equal((await kyc.createUser(knownJwt, known)).status, 201);
    const matched = (await json(await kyc.apply(knownJwt, { templateId: 'matched' }))).applicationId;
    await kyc.waitForState(matched, 'IN_REVIEW');
    histories.push(await fetchHistoryText(issuer.client(), onboardingWorkflowId(matched)));

    const stranger = person('I');
    const strangerJwt = await kyc.login((nonce) => ethereumWallet().personalSign(nonce));
    assert.equal((await kyc.createUser(strangerJwt, stranger)).status, 201);
    const unmatched = (await json(await kyc.apply(strangerJwt, { templateId: 'matched' }))).applicationId;
    const final = await issuer.client().workflow.getHandle(onboardingWorkflowId(unmatched)).result();
    assert.equal(final.state, 'CHECKS_FAILED');
    assert.deepEqual(final.checkFailures, ['identity_not_matched']);
    const withdrawn = await kyc.call(`/kyc/applications/${matched}/withdraw`, { method: 'POST', token: knownJwt });
    assert.equal(withdrawn.status, 200);
  });

  test('a worker restart during review: the application continues where it was, approved by a signal as the Temporal UI sends it', async () => {
    const walletJwt = await kyc.login((nonce) => ethereumWallet().personalSign(nonce));
    const p = person('G');
    assert.equal((await kyc.createUser(walletJwt, p)).status, 201);
    const applicationId = (await json(await kyc.apply(walletJwt, { templateId: 'identity' }))).applicationId;
    await kyc.waitForState(applicationId, 'IN_REVIEW');
    await issuer.restartWorker(async () => {
      // No worker polls now: the signal waits in the history.
      await issuer.client().workflow.getHandle(onboardingWorkflowId(applicationId)).signal(reviewDecisionSignal, { decision: 'approve', reviewer: 'ui:operator' });
    });
    const offered = await kyc.waitForState(applicationId, 'OFFERED');
    assert.equal(offered.checkFailures.length, 0);
    await waitForPin(smtp.mails, p.email);
    histories.push(await fetchHistoryText(issuer.client(), onboardingWorkflowId(applicationId)));
    const withdrawn = await kyc.call(`/kyc/applications/${applicationId}/withdraw`, { method: 'POST', token: walletJwt });
    assert.equal(withdrawn.status, 200);
    assert.equal((await issuer.client().workflow.getHandle(onboardingWorkflowId(applicationId)).result()).state, 'WITHDRAWN');
    assert.equal((await issuer.client().workflow.getHandle(credentialOfferWorkflowId('hr.example.org', VCT, applicationId)).result()).state, 'CANCELLED');
  });

  test('no file content, attribute value or e-mail address appears in the workflow histories or the gateway\'s and worker\'s logs', () => {
    const logs = issuer.log.text();
    assert.ok(issuer.log.lines.some((l) => l.includes('"path":"/kyc/users"')), 'positive control: the gateway logged the requests');
    for (const secret of personalData) assert.ok(!logs.includes(secret), `a log contains ${secret.slice(0, 16)}...`);
    assert.equal(/[A-Za-z0-9._+-]+@example\.org/.exec(logs)?.[0], undefined, 'no e-mail address in the logs');
    assert.ok(histories.length >= 6);
    // Positive control: payloads are decoded, so the states the workflow returned are readable in the text.
    assert.ok(histories[0]!.includes('COLLECTED') && histories[0]!.includes('IN_REVIEW'), 'positive control: states are readable');
    for (const text of histories) {
      for (const secret of personalData) assert.ok(!text.includes(secret), `a history contains ${secret.slice(0, 16)}...`);
      const address = /[A-Za-z0-9._+-]+@example\.org/.exec(text)?.[0];
      assert.equal(address, undefined, 'no e-mail address');
    }
  });
});

describe('KYC onboarding with short delays: reminders, expiry, re-offer', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let smtp: Awaited<ReturnType<typeof startSmtpReceiver>>;
  let issuer: Issuer;
  let kyc: ReturnType<typeof kycClient>;

  before(async () => {
    database = await createTestDatabase();
    smtp = await startSmtpReceiver();
    issuer = await startKycIssuer(database, smtp.url, { codeTtl: 2, reminder: 1, expire: 4, challengeTtl: 60 });
    kyc = kycClient(issuer);
  });
  after(async () => {
    await issuer?.close();
    await smtp?.close();
    await database?.drop();
  });

  const applicant = async (tag: string) => {
    const walletJwt = await kyc.login((nonce) => ethereumWallet().personalSign(nonce));
    const p = { given: `Ola${tag}`, family: `Nordmann${tag}`, birth: '1990-01-31', email: `ola.${tag}@example.org` };
    assert.equal((await kyc.createUser(walletJwt, p)).status, 201);
    const applicationId = (await json(await kyc.apply(walletJwt, { templateId: 'identity' }))).applicationId as string;
    return { walletJwt, p, applicationId };
  };

  test('reviewers are reminded after reminder_after, and an undecided application expires after expire_after; the applicant is told', async () => {
    const { p, applicationId } = await applicant('r');
    const final = await issuer.client().workflow.getHandle(onboardingWorkflowId(applicationId)).result();
    assert.equal(final.state, 'EXPIRED');
    assert.ok(final.remindersSent >= 2 && final.remindersSent <= 4, `reminders: ${final.remindersSent}`);
    const reminders = smtp.mails.filter((m) => m.to.includes('reviewer@example.org') && m.text.includes(applicationId));
    assert.equal(reminders.length, final.remindersSent);
    await waitForMail(smtp.mails, p.email, 'expired before a decision');
  });

  test('an approved application whose offer expires uncollected is re-offered by the operator without a new review', async () => {
    const { p, applicationId } = await applicant('o');
    await kyc.waitForState(applicationId, 'IN_REVIEW');
    assert.equal((await kyc.admin(`/admin/v1/kyc/applications/${applicationId}/reoffer`, {})).status, 409, 're-offer only after an offer expired');
    assert.equal((await kyc.admin(`/admin/v1/kyc/applications/${applicationId}/review`, { decision: 'approve' })).status, 200);
    await waitForPin(smtp.mails, p.email);
    const expired = await kyc.waitForState(applicationId, 'OFFER_EXPIRED');
    assert.equal(expired.offers, 1);
    const reoffer = await kyc.admin(`/admin/v1/kyc/applications/${applicationId}/reoffer`, {});
    assert.equal(reoffer.status, 200);
    const again = await kyc.waitForState(applicationId, 'OFFERED');
    assert.equal(again.offers, 2);
    for (let i = 0; i < 100 && smtp.mails.filter((m) => m.to.includes(p.email)).length < 2; i++) await sleep(100);
    assert.equal(smtp.mails.filter((m) => m.to.includes(p.email)).length, 2, 'a second PIN e-mail');
    // Not re-offered in time again: the application expires.
    assert.equal((await issuer.client().workflow.getHandle(onboardingWorkflowId(applicationId)).result()).state, 'EXPIRED');
  });

  test('failed challenge answers are limited per address: after the burst the address gets 429 RATE_LIMITED with Retry-After', async () => {
    const eth = ethereumWallet();
    let limited: Response | undefined;
    for (let i = 0; i < 30 && !limited; i++) {
      const { jwt } = await kyc.challenge();
      const res = await kyc.answer(jwt, `0x${'11'.repeat(65)}`);
      if (res.status === 429) limited = res;
      else assert.equal(res.status, 401);
    }
    assert.ok(limited, 'the address was limited');
    assert.equal((await json(limited)).error.code, 'RATE_LIMITED');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    // Even a right answer waits now.
    const { jwt, nonce } = await kyc.challenge();
    assert.equal((await kyc.answer(jwt, eth.personalSign(nonce))).status, 429);
  });
});

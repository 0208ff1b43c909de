import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, type JWK, jwtVerify, SignJWT } from 'jose';
import { decodeIssuerSigned, verifyIssuerAuth, verifySdJwtVc } from '../support/credential-verifiers';
import { historyText } from '../support/history-text';
import { bitstringStatus, createVerifierDocumentLoader, verifyWithDigitalBazaar } from '../support/data-integrity-verifier';
import { createLogger } from '../../src/logger';
import { type RunningPart, startGateway } from '../../src/main/issuer-parts';
import { offerStateQuery } from '../../workflows/contracts/credential-offer';
import { ProcessState } from '../../workflows/contracts/search-attributes';
import { createTestDatabase, loadTestConfig, REGISTRY_API_KEY, TEST_DEV_API_KEY, testConfigFile, testEnv, uniqueName } from '../support/test-services';
import { startSmtpReceiver, waitForPin as waitForPinEmail } from '../support/smtp-receiver';
import { startTestWorker, type TestWorker } from '../support/test-worker';
import { startHookReceiver } from '../support/hook-receiver';

/**
 * Seed 000 "Generate Credential Offer" and "Pre-Authorized Code Flow" over OpenID4VCI 1.0, against
 * real Temporal, PostgreSQL and SMTP: the offer workflow, the offer by reference (§4.1.3), the
 * token endpoint with tx_code (§6.1), attempts, lockout and expiry.
 */
const bodyOf = (res: Response): Promise<any> => res.json();
/**
 * Longer than the slowest step any test waits for (headless Chromium on a busy machine), so no test
 * races the offer's clock; the expiry test runs its own gateway with SHORT_CODE_TTL, and the
 * workflow's timers themselves are tested with days of code_ttl in test/unit/workflows-time-skipping.test.ts.
 */
const CODE_TTL = 600;
const SHORT_CODE_TTL = 3;
const GRANT = 'urn:ietf:params:oauth:grant-type:pre-authorized_code';

const startSmtp = startSmtpReceiver;

describe('credential offer: notification, offer, token with PIN (OpenID4VCI 1.0)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let hooks: Awaited<ReturnType<typeof startHookReceiver>>;
  let gateway: RunningPart;
  let temporal: TestWorker;
  let client: Client;
  let base: string;
  const taskQueue = uniqueName('offers');
  const offerConfig = (codeTtl: number) =>
    loadTestConfig(
      testConfigFile((f) => {
        f.issuer = { pre_authorized_code: { enabled: true, pin_required: true, code_ttl: codeTtl, max_pin_attempts: 3 } };
        const sources = f.authentic_sources as Record<string, Record<string, unknown>>;
        sources['hr.example.org']!.notification_endpoint = { url: hooks.url };
        sources['registry.example.org']!.pin_delivery = 'authentic_source';
      }),
      { DATABASE_URL: database.url, TEMPORAL_ADDRESS: testEnv().temporalAddress, TEMPORAL_TASK_QUEUE: taskQueue, PORT: '0', SMTP_URL: smtp.url, ISSUER_URL: 'https://issuer.example.org' },
    );

  before(async () => {
    database = await createTestDatabase();
    smtp = await startSmtp();
    hooks = await startHookReceiver();
    const config = offerConfig(CODE_TTL);
    temporal = await startTestWorker(config, database.db);
    client = temporal.client;
    gateway = await startGateway(config, createLogger('silent'));
    base = gateway.url!;
  });
  after(async () => {
    await gateway?.close();
    await temporal?.close();
    await new Promise((r) => smtp?.server.close(() => r(undefined)));
    await new Promise((r) => hooks?.server.close(() => r(undefined)));
    await database?.drop();
  });

  const upload = async (documentId: string, extra: { email?: string; validTo?: number } = {}) => {
    const res = await fetch(`${base}/api/v1/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY },
      body: JSON.stringify({
        meta: { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: documentId, ...(extra.validTo ? { credential_valid_to: extra.validTo } : {}) },
        identities: [{ authentic_source_person_id: 'EMP-1', family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15', ...(extra.email ? { email: extra.email } : {}) }],
        document_data: { degree_type: 'Bachelor of Science', field_of_study: 'Computer Science', issuing_institution: 'Example University', graduation_date: '2025-05-15' },
      }),
    });
    assert.equal(res.status, 200);
  };
  const notify = (documentId: string, email?: string, vct = 'urn:eudi:diploma:1') =>
    fetch(`${base}/api/v1/notification`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY },
      body: JSON.stringify({ authentic_source: 'hr.example.org', vct, document_id: documentId, ...(email ? { email } : {}) }),
    });
  const offerFrom = async (deepLink: string) => {
    const uri = decodeURIComponent(deepLink.slice('openid-credential-offer://?credential_offer_uri='.length));
    assert.match(uri, /^https:\/\/issuer\.example\.org\/offers\/[A-Za-z0-9_-]+$/);
    return bodyOf(await fetch(`${base}${new URL(uri).pathname}`));
  };
  const token = (code: string, txCode?: string) =>
    fetch(`${base}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: GRANT, 'pre-authorized_code': code, ...(txCode !== undefined ? { tx_code: txCode } : {}) }) });
  const waitForPin = (to: string) => waitForPinEmail(smtp.mails, to);
  const wrongPin = (pin: string) => String((Number(pin) + 1) % 1_000_000).padStart(6, '0');

  test('the notification answers the seed\'s {qr:{base64_image, deep_link}}, and a repeat finds the same live offer', async () => {
    await upload('offer-1', { email: 'alice@example.org' });
    const res = await notify('offer-1');
    const body = await bodyOf(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.match(body.qr.base64_image, /^data:image\/png;base64,iVBORw0KGgo/);
    assert.match(body.qr.deep_link, /^openid-credential-offer:\/\/\?credential_offer_uri=https%3A%2F%2Fissuer\.example\.org%2Foffers%2F/);
    const again = await bodyOf(await notify('offer-1'));
    assert.equal(again.qr.deep_link, body.qr.deep_link);
    const handle = client.workflow.getHandle('offer/hr.example.org/urn:eudi:diploma:1/offer-1');
    assert.equal((await handle.query(offerStateQuery)).state, 'OFFERED');
    assert.equal((await handle.describe()).typedSearchAttributes.get(ProcessState), 'OFFERED');
  });

  test('the offer by reference carries the pre-authorized code and a numeric tx_code (OpenID4VCI 1.0 §4.1.1)', async () => {
    await upload('offer-1b', { email: 'alice-b@example.org' });
    const { qr } = await bodyOf(await notify('offer-1b'));
    const offer = await offerFrom(qr.deep_link);
    assert.equal(offer.credential_issuer, 'https://issuer.example.org');
    assert.deepEqual(offer.credential_configuration_ids, ['urn:eudi:diploma:1']);
    const grant = offer.grants[GRANT];
    assert.match(grant['pre-authorized_code'], /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(grant.tx_code, { input_mode: 'numeric', length: 6, description: 'Enter the PIN sent to your email' });
  });

  test('a browser gets the holder page, which headless Chromium renders with a QR code that decodes to the deep link', async (t) => {
    const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
    if (!chromium) return t.skip('Chromium is not installed here (.ci/run installs it)');
    await upload('offer-1c', { email: 'alice-c@example.org' });
    const { qr } = await bodyOf(await notify('offer-1c'));
    const pageUrl = `${decodeURIComponent(qr.deep_link.split('credential_offer_uri=')[1]).replace('https://issuer.example.org', base)}/view`;
    const html = await fetch(pageUrl, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    assert.match(html.headers.get('content-type') ?? '', /text\/html/);
    const dir = mkdtempSync(join(tmpdir(), 'issuer-chromium-'));
    const screenshot = join(dir, 'page.png');
    await new Promise<void>((resolve, reject) =>
      execFile(
        chromium,
        ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${join(dir, 'profile')}`, '--window-size=600,900', `--screenshot=${screenshot}`, pageUrl],
        { timeout: 60_000 },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
    const png = PNG.sync.read(readFileSync(screenshot));
    rmSync(dir, { recursive: true, force: true });
    const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    assert.equal(decoded?.data, qr.deep_link, 'the QR code on the rendered page is the offer\'s deep link');
  });

  test('a wrong PIN is invalid_grant with the attempts left; the right PIN from the e-mail gives an access token; the code cannot be used twice', async () => {
    await upload('offer-1d', { email: 'alice-d@example.org' });
    const { qr } = await bodyOf(await notify('offer-1d'));
    const code = (await offerFrom(qr.deep_link)).grants[GRANT]['pre-authorized_code'];
    const pin = await waitForPin('alice-d@example.org');
    const wrong = await token(code, wrongPin(pin));
    assert.equal(wrong.status, 400);
    assert.deepEqual(await bodyOf(wrong), { error: 'invalid_grant', error_description: 'Wrong tx_code; 2 attempt(s) left' });
    assert.equal((await bodyOf(await token(code))).error, 'invalid_request', 'a missing tx_code is invalid_request');
    const right = await token(code, pin);
    const body = await bodyOf(right);
    assert.equal(right.status, 200, JSON.stringify(body));
    assert.equal(body.token_type, 'Bearer');
    assert.ok(body.access_token.length >= 32);
    assert.equal(right.headers.get('cache-control'), 'no-store');
    const reuse = await token(code, pin);
    assert.equal((await bodyOf(reuse)).error, 'invalid_grant');
    const handle = client.workflow.getHandle('offer/hr.example.org/urn:eudi:diploma:1/offer-1d');
    const state = await handle.query(offerStateQuery);
    assert.equal(state.state, 'REDEEMED');
    assert.equal(state.pinAttempts, 1);
    const history = historyText(await handle.fetchHistory());
    assert.ok(history.includes(state.offerId), 'payloads are decoded: the input\'s offer id is there, so the search below can fail');
    // The code is derived, never passed to the workflow; nor is the PIN (test/integration/offer-hardening.test.ts searches a full pickup for both).
    assert.ok(!history.includes(code), 'the pre-authorized code is not in the history');
  });

  test('the PIN goes to the address given in the notification, which wins over the identity\'s', async () => {
    await upload('offer-2', { email: 'alice@example.org' });
    await notify('offer-2', 'guardian@example.org');
    assert.match(await waitForPin('guardian@example.org'), /^\d{6}$/);
  });

  test('after the configured number of wrong PINs (max_pin_attempts: 3) the offer locks, and even the right PIN is refused', async () => {
    await upload('offer-3', { email: 'bob@example.org' });
    const { qr } = await bodyOf(await notify('offer-3'));
    const code = (await offerFrom(qr.deep_link)).grants[GRANT]['pre-authorized_code'];
    const pin = await waitForPin('bob@example.org');
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push((await bodyOf(await token(code, wrongPin(pin)))).error_description);
    assert.deepEqual(answers.slice(0, 2), ['Wrong tx_code; 2 attempt(s) left', 'Wrong tx_code; 1 attempt(s) left']);
    assert.equal(answers.at(-1), 'Too many wrong tx_codes: the offer is locked');
    assert.equal((await bodyOf(await token(code, pin))).error, 'invalid_grant');
    const handle = client.workflow.getHandle('offer/hr.example.org/urn:eudi:diploma:1/offer-3');
    assert.equal((await handle.query(offerStateQuery)).state, 'LOCKED');
    // A LOCKED offer waits for an operator until its code expires (locked-offer-waits; test/integration/admin-api.test.ts unlocks one).
    assert.equal((await handle.describe()).status.name, 'RUNNING');
  });

  /** A holder key and an OpenID4VCI key proof for it (Appendix F.1). */
  const holder = async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    const proof = (claims: { nonce?: string; aud?: string; iat?: number }, typ = 'openid4vci-proof+jwt') =>
      new SignJWT({ ...(claims.nonce ? { nonce: claims.nonce } : {}) })
        .setProtectedHeader({ alg: 'ES256', typ, jwk })
        .setAudience(claims.aud ?? 'https://issuer.example.org')
        .setIssuedAt(claims.iat ?? Math.floor(Date.now() / 1000))
        .sign(privateKey);
    return { jwk, proof };
  };
  const rsaProof = async (c: string) => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    return new SignJWT({ nonce: c }).setProtectedHeader({ alg: 'RS256', typ: 'openid4vci-proof+jwt', jwk: await exportJWK(publicKey) }).setAudience('https://issuer.example.org').setIssuedAt().sign(privateKey);
  };
  const nonce = async () => (await bodyOf(await fetch(`${base}/nonce`, { method: 'POST' }))).c_nonce as string;
  const credential = (accessToken: string, body: unknown) =>
    fetch(`${base}/credential`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` }, body: JSON.stringify(body) });
  const redeemed = async (documentId: string, email: string) => {
    await upload(documentId, { email });
    const { qr } = await bodyOf(await notify(documentId));
    const code = (await offerFrom(qr.deep_link)).grants[GRANT]['pre-authorized_code'];
    return (await bodyOf(await token(code, await waitForPin(email)))).access_token as string;
  };

  test('the credential endpoint issues an SD-JWT VC bound to the proof key, verified with plain jose against the published JWKS (§8, SD-JWT VC)', async () => {
    const accessToken = await redeemed('offer-5', 'erin@example.org');
    const { jwk, proof } = await holder();
    const res = await credential(accessToken, { credential_configuration_id: 'urn:eudi:diploma:1', proofs: { jwt: [await proof({ nonce: await nonce() })] } });
    const body = await bodyOf(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.credentials.length, 1);
    assert.equal(typeof body.notification_id, 'string');
    const jwks = await bodyOf(await fetch(`${base}/.well-known/jwks.json`));
    const verified = await verifySdJwtVc(body.credentials[0].credential, jwks, { issuer: 'https://issuer.example.org' });
    assert.equal(verified.payload.vct, 'urn:eudi:diploma:1');
    assert.equal(verified.claims.field_of_study, 'Computer Science');
    assert.equal(await calculateJwkThumbprint((verified.payload.cnf as { jwk: JWK }).jwk), await calculateJwkThumbprint(jwk));
    const records = await database.db('issued_credentials').where({ document_id: 'offer-5' });
    assert.equal(records.length, 1);
    assert.equal(records[0].holder_key_thumbprint, await calculateJwkThumbprint(jwk));
    assert.equal((await database.db('credential_pickups').count('* as n').first())!.n, '0', 'the pickup slot is emptied on delivery');
    const handle = client.workflow.getHandle('offer/hr.example.org/urn:eudi:diploma:1/offer-5');
    const history = historyText(await handle.fetchHistory());
    assert.ok(history.includes('credential_accepted') || history.includes('offer-5'), 'payloads are decoded, so the search below can fail');
    assert.ok(!history.includes('Computer Science'), 'no claim enters the workflow history');

    // §11: the wallet reports; the offer's process completes with the event recorded.
    const note = await fetch(`${base}/notification`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` }, body: JSON.stringify({ notification_id: body.notification_id, event: 'credential_accepted' }) });
    assert.equal(note.status, 204);
    const final = await handle.result();
    assert.equal(final.state, 'ISSUED');
    assert.equal(final.credentialsIssued, 1);
    assert.deepEqual(final.walletEvents, ['credential_accepted']);
    // An offer of revision 1 (OFFER_INPUT_REVISION) takes its patches from its input: no patch
    // marker and no TemporalChangeVersion upsert in its history, only the state upserts.
    const events = (await handle.fetchHistory()).events ?? [];
    assert.equal(events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.length, 1);
    assert.equal(events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch').length, 0, 'no patch marker');
    const upserted = events.flatMap((e) => Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}));
    assert.ok(upserted.length > 0 && upserted.every((key) => key === 'ProcessState'), `upserts: ${upserted.join(', ')}`);
  });

  test('the same flow issues an mDL (mso_mdoc, ISO/IEC 18013-5) and a W3C VC 2.0 (jwt_vc_json, ldp_vc) from their configurations', async () => {
    const uploadAs = async (vct: string, documentId: string, document_data: Record<string, unknown>, email: string) => {
      const res = await fetch(`${base}/api/v1/upload`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY },
        body: JSON.stringify({ meta: { authentic_source: 'hr.example.org', vct, document_id: documentId }, identities: [{ family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15', email }], document_data }),
      });
      assert.equal(res.status, 200, JSON.stringify(await bodyOf(res)));
      const { qr } = await bodyOf(await notify(documentId, undefined, vct));
      const code = (await offerFrom(qr.deep_link)).grants[GRANT]['pre-authorized_code'];
      const accessToken = (await bodyOf(await token(code, await waitForPin(email)))).access_token as string;
      const { proof } = await holder();
      const res2 = await credential(accessToken, { credential_configuration_id: vct, proofs: { jwt: [await proof({ nonce: await nonce() })] } });
      const body = await bodyOf(res2);
      assert.equal(res2.status, 200, JSON.stringify(body));
      return body.credentials[0].credential as string;
    };
    const mdoc = await uploadAs(
      'org.iso.18013.5.1.mDL',
      'mdl-1',
      { family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15', issue_date: '2024-01-01', expiry_date: '2034-01-01', issuing_country: 'SE', issuing_authority: 'Transportstyrelsen', document_number: 'SE123456', driving_privileges: [{ vehicle_category_code: 'B', issue_date: '2010-01-01' }], un_distinguishing_sign: 'S' },
      'mdl@example.org',
    );
    const { iacas } = await bodyOf(await fetch(`${base}/.well-known/iacas`));
    const { nameSpaces, issuerAuth, mso } = decodeIssuerSigned(Buffer.from(mdoc, 'base64url'));
    assert.equal(mso.get('docType'), 'org.iso.18013.5.1.mDL');
    assert.ok(nameSpaces.get('org.iso.18013.5.1')!.length >= 9);
    await verifyIssuerAuth(issuerAuth, iacas);
    const vc = await uploadAs('EmploymentCredential', 'vc-1', { employer: 'Example AB', jobTitle: 'Engineer' }, 'vc@example.org');
    assert.equal(decodeProtectedHeader(vc).typ, 'vc+jwt');
    const { payload } = await jwtVerify(vc, createLocalJWKSet(await bodyOf(await fetch(`${base}/.well-known/jwks.json`))));
    assert.deepEqual(payload.type, ['VerifiableCredential', 'EmploymentCredential']);
    assert.equal((payload.credentialSubject as Record<string, unknown>).employer, 'Example AB');

    // ldp_vc (OpenID4VCI 1.0 Appendix A.1.2): the credential is a JSON object, the document with its
    // Data Integrity proof (VC Data Integrity 1.0), bound to the proof key by a did:jwk subject id.
    const metadata = await bodyOf(await fetch(`${base}/.well-known/openid-credential-issuer`));
    assert.deepEqual(metadata.credential_configurations_supported.MembershipCredential.credential_definition, { '@context': ['https://www.w3.org/ns/credentials/v2'], type: ['VerifiableCredential', 'MembershipCredential'] });
    assert.equal(metadata.credential_configurations_supported.MembershipCredential.format, 'ldp_vc');
    const ldp = (await uploadAs('MembershipCredential', 'ldp-1', { memberSince: '2020-01-01', level: 'gold' }, 'ldp@example.org')) as unknown as Record<string, any>;
    assert.equal(typeof ldp, 'object');
    assert.deepEqual(ldp.type, ['VerifiableCredential', 'MembershipCredential']);
    assert.equal(ldp.proof.cryptosuite, 'ecdsa-rdfc-2019');
    // Two BitstringStatusListEntry objects (Bitstring Status List §2.1): revocation and suspension, each its own list.
    assert.deepEqual(ldp.credentialStatus.map((e: { type: string; statusPurpose: string }) => `${e.type}/${e.statusPurpose}`), ['BitstringStatusListEntry/revocation', 'BitstringStatusListEntry/suspension']);
    const holderDid = ldp.credentialSubject.id as string;
    assert.match(holderDid, /^did:jwk:/);
    const holderJwk = JSON.parse(Buffer.from(holderDid.slice('did:jwk:'.length), 'base64url').toString()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(holderJwk).sort(), ['crv', 'kty', 'x', 'y'], 'the public key only');
    const loader = createVerifierDocumentLoader({ origins: { 'https://issuer.example.org': base } });
    const verified = await verifyWithDigitalBazaar(ldp, loader);
    assert.equal(verified.verified, true, JSON.stringify(verified.error));
    // Its status list is offered in its own proof format (Bitstring Status List §3.3, read by the verifier).
    assert.match(ldp.credentialStatus[0].statusListCredential, /^https:\/\/issuer\.example\.org\/status-lists\/w3c\/revocation\/\d+\/di$/);
    assert.match(ldp.credentialStatus[1].statusListCredential, /^https:\/\/issuer\.example\.org\/status-lists\/w3c\/suspension\/\d+\/di$/);
    for (const purpose of ['revocation', 'suspension']) {
      // bitstringStatus verifies the list's Data Integrity proof with @digitalbazaar/vc and checks its statusPurpose.
      const status = await bitstringStatus(ldp, loader, undefined, purpose);
      assert.equal(status.bit, 0, purpose);
      assert.equal((status.list.proof as { cryptosuite: string }).cryptosuite, 'ecdsa-rdfc-2019');
    }
  });

  test('DPoP (RFC 9449): a token bound at /token must be presented with the DPoP scheme and a fresh proof by the same key', async () => {
    await upload('dpop-1', { email: 'ivy@example.org' });
    const { qr } = await bodyOf(await notify('dpop-1'));
    const code = (await offerFrom(qr.deep_link)).grants[GRANT]['pre-authorized_code'];
    const pin = await waitForPin('ivy@example.org');
    const dpopKey = await generateKeyPair('ES256');
    const dpopJwk = await exportJWK(dpopKey.publicKey);
    const dpopProof = (htm: string, htu: string, accessToken?: string) =>
      new SignJWT({ htm, htu, jti: crypto.randomUUID(), ...(accessToken ? { ath: createHash('sha256').update(accessToken).digest('base64url') } : {}) })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: dpopJwk })
        .setIssuedAt()
        .sign(dpopKey.privateKey);
    const tokenRes = await fetch(`${base}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: await dpopProof('POST', 'https://issuer.example.org/token') },
      body: new URLSearchParams({ grant_type: GRANT, 'pre-authorized_code': code, tx_code: pin }),
    });
    const tokenBody = await bodyOf(tokenRes);
    assert.equal(tokenBody.token_type, 'DPoP');
    const { proof } = await holder();
    const request = async () => JSON.stringify({ credential_configuration_id: 'urn:eudi:diploma:1', proofs: { jwt: [await proof({ nonce: await nonce() })] } });
    const asBearer = await fetch(`${base}/credential`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenBody.access_token}` }, body: await request() });
    assert.equal(asBearer.status, 401);
    assert.equal((await bodyOf(asBearer)).error, 'invalid_dpop_proof');
    const replayed = await dpopProof('POST', 'https://issuer.example.org/credential', tokenBody.access_token);
    const ok = await fetch(`${base}/credential`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `DPoP ${tokenBody.access_token}`, dpop: replayed }, body: await request() });
    assert.equal(ok.status, 200, JSON.stringify(await bodyOf(ok.clone())));
    const again = await fetch(`${base}/credential`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `DPoP ${tokenBody.access_token}`, dpop: replayed }, body: await request() });
    assert.equal(again.status, 401, 'a DPoP proof is single use (jti)');
    const otherKey = await generateKeyPair('ES256');
    const foreign = await new SignJWT({ htm: 'POST', htu: 'https://issuer.example.org/credential', jti: crypto.randomUUID(), ath: createHash('sha256').update(tokenBody.access_token).digest('base64url') })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(otherKey.publicKey) })
      .setIssuedAt()
      .sign(otherKey.privateKey);
    const stolen = await fetch(`${base}/credential`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `DPoP ${tokenBody.access_token}`, dpop: foreign }, body: await request() });
    assert.equal(stolen.status, 401, 'a proof by another key does not unlock the token');
  });

  test('with issuer.dpop_required the token endpoint refuses a request without a DPoP proof, and metadata lists the DPoP algorithms', async () => {
    const strict = await startGateway(
      loadTestConfig(
        testConfigFile((f) => {
          f.issuer = { pre_authorized_code: { enabled: true, pin_required: true, code_ttl: CODE_TTL }, dpop_required: true };
        }),
        { DATABASE_URL: database.url, TEMPORAL_ADDRESS: testEnv().temporalAddress, PORT: '0', ISSUER_URL: 'https://issuer.example.org' },
      ),
      createLogger('silent'),
    );
    try {
      const res = await fetch(`${strict.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: GRANT, 'pre-authorized_code': 'x', tx_code: '123456' }) });
      assert.equal(res.status, 400);
      assert.equal((await bodyOf(res)).error, 'invalid_dpop_proof');
      const as = await bodyOf(await fetch(`${strict.url}/.well-known/oauth-authorization-server`));
      assert.ok(as.dpop_signing_alg_values_supported.includes('ES256'));
    } finally {
      await strict.close();
    }
  });

  test('several proofs give several credentials, one per key (batch issuance)', async () => {
    const accessToken = await redeemed('offer-6', 'frank@example.org');
    const [a, b] = [await holder(), await holder()];
    const c = await nonce();
    const res = await credential(accessToken, { credential_configuration_id: 'urn:eudi:diploma:1', proofs: { jwt: [await a.proof({ nonce: c }), await b.proof({ nonce: c })] } });
    const body = await bodyOf(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.credentials.length, 2);
  });

  test('proof and request errors: nonce replay, missing nonce, wrong aud, stale iat, wrong typ, unknown configuration, no token', async () => {
    const accessToken = await redeemed('offer-7', 'gina@example.org');
    const { proof } = await holder();
    const used = await nonce();
    assert.equal((await credential(accessToken, { credential_configuration_id: 'urn:eudi:diploma:1', proofs: { jwt: [await proof({ nonce: used })] } })).status, 200);
    const cases: [string, unknown, string][] = [
      ['nonce replay', { credential_configuration_id: 'urn:eudi:diploma:1', proofs: { jwt: [await proof({ nonce: used })] } }, 'invalid_nonce'],
      ['no nonce', { credential_configuration_id: 'urn:eudi:diploma:1', proofs: { jwt: [await proof({})] } }, 'invalid_nonce'],
      ['wrong aud', { credential_configuration_id: 'urn:eudi:diploma:1', proofs: { jwt: [await proof({ nonce: await nonce(), aud: 'https://evil.example' })] } }, 'invalid_proof'],
      ['stale iat', { credential_configuration_id: 'urn:eudi:diploma:1', proofs: { jwt: [await proof({ nonce: await nonce(), iat: Math.floor(Date.now() / 1000) - 3600 })] } }, 'invalid_proof'],
      ['wrong typ', { credential_configuration_id: 'urn:eudi:diploma:1', proofs: { jwt: [await proof({ nonce: await nonce() }, 'JWT')] } }, 'invalid_proof'],
      ['unknown configuration', { credential_configuration_id: 'urn:example:employee:1', proofs: { jwt: [await proof({ nonce: await nonce() })] } }, 'unknown_credential_configuration'],
      ['no proofs', { credential_configuration_id: 'urn:eudi:diploma:1' }, 'invalid_proof'],
      ['malformed', { proofs: 'x' }, 'invalid_credential_request'],
      ['an RSA key, which no credential can be bound to', { credential_configuration_id: 'urn:eudi:diploma:1', proofs: { jwt: [await rsaProof(await nonce())] } }, 'invalid_proof'],
    ];
    for (const [name, body, error] of cases) {
      const res = await credential(accessToken, body);
      assert.equal(res.status, 400, name);
      assert.equal((await bodyOf(res)).error, error, name);
    }
    const anonymous = await fetch(`${base}/credential`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(anonymous.status, 401);
    assert.equal((await bodyOf(anonymous)).error, 'invalid_token');
  });

  test('an offer not redeemed within code_ttl expires; a new notification then starts a fresh offer', async () => {
    await upload('offer-4', { email: 'carol@example.org' });
    // Its own gateway with a short code_ttl, on the same worker: only this offer races a short clock, and the test waits for it to run out.
    const shortTtl = await startGateway(offerConfig(SHORT_CODE_TTL), createLogger('silent'));
    let first;
    try {
      first = await bodyOf(await fetch(`${shortTtl.url}/api/v1/notification`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY }, body: JSON.stringify({ authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: 'offer-4' }) }));
    } finally {
      await shortTtl.close();
    }
    const code = (await offerFrom(first.qr.deep_link)).grants[GRANT]['pre-authorized_code'];
    const handle = client.workflow.getHandle('offer/hr.example.org/urn:eudi:diploma:1/offer-4');
    assert.equal((await handle.result()).state, 'EXPIRED');
    assert.equal((await bodyOf(await token(code, await waitForPin('carol@example.org')))).error, 'invalid_grant');
    assert.equal((await fetch(`${base}${new URL(decodeURIComponent(first.qr.deep_link.split('=')[1])).pathname}`)).status, 404);
    const second = await bodyOf(await notify('offer-4'));
    assert.notEqual(second.qr.deep_link, first.qr.deep_link);
    // The authentic source's notification_endpoint is told, by a durable delivery workflow.
    for (let i = 0; i < 100 && !hooks.events.some((e) => e.type === 'credential_offer.expired' && e.data.document_id === 'offer-4'); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(hooks.events.some((e) => e.type === 'credential_offer.expired' && e.data.document_id === 'offer-4'), JSON.stringify(hooks.events));
  });

  test('deleting a document cancels its running offer, and its code no longer redeems', async () => {
    await upload('offer-8', { email: 'hank@example.org' });
    const { qr } = await bodyOf(await notify('offer-8'));
    const code = (await offerFrom(qr.deep_link)).grants[GRANT]['pre-authorized_code'];
    const pin = await waitForPin('hank@example.org');
    const res = await fetch(`${base}/api/v1/document`, { method: 'DELETE', headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY }, body: JSON.stringify({ authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: 'offer-8' }) });
    assert.equal(res.status, 200);
    assert.equal((await client.workflow.getHandle('offer/hr.example.org/urn:eudi:diploma:1/offer-8').result()).state, 'CANCELLED');
    assert.equal((await bodyOf(await token(code, pin))).error, 'invalid_grant');
  });

  test('with pin_delivery: authentic_source the PIN comes back in the notification response and no e-mail is sent', async () => {
    const up = await fetch(`${base}/api/v1/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': REGISTRY_API_KEY },
      body: JSON.stringify({ meta: { authentic_source: 'registry.example.org', vct: 'urn:example:licence:1', document_id: 'lic-1' }, identities: [{ family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15', email: 'licence@example.org' }], document_data: { category: 'B' } }),
    });
    assert.equal(up.status, 200);
    const res = await fetch(`${base}/api/v1/notification`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': REGISTRY_API_KEY }, body: JSON.stringify({ authentic_source: 'registry.example.org', vct: 'urn:example:licence:1', document_id: 'lic-1' }) });
    const body = await bodyOf(res);
    assert.match(body.tx_code, /^\d{6}$/);
    const code = (await offerFrom(body.qr.deep_link)).grants[GRANT]['pre-authorized_code'];
    assert.equal((await token(code, body.tx_code)).status, 200);
    assert.ok(!smtp.mails.some((m) => m.to.includes('licence@example.org')), 'no PIN e-mail');
  });

  test('another source cannot offer this source\'s documents (403 FORBIDDEN)', async () => {
    const res = await fetch(`${base}/api/v1/notification`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': REGISTRY_API_KEY },
      body: JSON.stringify({ authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: 'offer-1' }),
    });
    assert.equal(res.status, 403);
  });

  test('a batch starts one offer per document with bounded concurrency and reports each one; a repeat finds the same batch', async () => {
    for (const id of ['batch-a', 'batch-b', 'batch-c']) await upload(id, { email: `${id}@example.org` });
    const request = { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_ids: ['batch-a', 'batch-b', 'batch-c', 'no-such-doc'] };
    const post = () => fetch(`${base}/api/v1/notification/batch`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY }, body: JSON.stringify(request) });
    const first = await bodyOf(await post());
    assert.equal(first.data.total, 4);
    let view = first;
    for (let i = 0; i < 100 && view.data.state !== 'DONE'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      view = await bodyOf(await fetch(`${base}/api/v1/notification/batch/${first.data.batch_id}`, { headers: { 'x-api-key': TEST_DEV_API_KEY } }));
    }
    assert.equal(view.data.state, 'DONE');
    const byId = Object.fromEntries(view.data.documents.map((d: { document_id: string; status: string }) => [d.document_id, d]));
    assert.equal(byId['batch-a'].status, 'offered');
    assert.match(byId['batch-a'].deep_link, /^openid-credential-offer:\/\/\?credential_offer_uri=/);
    assert.equal(byId['no-such-doc'].status, 'document_not_found');
    assert.equal((await client.workflow.getHandle('offer/hr.example.org/urn:eudi:diploma:1/batch-b').query(offerStateQuery)).state, 'OFFERED');
    assert.match(await waitForPin('batch-c@example.org'), /^\d{6}$/);
    // The same documents map to the same batch workflow (its id is the business key); once that batch is done, a
    // repeat runs it again under a new random batch id (see notification-batch-authorization.test.ts).
    assert.equal((await bodyOf(await post())).data.workflow_id, first.data.workflow_id);
    const foreign = await fetch(`${base}/api/v1/notification/batch/${first.data.batch_id}`, { headers: { 'x-api-key': REGISTRY_API_KEY } });
    assert.equal(foreign.status, 404);
  });

  test('a document past its validity is not offered (409 DOCUMENT_NOT_VALID); an unknown one is 404', async () => {
    await upload('offer-old', { email: 'dan@example.org', validTo: 1_600_000_000 });
    const res = await notify('offer-old');
    assert.equal(res.status, 409);
    assert.equal((await bodyOf(res)).error.code, 'DOCUMENT_NOT_VALID');
    assert.equal((await notify('nope')).status, 404);
  });

  test('the token endpoint speaks OAuth errors: unsupported_grant_type and an unknown code', async () => {
    const res = await fetch(`${base}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=authorization_code&code=x' });
    assert.equal((await bodyOf(res)).error, 'unsupported_grant_type');
    assert.equal((await bodyOf(await token('not-a-code', '123456'))).error, 'invalid_grant');
  });

  test('issuer metadata lists a credential configuration per type, and the AS metadata allows anonymous pre-authorized access', async () => {
    const meta = await bodyOf(await fetch(`${base}/.well-known/openid-credential-issuer`));
    assert.equal(meta.credential_issuer, 'https://issuer.example.org');
    assert.equal(meta.nonce_endpoint, 'https://issuer.example.org/nonce');
    const diploma = meta.credential_configurations_supported['urn:eudi:diploma:1'];
    assert.equal(diploma.format, 'dc+sd-jwt');
    assert.equal(diploma.vct, 'urn:eudi:diploma:1');
    assert.deepEqual(diploma.credential_signing_alg_values_supported, ['ES256']);
    assert.ok(diploma.credential_metadata.claims.some((c: { path: string[] }) => c.path[0] === 'degree_type'));
    const as = await bodyOf(await fetch(`${base}/.well-known/oauth-authorization-server`));
    assert.equal(as.token_endpoint, 'https://issuer.example.org/token');
    assert.equal(as['pre-authorized_grant_anonymous_access_supported'], true);
  });
});

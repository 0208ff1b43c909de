import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createHash, randomUUID, webcrypto } from 'node:crypto';
import { createServer } from 'node:net';
import { inflateSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import * as x509 from '@peculiar/x509';
import { getListFromStatusListJWT } from '@sd-jwt/jwt-status-list';
import { Decoder, Tag } from 'cbor-x';
import { createLocalJWKSet, decodeJwt, type JSONWebKeySet, jwtVerify } from 'jose';
import type { ActivityDeps } from '../../activities';
import type { IssuanceService } from '../../src/credentials/issuance-service';
import { createLogger } from '../../src/logger';
import { createActivityDeps } from '../../src/main/activity-deps';
import { type RunningPart, startGateway } from '../../src/main/issuer-parts';
import { revocationStateQuery, revocationWorkflowId } from '../../workflows/contracts/revocation';
import { decodeIssuerSigned, sign1SigStructure } from '../support/credential-verifiers';
import { bitstringBitAt, expandEncodedList } from '../support/data-integrity-verifier';
import { createWallet } from '../support/oid4vci-wallet';
import { createTestDatabase, loadTestConfig, TEST_DEV_API_KEY, testConfigFile, testEnv, uniqueName } from '../support/test-services';
import { startTestWorker, type TestWorker } from '../support/test-worker';
import { startHookReceiver } from '../support/hook-receiver';

/**
 * Issue 17: status lists for every format, revocation, suspension and scheduled revocation, against
 * real Temporal, PostgreSQL and HTTP. Credentials are collected through the real OpenID4VCI flow by
 * an independent wallet (@openid4vc/openid4vci); the lists are decoded with independent code:
 * `@sd-jwt/jwt-status-list` for the JWT, our own zlib/gzip reading (checked against the specs' test
 * vectors first) for the CWT and the Bitstring Status List.
 */
const bodyOf = (res: Response): Promise<any> => res.json();
const CLIENT_TOKEN = 'status-client-token-0123456789';
const OTHER_CLIENT_TOKEN = 'status-other-token-9876543210';
const IDENTITY = { authentic_source_person_id: 'P-1', family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15' };
const cborDecoder = new Decoder({ mapsAsObjects: false, useRecords: false });

const DIPLOMA = { vct: 'urn:eudi:diploma:1', data: { degree_type: 'Bachelor of Science', field_of_study: 'Computer Science', issuing_institution: 'Example University', graduation_date: '2025-05-15' } };
const MDL = {
  vct: 'org.iso.18013.5.1.mDL',
  data: { family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15', issue_date: '2024-01-01', expiry_date: '2034-01-01', issuing_country: 'SE', issuing_authority: 'Transportstyrelsen', document_number: 'SE1234567', driving_privileges: [{ vehicle_category_code: 'B', issue_date: '2020-01-01', expiry_date: '2030-01-01' }], un_distinguishing_sign: 'S' },
};
const EMPLOYMENT = { vct: 'EmploymentCredential', data: { employer: 'Example AB', jobTitle: 'Engineer' } };

/** draft-ietf-oauth-status-list §4.1: the status at `idx` of a packed list of `bits` per entry, least significant bits first. */
function tokenStatusAt(packed: Uint8Array, bits: number, idx: number): number {
  const perByte = 8 / bits;
  return (packed[Math.floor(idx / perByte)]! >> ((idx % perByte) * bits)) & ((1 << bits) - 1);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function eventually(check: () => Promise<void>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    try {
      await check();
      return Date.now() - started;
    } catch (err) {
      if (Date.now() - started > timeoutMs) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

test('our bit readers decode the specs\' test vectors (draft-ietf-oauth-status-list §4.1 examples; Bitstring Status List §3.1 example)', () => {
  // 1 bit per status: statuses 1,0,0,1,1,1,0,1, 1,1,0,0,0,1,0,1 -> 0xB9 0xA3.
  const one = new Uint8Array(inflateSync(Buffer.from('eNrbuRgAAhcBXQ', 'base64url')));
  assert.deepEqual([...Array(16).keys()].map((i) => tokenStatusAt(one, 1, i)), [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]);
  // 2 bits per status: 1,2,0,3,0,1,0,1,1,2,3,3 -> 0xC9 0x44 0xF9.
  const two = new Uint8Array(inflateSync(Buffer.from('eNo76fITAAPfAgc', 'base64url')));
  assert.deepEqual([...Array(12).keys()].map((i) => tokenStatusAt(two, 2, i)), [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]);
  // The W3C example list: 131,072 entries (16 KiB), all zero.
  const w3c = expandEncodedList('uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA');
  assert.equal(w3c.length * 8, 131_072);
  assert.ok(w3c.every((b) => b === 0));
  assert.equal(bitstringBitAt(Uint8Array.of(0x80), 0), 1, 'MSB first');
});

describe('status lists, revocation and suspension (issue 17, seed 000 and 001)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: RunningPart;
  let worker: TestWorker;
  let base: string;
  let realIssuance: IssuanceService;
  let config: ReturnType<typeof loadTestConfig>;
  let hooks: Awaited<ReturnType<typeof startHookReceiver>>;
  /** Documents whose first signing attempt fails with a transient error (the injected failure). */
  const failOnce = new Set<string>();
  const failedAttemptIdx: number[] = [];
  const taskQueue = uniqueName('status');

  const issuanceWithFailure = (): IssuanceService => ({
    ...realIssuance,
    async makeSdJwt(request) {
      const marker = request.documentData.field_of_study as string;
      if (failOnce.delete(marker)) {
        failedAttemptIdx.push(request.status!.status_list.idx);
        throw new Error('injected signing failure');
      }
      return realIssuance.makeSdJwt(request);
    },
  });

  before(async () => {
    database = await createTestDatabase();
    hooks = await startHookReceiver();
    const port = await freePort();
    config = loadTestConfig(
      testConfigFile((f) => {
        f.issuer = { pre_authorized_code: { enabled: true, pin_required: false, code_ttl: 600 } };
        f.gateway = { rate_limit: { requests_per_second: 100_000, burst: 100_000 } };
        (f.authentic_sources as Record<string, Record<string, unknown>>)['hr.example.org']!.notification_endpoint = { url: hooks.url };
        // An issuer-wide subscriber of seed 001 credential revocations (no source's: no authentic_sources filter).
        f.webhooks = { ...((f.webhooks as Record<string, unknown> | undefined) ?? {}), subscribers: { status_hub: { url: hooks.url, events: ['credential.revoked'] } } };
        f.api_clients = {
          caro: { token_hash: `sha256:${createHash('sha256').update(CLIENT_TOKEN).digest('hex')}` },
          other: { token_hash: `sha256:${createHash('sha256').update(OTHER_CLIENT_TOKEN).digest('hex')}` },
        };
      }),
      { DATABASE_URL: database.url, TEMPORAL_ADDRESS: testEnv().temporalAddress, TEMPORAL_TASK_QUEUE: taskQueue, PORT: String(port), ISSUER_URL: `http://127.0.0.1:${port}`, STATUS_LIST_TTL: '120' },
    );
    realIssuance = (await createActivityDeps(config, database.db)).issuance;
    worker = await startTestWorker(config, database.db, { issuance: issuanceWithFailure() } as Partial<ActivityDeps>);
    gateway = await startGateway(config, createLogger('silent'));
    base = config.issuerUrl;
  });
  after(async () => {
    await gateway?.close();
    await worker?.close();
    await new Promise((r) => hooks?.server.close(() => r(undefined)));
    await database?.drop();
  });

  const api = (path: string, body: unknown, headers: Record<string, string> = { 'x-api-key': TEST_DEV_API_KEY }) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const upload = async (vct: string, documentId: string, data: Record<string, unknown>) => {
    const res = await api('/api/v1/upload', { meta: { authentic_source: 'hr.example.org', vct, document_id: documentId }, identities: [IDENTITY], document_data: data });
    assert.equal(res.status, 200, JSON.stringify(await res.clone().json()));
  };
  const jwks = async (): Promise<JSONWebKeySet> => bodyOf(await fetch(`${base}/.well-known/jwks.json`));

  /** Uploads a document and collects `keys` credentials of it through the wallet flow (one batch request, OpenID4VCI 1.0 §8.2). */
  async function collect(type: { vct: string; data: Record<string, unknown> }, documentId: string, keys = 1): Promise<string[]> {
    await upload(type.vct, documentId, type.data);
    return pickUp(type, documentId, keys);
  }

  /** Collects `keys` credentials of an uploaded document through the wallet flow, from its running offer or a new one. */
  async function pickUp(type: { vct: string; data: Record<string, unknown> }, documentId: string, keys = 1): Promise<string[]> {
    const notification = await api('/api/v1/notification', { authentic_source: 'hr.example.org', vct: type.vct, document_id: documentId });
    const deepLink = (await bodyOf(notification)).qr.deep_link as string;
    const wallet = createWallet();
    const { client } = wallet;
    try {
      const offer = await client.resolveCredentialOffer(deepLink);
      const issuerMetadata = await client.resolveIssuerMetadata(offer.credential_issuer);
      const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer: offer, issuerMetadata });
      const proofs: string[] = [];
      for (let i = 0; i < keys; i++) {
        const { c_nonce } = await client.requestNonce({ issuerMetadata });
        const signer = await wallet.newKey();
        proofs.push((await client.createCredentialRequestJwtProof({ issuerMetadata, credentialConfigurationId: type.vct, signer, nonce: c_nonce })).jwt);
      }
      const { credentialResponse } = await client.retrieveCredentials({ issuerMetadata, accessToken: accessTokenResponse.access_token, credentialConfigurationId: type.vct, proofs: { jwt: proofs } });
      return credentialResponse.credentials!.map((c) => (c as { credential: string }).credential);
    } catch (err) {
      const e = err as Error & { errorResponse?: unknown };
      assert.fail(`wallet flow failed: ${e.message} ${JSON.stringify(e.errorResponse ?? '')}\n${wallet.transcript()}`);
    }
  }

  const sdJwtStatus = (credential: string) => (decodeJwt(credential.split('~')[0]!) as { status: { status_list: { idx: number; uri: string } } }).status.status_list;
  const pathOf = (uri: string) => new URL(uri).pathname;

  /** Fetches the JWT Status List Token, checks its signature against the JWKS and its claims (draft §5.1), and decodes it with @sd-jwt/jwt-status-list. */
  async function jwtList(uri: string) {
    const res = await fetch(`${base}${pathOf(uri)}`, { headers: { accept: 'application/statuslist+jwt' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type')?.split(';')[0], 'application/statuslist+jwt');
    const jwt = await res.text();
    const { payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(await jwks()), { typ: 'statuslist+jwt' });
    assert.equal(payload.sub, uri, '§5.1: sub is the URI of the Status List Token');
    assert.ok(typeof payload.iat === 'number' && typeof payload.exp === 'number' && payload.exp > payload.iat);
    const ttl = payload.ttl as number;
    const maxAge = Number(/max-age=(\d+)/.exec(res.headers.get('cache-control') ?? '')?.[1]);
    assert.ok(maxAge <= ttl, `Cache-Control max-age ${maxAge} <= ttl ${ttl}`);
    assert.ok(protectedHeader.kid);
    return { list: getListFromStatusListJWT(jwt), payload };
  }

  test('an SD-JWT VC collected by the wallet carries status.status_list {idx, uri}; its JWT list says VALID, then INVALID within 2 s of the revocation (draft §6.1, §7.1)', async () => {
    const documentId = `diploma-${randomUUID()}`;
    const [credential] = await collect(DIPLOMA, documentId);
    const { idx, uri } = sdJwtStatus(credential!);
    assert.match(uri, /\/status-lists\/token\/\d+$/);
    const before = await jwtList(uri);
    assert.equal(before.list.getBitsPerStatus(), 2);
    assert.equal(before.list.getStatus(idx), 0, 'VALID');
    assert.equal(before.payload.status_list && (before.payload.status_list as { aggregation_uri?: string }).aggregation_uri, `${base}/status-lists/token`);

    const revoked = await api('/api/v1/document/revoke', { authentic_source: 'hr.example.org', vct: DIPLOMA.vct, revocation: { id: documentId, reason: 'Certificate withdrawn' } });
    assert.equal(revoked.status, 200);
    assert.deepEqual((await bodyOf(revoked)).data, { status: 'revoked', credentials_revoked: 1 });
    const elapsed = await eventually(async () => assert.equal((await jwtList(uri)).list.getStatus(idx), 1, 'INVALID'), 2000);
    assert.ok(elapsed <= 2000);

    // Seed 000 error codes, in the seed's error body.
    const again = await api('/api/v1/document/revoke', { authentic_source: 'hr.example.org', vct: DIPLOMA.vct, revocation: { id: documentId } });
    assert.equal(again.status, 409);
    assert.equal((await bodyOf(again)).error.code, 'ALREADY_REVOKED');
    const missing = await api('/api/v1/document/revoke', { authentic_source: 'hr.example.org', vct: DIPLOMA.vct, revocation: { id: 'no-such-document' } });
    assert.equal(missing.status, 404);
    assert.equal((await bodyOf(missing)).error.code, 'DOCUMENT_NOT_FOUND');
    const malformed = await api('/api/v1/document/revoke', { authentic_source: 'hr.example.org', vct: DIPLOMA.vct, revocation: { id: documentId, revoke_at: 'tomorrow' } });
    assert.equal(malformed.status, 400);
    assert.equal((await bodyOf(malformed)).error.code, 'INVALID_FORMAT');
    // A revoked document is not offered again.
    const notification = await api('/api/v1/notification', { authentic_source: 'hr.example.org', vct: DIPLOMA.vct, document_id: documentId });
    assert.equal(notification.status, 409);
    assert.equal((await bodyOf(notification)).error.code, 'ALREADY_REVOKED');
  });

  test('every credential of a batch gets its own index, and revoking the document revokes all copies', async () => {
    const documentId = `diploma-batch-${randomUUID()}`;
    const credentials = await collect(DIPLOMA, documentId, 3);
    assert.equal(credentials.length, 3);
    const refs = credentials.map(sdJwtStatus);
    assert.equal(new Set(refs.map((r) => `${r.uri}#${r.idx}`)).size, 3, 'three distinct indices');
    await api('/api/v1/document/revoke', { authentic_source: 'hr.example.org', vct: DIPLOMA.vct, revocation: { id: documentId } });
    const { list } = await jwtList(refs[0]!.uri);
    for (const r of refs) assert.equal(list.getStatus(r.idx), 1);
  });

  test('suspension sets SUSPENDED (2) and reinstatement VALID (0); a revoked document is never reinstated (draft §7.1)', async () => {
    const documentId = `diploma-suspend-${randomUUID()}`;
    const [credential] = await collect(DIPLOMA, documentId);
    const { idx, uri } = sdJwtStatus(credential!);
    const ref = { authentic_source: 'hr.example.org', vct: DIPLOMA.vct, document_id: documentId };
    assert.equal((await api('/api/v1/document/suspend', ref)).status, 200);
    await eventually(async () => assert.equal((await jwtList(uri)).list.getStatus(idx), 2), 2000);
    assert.equal((await api('/api/v1/document/reinstate', ref)).status, 200);
    await eventually(async () => assert.equal((await jwtList(uri)).list.getStatus(idx), 0), 2000);
    assert.equal((await api('/api/v1/document/revoke', { authentic_source: ref.authentic_source, vct: ref.vct, revocation: { id: documentId } })).status, 200);
    const reinstate = await api('/api/v1/document/reinstate', ref);
    assert.equal(reinstate.status, 409);
    assert.equal((await bodyOf(reinstate)).error.code, 'ALREADY_REVOKED');
    assert.equal((await jwtList(uri)).list.getStatus(idx), 1);

    // Each change reached the source's notification_endpoint: type, id, time and business ids only.
    const ofDocument = () => hooks.events.filter((e) => e.data.document_id === documentId && e.type.startsWith('document.'));
    await eventually(async () => assert.equal(ofDocument().length, 3), 10_000);
    assert.deepEqual(ofDocument().map((e) => e.type).sort(), ['document.reinstated', 'document.revoked', 'document.suspended']);
    for (const e of ofDocument()) {
      assert.match(e.id, /^status\.[A-Za-z0-9_-]{22}$/);
      assert.ok(!Number.isNaN(Date.parse(e.occurred_at)));
      assert.deepEqual(e.data, { vct: DIPLOMA.vct, document_id: documentId, credentials_changed: 1 });
    }
  });

  test('an mdoc\'s MSO carries status {status_list: {idx, uri}}; the CWT list is a COSE_Sign1 whose x5chain chains to the mdoc\'s IACA (draft §5.2, §6.3)', async () => {
    const documentId = `mdl-${randomUUID()}`;
    const [credential] = await collect(MDL, documentId);
    const { mso } = decodeIssuerSigned(Buffer.from(credential!, 'base64url'));
    const statusList = (mso.get('status') as Map<string, Map<string, unknown>>).get('status_list')!;
    const idx = statusList.get('idx') as number;
    const uri = statusList.get('uri') as string;
    const { iacas } = await bodyOf(await fetch(`${base}/.well-known/iacas`));

    const cwtStatus = async () => {
      const res = await fetch(`${base}${pathOf(uri)}`, { headers: { accept: 'application/statuslist+cwt' } });
      assert.equal(res.headers.get('content-type')?.split(';')[0], 'application/statuslist+cwt');
      const tagged = cborDecoder.decode(new Uint8Array(await res.arrayBuffer())) as Tag;
      assert.ok(tagged instanceof Tag && tagged.tag === 18, 'COSE_Sign1_Tagged (RFC 9052 §4.2)');
      const [protectedBytes, unprotected, payload, signature] = tagged.value as [Uint8Array, Map<number, unknown>, Uint8Array, Uint8Array];
      const header = cborDecoder.decode(protectedBytes) as Map<number, unknown>;
      assert.equal(header.get(1), -7);
      assert.equal(header.get(16), 'application/statuslist+cwt', 'protected header 16 (typ)');
      const x5chain = unprotected.get(33);
      const leaf = new x509.X509Certificate((Array.isArray(x5chain) ? x5chain[0] : x5chain) as Uint8Array);
      const key = await leaf.publicKey.export({ name: 'ECDSA', namedCurve: 'P-256' }, ['verify'], webcrypto as never);
      assert.ok(await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key as webcrypto.CryptoKey, signature, sign1SigStructure(protectedBytes, payload)), 'signature verifies with the x5chain leaf');
      let chained = false;
      for (const pem of iacas as string[]) {
        const iaca = new x509.X509Certificate(pem);
        if (leaf.issuer === iaca.subject && (await leaf.verify({ publicKey: iaca.publicKey, date: new Date() }, webcrypto as never))) chained = true;
      }
      assert.ok(chained, 'the list signer chains to a published IACA, as the mdoc does');
      const claims = cborDecoder.decode(payload) as Map<number, unknown>;
      assert.equal(claims.get(2), uri, 'claim 2 (sub)');
      assert.ok((claims.get(4) as number) > (claims.get(6) as number), 'claims 4 (exp) after 6 (iat)');
      assert.equal(claims.get(65534), 120, 'claim 65534 (ttl)');
      const list = claims.get(65533) as Map<string, unknown>;
      assert.equal(list.get('bits'), 2);
      return tokenStatusAt(new Uint8Array(inflateSync(list.get('lst') as Uint8Array)), 2, idx);
    };
    assert.equal(await cwtStatus(), 0);
    await api('/api/v1/document/revoke', { authentic_source: 'hr.example.org', vct: MDL.vct, revocation: { id: documentId } });
    await eventually(async () => assert.equal(await cwtStatus(), 1), 2000);
  });

  /**
   * The BitstringStatusListCredential at `url` (JOSE-secured, verified against the JWKS), and its
   * decoded bits. A Data Integrity credential's `/di` URL is asked for its JOSE form by Accept, whose
   * `id` is the URL without `/di` (test/integration/data-integrity-status-list.test.ts verifies the
   * Data Integrity form).
   */
  async function bitstringList(url: string, purpose = 'revocation') {
    const dataIntegrity = url.endsWith('/di');
    const res = await fetch(`${base}${pathOf(url)}`, dataIntegrity ? { headers: { accept: 'application/vc+jwt' } } : {});
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type')?.split(';')[0], 'application/vc+jwt');
    const { payload } = await jwtVerify(await res.text(), createLocalJWKSet(await jwks()), { typ: 'vc+jwt' });
    assert.deepEqual(payload.type, ['VerifiableCredential', 'BitstringStatusListCredential']);
    assert.equal(payload.id, dataIntegrity ? url.slice(0, -'/di'.length) : url);
    const subject = payload.credentialSubject as { type: string; statusPurpose: string; encodedList: string };
    assert.equal(subject.type, 'BitstringStatusList');
    assert.equal(subject.statusPurpose, purpose);
    const bits = expandEncodedList(subject.encodedList);
    assert.ok(bits.length * 8 >= 131_072, 'at least 131,072 entries (§6.1)');
    return bits;
  }

  type BitstringEntry = { type: string; statusPurpose: string; statusListIndex: string; statusListCredential: string };
  const w3cEntries = (credential: string) => (decodeJwt(credential) as { credentialStatus: BitstringEntry[] }).credentialStatus;

  test('a jwt_vc_json credential collected by the wallet has a revocation and a suspension BitstringStatusListEntry: suspend sets only the suspension bit, reinstate clears it, revoke sets the revocation bit for good (Bitstring Status List §2.1, §3.2)', async () => {
    const documentId = `employment-${randomUUID()}`;
    const [credential] = await collect(EMPLOYMENT, documentId);
    const entries = w3cEntries(credential!);
    assert.ok(Array.isArray(entries), 'credentialStatus is an array of entries (VC DM 2.0 §4.10)');
    assert.deepEqual(entries.map((e) => `${e.type}/${e.statusPurpose}`), ['BitstringStatusListEntry/revocation', 'BitstringStatusListEntry/suspension']);
    const [revocation, suspension] = entries as [BitstringEntry, BitstringEntry];
    assert.match(revocation.statusListCredential, /\/status-lists\/w3c\/revocation\/\d+$/);
    assert.match(suspension.statusListCredential, /\/status-lists\/w3c\/suspension\/\d+$/);
    /** Both bits as read from the two served lists (each verified against the JWKS and checked for its statusPurpose). */
    const bits = async () => ({
      revocation: bitstringBitAt(await bitstringList(revocation.statusListCredential, 'revocation'), Number(revocation.statusListIndex)),
      suspension: bitstringBitAt(await bitstringList(suspension.statusListCredential, 'suspension'), Number(suspension.statusListIndex)),
    });
    assert.deepEqual(await bits(), { revocation: 0, suspension: 0 });
    const ref = { authentic_source: 'hr.example.org', vct: EMPLOYMENT.vct, document_id: documentId };

    const suspended = await api('/api/v1/document/suspend', ref);
    assert.equal(suspended.status, 200);
    await eventually(async () => assert.deepEqual(await bits(), { revocation: 0, suspension: 1 }), 2000);
    assert.equal((await api('/api/v1/document/reinstate', ref)).status, 200);
    await eventually(async () => assert.deepEqual(await bits(), { revocation: 0, suspension: 0 }), 2000);

    // Suspended, then revoked: the revocation bit is set, and a reinstatement is refused and clears nothing.
    assert.equal((await api('/api/v1/document/suspend', ref)).status, 200);
    await eventually(async () => assert.deepEqual(await bits(), { revocation: 0, suspension: 1 }), 2000);
    assert.equal((await api('/api/v1/document/revoke', { authentic_source: ref.authentic_source, vct: ref.vct, revocation: { id: documentId } })).status, 200);
    await eventually(async () => assert.deepEqual(await bits(), { revocation: 1, suspension: 1 }), 2000);
    const reinstate = await api('/api/v1/document/reinstate', ref);
    assert.equal(reinstate.status, 409);
    assert.equal((await bodyOf(reinstate)).error.code, 'ALREADY_REVOKED');
    assert.deepEqual(await bits(), { revocation: 1, suspension: 1 });

    // The Data Integrity form of the suspension list is served beside it (the negotiation of the revocation lists).
    const di = await fetch(`${base}${pathOf(suspension.statusListCredential)}/di`);
    assert.equal(di.status, 200);
    assert.equal(di.headers.get('content-type')?.split(';')[0], 'application/vc');
    assert.equal((await bodyOf(di)).credentialSubject.statusPurpose, 'suspension');
    const openapi = await bodyOf(await fetch(`${base}/openapi.json`));
    for (const path of ['/status-lists/w3c/suspension/{n}', '/status-lists/w3c/suspension/{n}/di']) assert.ok(openapi.paths[path]?.get?.responses?.['404'], `OpenAPI documents ${path}`);
  });

  test('a W3C credential issued before the suspension lists (one revocation entry) still resolves and revokes; suspension changes none of its bits, a reinstatement clears the SUSPENDED an older suspension wrote there', async () => {
    const documentId = `employment-legacy-${randomUUID()}`;
    const [credential] = await collect(EMPLOYMENT, documentId);
    const [revocation, suspension] = w3cEntries(credential!) as [BitstringEntry, BitstringEntry];
    // What an issuer without suspension lists recorded: the credential's revocation entry only.
    const deleted = await database.db('status_list_entries').where({ list_id: `w3c/suspension/${/\d+$/.exec(suspension.statusListCredential)![0]}`, idx: Number(suspension.statusListIndex) }).delete();
    assert.equal(deleted, 1);
    const bit = async () => bitstringBitAt(await bitstringList(revocation.statusListCredential), Number(revocation.statusListIndex));
    const ref = { authentic_source: 'hr.example.org', vct: EMPLOYMENT.vct, document_id: documentId };
    assert.equal(await bit(), 0);
    // What a suspension wrote then: SUSPENDED (2) in the revocation entry, served as bit 1. A reinstatement clears it.
    const revocationEntry = { list_id: `w3c/revocation/${/\d+$/.exec(revocation.statusListCredential)![0]}`, idx: Number(revocation.statusListIndex) };
    assert.equal(await database.db('status_list_entries').where(revocationEntry).update({ status: 2 }), 1);
    await database.db.raw(`select nextval('status_list_change_seq')`);
    await eventually(async () => assert.equal(await bit(), 1), 2000);
    assert.equal((await api('/api/v1/document/reinstate', ref)).status, 200);
    await eventually(async () => assert.equal(await bit(), 0), 2000);
    assert.equal((await api('/api/v1/document/suspend', ref)).status, 200);
    assert.equal(await bit(), 0, 'suspension does not touch the revocation bit');
    assert.equal((await api('/api/v1/document/revoke', { authentic_source: ref.authentic_source, vct: ref.vct, revocation: { id: documentId } })).status, 200);
    await eventually(async () => assert.equal(await bit(), 1), 2000);
  });

  test('seed 001: POST /api/v1/credentials/:id/revoke flips the bit at the URL the credential already carries; owner only; revoking twice is ALREADY_REVOKED', async () => {
    const create = await api(
      '/api/v1/credentials',
      { credentialType: 'IdentityCredential', recipientDid: 'did:example:holder', data: { issuerName: 'X', legalName: 'ABC', streetAddress: 'S', addressLocality: 'L', addressRegion: 'R', postalCode: '1', addressCountry: 'US', parentOrganization: 'P' } },
      { authorization: `Bearer ${CLIENT_TOKEN}` },
    );
    const created = await bodyOf(create);
    assert.equal(create.status, 200, JSON.stringify(created));
    const entry = created.data.credentialStatus as { statusListCredential: string; statusListIndex: string };
    assert.match(entry.statusListCredential, /\/status-lists\/w3c\/revocation\/\d+\/di$/, 'a Data Integrity credential names the Data Integrity list');
    const idx = Number(entry.statusListIndex);
    assert.equal(bitstringBitAt(await bitstringList(entry.statusListCredential), idx), 0);

    const revokePath = `/api/v1/credentials/${created.id}/revoke`;
    const other = await api(revokePath, {}, { authorization: `Bearer ${OTHER_CLIENT_TOKEN}` });
    assert.equal(other.status, 404, 'another client\'s credential does not exist for it');
    const revoked = await api(revokePath, { reason: 'left the programme' }, { authorization: `Bearer ${CLIENT_TOKEN}` });
    assert.equal(revoked.status, 200);
    assert.equal((await bodyOf(revoked)).status, 'revoked');
    await eventually(async () => assert.equal(bitstringBitAt(await bitstringList(entry.statusListCredential), idx), 1), 2000);
    const twice = await api(revokePath, {}, { authorization: `Bearer ${CLIENT_TOKEN}` });
    assert.equal(twice.status, 409);
    assert.equal((await bodyOf(twice)).error.code, 'ALREADY_REVOKED');

    // The status event reaches the subscriber through the webhook delivery workflow, once: ids only (no reason, no credential).
    const ofCredential = () => hooks.events.filter((e) => e.type === 'credential.revoked' && e.data.credential_id === created.id);
    await eventually(async () => assert.equal(ofCredential().length, 1), 10_000);
    const [event] = ofCredential();
    assert.match(event!.id, /^status\.[A-Za-z0-9_-]{22}$/);
    assert.deepEqual(event!.data, { client: 'caro', credential_type: 'IdentityCredential', credential_id: created.id });
    const delivery = await worker.client.workflow.getHandle(`webhook/status_hub/${event!.id}`).result();
    assert.equal((delivery as { state: string }).state, 'DELIVERED');
    const row = await database.db('status_events').where({ id: event!.id }).first();
    assert.ok(row.deliveries_started_at, 'the outbox row is marked started');
  });

  test('a webhook start that fails after the commit is not swallowed: it is retried, logged, left pending, and the Schedule\'s outbox sweep delivers it', async () => {
    const { createStatusEventsRepository } = await import('../../src/db/status-events-repository');
    const { createStatusEventDeliveries } = await import('../../src/temporal/status-event-deliveries');
    const { STATUS_LIST_RESIGN_WORKFLOW_TYPE } = await import('../../workflows/contracts/status-list-resign');
    const documentId = `diploma-outbox-${randomUUID()}`;
    await upload(DIPLOMA.vct, documentId, DIPLOMA.data);
    const statusEvents = createStatusEventsRepository(database.db);
    // The change's transaction records the event (as the suspend route does), then the start fails: Temporal is unreachable.
    const row = await database.db.transaction((trx) => statusEvents.record(trx, { authentic_source: 'hr.example.org', vct: DIPLOMA.vct, document_id: documentId }, 'document.suspended', 0, new Date()));
    let starts = 0;
    const errors: object[] = [];
    const unreachable = { workflow: { start: async () => (starts++, Promise.reject(new Error('14 UNAVAILABLE: connection refused'))) } } as never;
    const failing = createStatusEventDeliveries({ config, temporal: unreachable, statusEvents, logger: { error: (obj) => errors.push(obj) }, backoffMs: 10 });
    assert.equal(await failing.start(row), false);
    assert.equal(starts, 3, 'retried with backoff');
    assert.equal(errors.length, 1);
    assert.deepEqual((errors[0] as { statusEvent: string }).statusEvent, row.id, 'the failure is logged with the event id');
    assert.equal((await database.db('status_events').where({ id: row.id }).first()).deliveries_started_at, null, 'left pending in the outbox');

    // The re-signing Schedule's workflow runs the outbox sweep: the delivery starts and the source gets the event.
    const run = (await worker.client.workflow.execute(STATUS_LIST_RESIGN_WORKFLOW_TYPE, { taskQueue, workflowId: uniqueName('resign-outbox'), args: [{ deliveryGraceSeconds: 0 }] })) as { deliveriesStarted: string[] };
    assert.ok(run.deliveriesStarted.includes(row.id));
    await eventually(async () => assert.equal(hooks.events.filter((e) => e.id === row.id).length, 1), 10_000);
    assert.ok((await database.db('status_events').where({ id: row.id }).first()).deliveries_started_at);
    // A second sweep finds nothing pending for it, and a repeated start does not deliver twice.
    const again = (await worker.client.workflow.execute(STATUS_LIST_RESIGN_WORKFLOW_TYPE, { taskQueue, workflowId: uniqueName('resign-outbox'), args: [{ deliveryGraceSeconds: 0 }] })) as { deliveriesStarted: string[] };
    assert.ok(!again.deliveriesStarted.includes(row.id));
    assert.equal(await createStatusEventDeliveries({ config, temporal: worker.client, statusEvents }).start(row), true);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(hooks.events.filter((e) => e.id === row.id).length, 1, 'delivered once');
  });

  test('a scheduled revocation fires after its revoke_at and not before, across a worker restart in between (durable timer)', async () => {
    const documentId = `diploma-scheduled-${randomUUID()}`;
    const [credential] = await collect(DIPLOMA, documentId);
    const { idx, uri } = sdJwtStatus(credential!);
    const revokeAt = Math.ceil(Date.now() / 1000) + 5;
    const res = await api('/api/v1/document/revoke', { authentic_source: 'hr.example.org', vct: DIPLOMA.vct, revocation: { id: documentId, revoke_at: revokeAt } });
    const body = await bodyOf(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.data.status, 'scheduled');
    const workflowId = revocationWorkflowId('hr.example.org', DIPLOMA.vct, documentId);
    assert.equal(body.data.workflow_id, workflowId);
    const handle = worker.client.workflow.getHandle(workflowId);
    assert.equal((await handle.query(revocationStateQuery)).state, 'SCHEDULED');
    // The worker goes away and comes back while the timer runs.
    await worker.close();
    assert.equal((await jwtList(uri)).list.getStatus(idx), 0, 'not revoked before revoke_at');
    worker = await startTestWorker(config, database.db, { issuance: issuanceWithFailure() } as Partial<ActivityDeps>);
    while (Date.now() < revokeAt * 1000 - 500) {
      assert.equal((await jwtList(uri)).list.getStatus(idx), 0, 'not revoked before revoke_at');
      await new Promise((r) => setTimeout(r, 500));
    }
    const final = await worker.client.workflow.getHandle(workflowId).result();
    assert.equal(final.state, 'REVOKED');
    assert.equal(final.credentialsRevoked, 1);
    assert.ok(Date.now() >= revokeAt * 1000);
    assert.equal((await jwtList(uri)).list.getStatus(idx), 1);
    await eventually(async () => assert.ok(hooks.events.some((e) => e.type === 'document.revoked' && e.data.document_id === documentId), 'the scheduled revocation is reported too'), 10_000);
  });

  test('a scheduled revocation cancelled before it fires revokes nothing', async () => {
    const documentId = `diploma-cancel-${randomUUID()}`;
    const [credential] = await collect(DIPLOMA, documentId);
    const { idx, uri } = sdJwtStatus(credential!);
    const ref = { authentic_source: 'hr.example.org', vct: DIPLOMA.vct, document_id: documentId };
    const scheduled = await api('/api/v1/document/revoke', { authentic_source: ref.authentic_source, vct: ref.vct, revocation: { id: documentId, revoke_at: Math.floor(Date.now() / 1000) + 3600 } });
    assert.equal(scheduled.status, 200);
    const twice = await api('/api/v1/document/revoke', { authentic_source: ref.authentic_source, vct: ref.vct, revocation: { id: documentId, revoke_at: Math.floor(Date.now() / 1000) + 7200 } });
    assert.equal((await bodyOf(twice)).error.code, 'CONFLICT');
    const cancel = await api('/api/v1/document/revoke/cancel', ref);
    assert.equal(cancel.status, 200);
    const final = await worker.client.workflow.getHandle(revocationWorkflowId(ref.authentic_source, ref.vct, documentId)).result();
    assert.equal(final.state, 'CANCELLED');
    assert.equal((await jwtList(uri)).list.getStatus(idx), 0);
    assert.equal((await api('/api/v1/document/revoke/cancel', ref)).status, 404, 'nothing left to cancel');
  });

  test('a signing failure injected during issuance leaves the allocated index free; the retry takes one index', async () => {
    const marker = `Injected ${randomUUID()}`;
    failOnce.add(marker);
    const documentId = `diploma-fail-${randomUUID()}`;
    const [credential] = await collect({ vct: DIPLOMA.vct, data: { ...DIPLOMA.data, field_of_study: marker } }, documentId);
    assert.equal(failedAttemptIdx.length, 1, 'the first attempt failed after allocation');
    const { idx } = sdJwtStatus(credential!);
    const rows = (await database.db('status_list_entries').where({ list_id: 'token/status/0' }).whereIn('idx', [failedAttemptIdx[0]!, idx])) as { idx: number; state: string }[];
    assert.deepEqual(rows.map((r) => [r.idx, r.state]), [[idx, 'issued']], 'only the issued index is held');
  });

  test('a reservation abandoned for good (older than an hour) is freed by the upkeep purge, not by issuance, and its request can no longer record it', async () => {
    const { createStatusListsRepository, STALE_RESERVATION_MS } = await import('../../src/db/status-lists-repository');
    const lists = createStatusListsRepository(database.db);
    const abandonedKey = `test/abandoned/${randomUUID()}`;
    const [abandoned] = await lists.reserve('token', abandonedKey, 1);
    await database.db('status_list_entries').where({ list_id: abandoned!.listId, idx: abandoned!.idx }).update({ allocated_at: new Date(Date.now() - STALE_RESERVATION_MS - 1000) });
    const allocated = async () => ((await lists.list(abandoned!.listId))!).allocated;
    const nextKey = `test/next/${randomUUID()}`;
    await lists.reserve('token', nextKey, 1);
    assert.ok(await database.db('status_list_entries').where({ request_key: abandonedKey, state: 'reserved' }).first(), 'an allocation reads only its own rows: the abandoned one is still there');
    const before = await allocated();
    assert.equal(await lists.releaseStale(1000), 1);
    assert.equal(await database.db('status_list_entries').where({ request_key: abandonedKey }).first(), undefined, 'the abandoned index is free again');
    assert.equal(await allocated(), before - 1, "the list's count follows");
    assert.equal(await lists.releaseStale(1000), 0, 'fresh reservations stay');
    await assert.rejects(database.db.transaction((trx) => lists.markIssued(trx, abandonedKey, ['issued:x'])), /is gone/);
    const requestKey = `test/late/${randomUUID()}`;
    await lists.reserve('token', requestKey, 1);
    await lists.release(requestKey);
    await assert.rejects(database.db.transaction((trx) => lists.markIssued(trx, requestKey, ['issued:x'])), /is gone/);
    await lists.release(nextKey);
  });

  test('concurrent allocations without a lock: every index distinct, the list count exact (Token Status List draft §13.2: random, never reused)', async () => {
    const { createStatusListsRepository } = await import('../../src/db/status-lists-repository');
    const lists = createStatusListsRepository(database.db);
    const before = await database.db('status_list_entries').where({ list_id: 'token/status/0' }).count<{ n: string }[]>('* as n');
    const keys = Array.from({ length: 40 }, () => `test/concurrent/${randomUUID()}`);
    const allocations = (await Promise.all(keys.map((k) => lists.reserve('token', k, 3)))).flat();
    assert.equal(new Set(allocations.map((a) => `${a.listId}#${a.idx}`)).size, 120, 'no index handed out twice');
    const after = await database.db('status_list_entries').where({ list_id: 'token/status/0' }).count<{ n: string }[]>('* as n');
    const list = await lists.list('token/status/0');
    assert.equal(Number(after[0]!.n), Number(before[0]!.n) + 120);
    assert.equal(list!.allocated, Number(after[0]!.n), 'allocated counts exactly the entries');
    const again = await lists.reserve('token', keys[0]!, 3);
    assert.deepEqual(again, allocations.slice(0, 3), 'a retry of a request gets the indices it holds');
    for (const k of keys) await lists.release(k);
  });

  test('an immediate revocation overtakes a scheduled one, whose workflow then ends without revoking again', async () => {
    const documentId = `diploma-overtaken-${randomUUID()}`;
    const [credential] = await collect(DIPLOMA, documentId);
    const { idx, uri } = sdJwtStatus(credential!);
    assert.equal((await api('/api/v1/document/revoke', { authentic_source: 'hr.example.org', vct: DIPLOMA.vct, revocation: { id: documentId, revoke_at: Math.floor(Date.now() / 1000) + 3600 } })).status, 200);
    const now = await api('/api/v1/document/revoke', { authentic_source: 'hr.example.org', vct: DIPLOMA.vct, revocation: { id: documentId, revoke_at: 1735689600 } });
    assert.deepEqual((await bodyOf(now)).data, { status: 'revoked', credentials_revoked: 1 }, 'a past revoke_at (the seed\'s example) revokes now');
    const final = await worker.client.workflow.getHandle(revocationWorkflowId('hr.example.org', DIPLOMA.vct, documentId)).result();
    assert.equal(final.state, 'CANCELLED');
    assert.equal((await jwtList(uri)).list.getStatus(idx), 1);
  });

  test('a batch notification naming a revoked document is ALREADY_REVOKED in the seed\'s error body and starts nothing; a document revoked while a batch runs gets no offer (seed 000 revocation)', async () => {
    const revokedId = `batch-revoked-${randomUUID()}`;
    const freshId = `batch-fresh-${randomUUID()}`;
    await upload(DIPLOMA.vct, revokedId, DIPLOMA.data);
    await upload(DIPLOMA.vct, freshId, DIPLOMA.data);
    assert.equal((await api('/api/v1/document/revoke', { authentic_source: 'hr.example.org', vct: DIPLOMA.vct, revocation: { id: revokedId } })).status, 200);

    const res = await api('/api/v1/notification/batch', { authentic_source: 'hr.example.org', vct: DIPLOMA.vct, document_ids: [freshId, revokedId] });
    assert.equal(res.status, 409);
    const body = await bodyOf(res);
    assert.equal(body.error.code, 'ALREADY_REVOKED');
    assert.match(body.error.message, /1 of the documents are revoked/);
    assert.deepEqual(body.error.details.revoked_document_ids, [revokedId]);
    assert.equal((await database.db('credential_offers').whereIn('document_id', [freshId, revokedId]).count('* as n').first())!.n, '0', 'no offer was recorded for either document');

    // Revoked after the request was accepted: the batch workflow's preparation refuses it, the other document is offered.
    const { BATCH_OFFER_WORKFLOW_TYPE } = await import('../../workflows/contracts/batch-offer');
    const result = await worker.client.workflow.execute(BATCH_OFFER_WORKFLOW_TYPE, { taskQueue, workflowId: uniqueName('batch-revoked'), args: [{ batchId: uniqueName('b'), authenticSource: 'hr.example.org', vct: DIPLOMA.vct, documentIds: [freshId, revokedId], concurrency: 2 }] });
    assert.deepEqual(
      (result as { documents: { documentId: string; status: string }[] }).documents.map((d) => [d.documentId, d.status]),
      [[freshId, 'offered'], [revokedId, 'already_revoked']],
    );
    assert.equal((await database.db('credential_offers').where({ document_id: revokedId }).count('* as n').first())!.n, '0');
  });

  test('revocation with a reference: 404 for a missing replacement (nothing revoked); else the revocation workflow revokes and starts the replacement\'s offer, collected by the wallet, linked both ways (seed 000 revocation.reference)', async () => {
    const documentId = `diploma-replaced-${randomUUID()}`;
    const [credential] = await collect(DIPLOMA, documentId);
    const { idx, uri } = sdJwtStatus(credential!);
    const missing = await api('/api/v1/document/revoke', { authentic_source: 'hr.example.org', vct: DIPLOMA.vct, revocation: { id: documentId, reference: { authentic_source: 'hr.example.org', vct: DIPLOMA.vct, document_id: `${documentId}-v2` } } });
    assert.equal(missing.status, 404);
    assert.equal((await bodyOf(missing)).error.code, 'DOCUMENT_NOT_FOUND');
    assert.equal((await jwtList(uri)).list.getStatus(idx), 0, 'nothing revoked');
    await upload(DIPLOMA.vct, `${documentId}-v2`, DIPLOMA.data);
    const replaced = await api('/api/v1/document/revoke', { authentic_source: 'hr.example.org', vct: DIPLOMA.vct, revocation: { id: documentId, reference: { authentic_source: 'hr.example.org', vct: DIPLOMA.vct, document_id: `${documentId}-v2` } } });
    const body = await bodyOf(replaced);
    assert.equal(replaced.status, 200, JSON.stringify(body));
    const replacementOfferId = `offer/hr.example.org/${DIPLOMA.vct}/${documentId}-v2`;
    assert.deepEqual(body.data.replacement, { authentic_source: 'hr.example.org', vct: DIPLOMA.vct, document_id: `${documentId}-v2`, offer_started: true, offer: 'offered', offer_workflow_id: replacementOfferId });
    assert.equal(body.data.workflow_id, revocationWorkflowId('hr.example.org', DIPLOMA.vct, documentId));
    assert.equal((await jwtList(uri)).list.getStatus(idx), 1);

    // The revocation workflow's state links the revoked document to its replacement and the offer it started.
    const state = await worker.client.workflow.getHandle(revocationWorkflowId('hr.example.org', DIPLOMA.vct, documentId)).query(revocationStateQuery);
    assert.equal(state.state, 'REVOKED');
    assert.deepEqual(state.replacement && { ...state.replacement, offerId: undefined }, { authenticSource: 'hr.example.org', vct: DIPLOMA.vct, documentId: `${documentId}-v2`, offer: 'offered', offerId: undefined, offerWorkflowId: replacementOfferId });
    // The offer knows what it replaces: its input and its record.
    const { offerStateQuery } = await import('../../workflows/contracts/credential-offer');
    const offerState = await worker.client.workflow.getHandle(replacementOfferId).query(offerStateQuery);
    assert.equal(offerState.offerId, state.replacement!.offerId);
    const offerRow = await database.db('credential_offers').where({ offer_id: state.replacement!.offerId }).first();
    assert.deepEqual(offerRow.replaces, { authentic_source: 'hr.example.org', vct: DIPLOMA.vct, document_id: documentId });

    // The replacement is issued through the wallet flow, from the offer the workflow started (same offer id), with a VALID status.
    const offeredBefore = await database.db('credential_offers').where({ document_id: `${documentId}-v2` }).count('* as n').first();
    const [replacementCredential] = await pickUp(DIPLOMA, `${documentId}-v2`);
    const fresh = sdJwtStatus(replacementCredential!);
    assert.equal((await jwtList(fresh.uri)).list.getStatus(fresh.idx), 0, 'the replacement is VALID');
    const issuedFor = (await database.db('issued_credentials').where({ document_id: `${documentId}-v2` }).select('offer_id')) as { offer_id: string }[];
    assert.deepEqual(issuedFor.map((r) => r.offer_id), [state.replacement!.offerId], 'issued from the offer the revocation workflow started');
    assert.deepEqual(await database.db('credential_offers').where({ document_id: `${documentId}-v2` }).count('* as n').first(), offeredBefore, 'the notification found the running offer; no second one');

    // Both documents' timelines show the link.
    const timeline = async (id: string) => {
      const res = await fetch(`${base}/admin/v1/documents/timeline?authentic_source=hr.example.org&vct=${encodeURIComponent(DIPLOMA.vct)}&document_id=${id}`, { headers: { authorization: `Bearer ${TEST_DEV_API_KEY}` } });
      const b = await bodyOf(res);
      assert.equal(res.status, 200, JSON.stringify(b));
      return (b.data ?? b).events as { event: string; details?: Record<string, unknown> }[];
    };
    const oldEvents = await timeline(documentId);
    assert.equal(oldEvents.find((e) => e.event === 'revoked')?.details?.replaced_by, `${documentId}-v2`);
    const newEvents = await timeline(`${documentId}-v2`);
    assert.equal(newEvents.find((e) => e.event === 'offer_created')?.details?.replaces, documentId);
  });

  test('1,000 concurrent revocations across 100 documents (10 racing requests each, 1,000 credentials) leave one consistent list: each document revoked once, exactly its entries INVALID, no lost update', async () => {
    const docs = Array.from({ length: 100 }, (_, i) => `concurrent-${i}-${randomUUID()}`);
    const { createStatusListsRepository, issuedCredentialRef } = await import('../../src/db/status-lists-repository');
    const lists = createStatusListsRepository(database.db);
    const expected: number[] = [];
    // Ten credentials per document, recorded as the issuing activity records them (no wallet: the list is what is under test).
    for (const documentId of docs) {
      await upload(DIPLOMA.vct, documentId, DIPLOMA.data);
      const requestKey = `test/${documentId}`;
      const allocations = await lists.reserve('token', requestKey, 10);
      const ids = allocations.map(() => randomUUID());
      await database.db.transaction(async (trx) => {
        await trx('issued_credentials').insert(ids.map((id, i) => ({ id, offer_id: 'test', authentic_source: 'hr.example.org', vct: DIPLOMA.vct, document_id: documentId, format: 'dc+sd-jwt', holder_key_thumbprint: 'x', status_list_id: allocations[i]!.listId, status_index: allocations[i]!.idx })));
        await lists.markIssued(trx, requestKey, ids.map(issuedCredentialRef));
      });
      expected.push(...allocations.map((a) => a.idx));
    }
    assert.equal(new Set(expected).size, 1000);
    const before = new Set(((await database.db('status_list_entries').where({ list_id: 'token/status/0', status: 1 }).select('idx')) as { idx: number }[]).map((r) => r.idx));
    const requests = docs.flatMap((documentId) => Array.from({ length: 10 }, () => documentId));
    const answers = await Promise.all(requests.map(async (documentId) => ({ documentId, status: (await api('/api/v1/document/revoke', { authentic_source: 'hr.example.org', vct: DIPLOMA.vct, revocation: { id: documentId } })).status })));
    for (const documentId of docs) {
      const statuses = answers.filter((a) => a.documentId === documentId).map((a) => a.status).sort();
      assert.deepEqual(statuses, [200, ...Array(9).fill(409)], `one revocation of ${documentId} wins, the others are ALREADY_REVOKED`);
    }
    const { list } = await jwtList(`${base}/status-lists/token/0`);
    const invalid = new Set<number>();
    for (let i = 0; i < 131_072; i++) if (list.getStatus(i) === 1) invalid.add(i);
    assert.deepEqual([...invalid].sort((a, b) => a - b), [...new Set([...before, ...expected])].sort((a, b) => a - b));
  });

  test('the Status List Aggregation (draft §9) lists the token lists; the authorization server metadata names it', async () => {
    const metadata = await bodyOf(await fetch(`${base}/.well-known/oauth-authorization-server`));
    assert.equal(metadata.status_list_aggregation_endpoint, `${base}/status-lists/token`);
    const aggregation = await bodyOf(await fetch(`${base}/status-lists/token`));
    assert.ok(aggregation.status_lists.includes(`${base}/status-lists/token/0`));
    assert.equal((await fetch(`${base}/status-lists/token/99`)).status, 404);
  });

  test('no index is left reserved, and every issued credential record names its list and index', async () => {
    const reserved = await database.db('status_list_entries').where({ state: 'reserved' }).count('* as n').first();
    assert.equal(Number((reserved as { n: string }).n), 0);
    const unlisted = await database.db('issued_credentials').whereNull('status_list_id').count('* as n').first();
    assert.equal(Number((unlisted as { n: string }).n), 0);
  });
});

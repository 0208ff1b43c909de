import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { createVerifierDocumentLoader, verifyEcdsaRdfc2019FromSpec, verifyWithDigitalBazaar } from '../support/data-integrity-verifier';
import { createLogger } from '../../src/logger';
import { type RunningPart, startGateway } from '../../src/main/issuer-parts';
import { createTestDatabase, loadTestConfig, TEST_DEV_API_KEY, testConfigFile, testEnv } from '../support/test-services';

/**
 * Seed 001 (CARO) "Issue Credential": POST /api/v1/credentials with Bearer authentication, the
 * per-type required fields, defaults, and the response shape. By default `data` is the credential
 * document with a Data Integrity proof, read as the seed's example response shows it and verified
 * with `@digitalbazaar/vc` through the did:web document fetched from the gateway (and, for
 * ecdsa-rdfc-2019, a check written from the spec: test/support/data-integrity-verifier.ts); asked
 * for, the JOSE form, verified independently with plain `jose` against the published JWKS
 * (VC-JOSE-COSE §3.1.1).
 */
const bodyOf = (res: Response): Promise<any> => res.json();
const CLIENT_TOKEN = 'caro-client-token-0123456789';
/** A second Bearer client, to prove object-level authorization. */
const OTHER_CLIENT_TOKEN = 'other-client-token-9876543210';

/** The seed's example request body (its trailing commas removed). */
const seedRequest = () => ({
  credentialId: 'urn:uuid:31ec4c88-56f4-420d-a525-aba23a59af5d',
  credentialType: 'DSCSAATPCredential',
  credentialStatusId: 'ldap://example.com',
  expirationDate: '2035-06-01T09:17:17.038Z',
  issuanceDate: '2022-06-01T09:17:17.038Z',
  recipientDid: 'did:ethr:ropsten:0x022e41cff8e1d8c34f82397312490f96379cac8027696d8774f3eef72551691def',
  onboardingId: 'a0cedaf1-576d-4d6b-a7c6-c3859f9938b2',
  data: {
    issuerName: 'Example Company',
    legalName: 'ABC Limited',
    streetAddress: 'Plot A, Street B, Area C',
    addressLocality: 'ABC',
    addressRegion: 'EFG',
    postalCode: '000000',
    addressCountry: 'US',
    parentOrganization: 'Parent',
    organizationType: 'NGO',
    identifier: 'Some reasonable Identifier',
  },
});

describe('seed 001 Create Credential API, against real PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: RunningPart;
  let base: string;
  let loader: ReturnType<typeof createVerifierDocumentLoader>;
  const create = (body: unknown, token = CLIENT_TOKEN, headers: Record<string, string> = {}) =>
    fetch(`${base}/api/v1/credentials`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers }, body: JSON.stringify(body) });
  /** The JOSE form, asked for by `Accept: application/vc+jwt` (docs/conventions.md). */
  const createJose = (body: unknown) => create(body, CLIENT_TOKEN, { accept: 'application/vc+jwt' });
  const jwtOf = (data: { id: string }) => data.id.slice('data:application/vc+jwt,'.length);

  before(async () => {
    database = await createTestDatabase();
    const { createHash } = await import('node:crypto');
    const config = loadTestConfig(
      testConfigFile((f) => {
        f.api_clients = {
          caro: { token_hash: `sha256:${createHash('sha256').update(CLIENT_TOKEN).digest('hex')}` },
          other: { token_hash: `sha256:${createHash('sha256').update(OTHER_CLIENT_TOKEN).digest('hex')}` },
        };
      }),
      { DATABASE_URL: database.url, TEMPORAL_ADDRESS: testEnv().temporalAddress, PORT: '0', ISSUER_URL: 'https://issuer.example.org' },
    );
    gateway = await startGateway(config, createLogger('silent'));
    base = gateway.url!;
    // ISSUER_URL's host is not this gateway's address: the verifier's loader maps it, as a hosts entry would.
    loader = createVerifierDocumentLoader({ origins: { 'https://issuer.example.org': base } });
  });
  after(async () => {
    await gateway?.close();
    await database?.drop();
  });

  test('the seed example creates a W3C VC 2.0 credential in the seed response shape', async () => {
    const res = await create(seedRequest());
    const body = await bodyOf(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.match(body.id, /^[0-9a-f-]{36}$/);
    assert.equal(body.type, 'DSCSAATPCredential');
    assert.ok(!Number.isNaN(Date.parse(body.createdAt)) && !Number.isNaN(Date.parse(body.updatedAt)));
    assert.deepEqual(body.data.type, ['VerifiableCredential', 'DSCSAATPCredential']);
    assert.equal(body.data['@context'][0], 'https://www.w3.org/ns/credentials/v2', 'VC DM 2.0 §4.3');
  });

  // The seed's example response, read the way its client reads it: data.credentialSubject.*, data.issuer, data.onboardingId, data.proof.
  for (const credentialType of ['DSCSAATPCredential', 'IdentityCredential'] as const) {
    test(`${credentialType}: data is the credential document as seed 001's example shows it, with a Data Integrity proof that verifies`, async () => {
      const req = { ...seedRequest(), credentialId: undefined, credentialType, credentialStatusId: undefined };
      const res = await create(req);
      const body = await bodyOf(res);
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.type, credentialType);
      const { data } = body;
      assert.equal(Object.keys(data)[0], '@context');
      assert.match(data.id, /^urn:uuid:[0-9a-f-]{36}$/);
      assert.deepEqual(data.type, ['VerifiableCredential', credentialType]);
      assert.equal(data.issuer, 'did:web:issuer.example.org');
      assert.equal(data.validFrom, '2022-06-01T09:17:17Z', 'from issuanceDate');
      assert.equal(data.validUntil, '2035-06-01T09:17:17Z', 'from expirationDate');
      assert.equal(data.onboardingId, req.onboardingId);
      assert.deepEqual(data.credentialSubject, { id: req.recipientDid, type: credentialType, ...req.data });
      assert.equal(data.credentialStatus.type, 'BitstringStatusListEntry');
      assert.match(data.credentialStatus.statusListCredential, /^https:\/\/issuer\.example\.org\/status-lists\/w3c\/revocation\/\d+\/di$/, 'the list in the credential\'s proof format');
      assert.equal(data.proof.type, 'DataIntegrityProof');
      assert.equal(data.proof.cryptosuite, 'ecdsa-rdfc-2019');
      assert.equal(data.proof.proofPurpose, 'assertionMethod');
      assert.ok(data.proof.verificationMethod.startsWith('did:web:issuer.example.org#'));
      assert.ok(!Number.isNaN(Date.parse(data.proof.created)));
      assert.match(data.proof.proofValue, /^z/);
      const verified = await verifyWithDigitalBazaar(data, loader);
      assert.equal(verified.verified, true, String(verified.error));
      assert.equal(await verifyEcdsaRdfc2019FromSpec(data, loader), true);
      const tampered = { ...data, credentialSubject: { ...data.credentialSubject, legalName: 'Someone Else Ltd' } };
      assert.equal((await verifyWithDigitalBazaar(tampered, loader)).verified, false);
      assert.equal(await verifyEcdsaRdfc2019FromSpec(tampered, loader), false);
    });
  }

  test('cryptosuite eddsa-rdfc-2022 signs with the Ed25519 key of did.json; the credential from GET verifies too', async () => {
    const body = await bodyOf(await create({ ...seedRequest(), credentialId: undefined, cryptosuite: 'eddsa-rdfc-2022' }));
    assert.equal(body.data.proof.cryptosuite, 'eddsa-rdfc-2022');
    const verified = await verifyWithDigitalBazaar(body.data, loader);
    assert.equal(verified.verified, true, String(verified.error));
    // Stored in jsonb (no key order) and read back: the proof covers the RDF canonical form, so it still verifies.
    const again = await bodyOf(await fetch(`${base}/api/v1/credentials/${body.id}`, { headers: { authorization: `Bearer ${CLIENT_TOKEN}` } }));
    assert.deepEqual(Object.keys(again.data), Object.keys(body.data));
    assert.equal((await verifyWithDigitalBazaar(again.data, loader)).verified, true);
  });

  test('the JOSE form when asked: format "vc+jwt" in the body, or Accept: application/vc+jwt; the body\'s choice wins over Accept', async () => {
    const viaField = await bodyOf(await create({ ...seedRequest(), credentialId: undefined, format: 'vc+jwt' }));
    assert.equal(viaField.data.type, 'EnvelopedVerifiableCredential'); // VC 2.0 §4.13
    assert.equal(viaField.data['@context'], 'https://www.w3.org/ns/credentials/v2');
    assert.ok(viaField.data.id.startsWith('data:application/vc+jwt,'));
    const viaAccept = await bodyOf(await createJose({ ...seedRequest(), credentialId: undefined }));
    assert.equal(viaAccept.data.type, 'EnvelopedVerifiableCredential');
    const explicit = await bodyOf(await create({ ...seedRequest(), credentialId: undefined, format: 'ldp_vc' }, CLIENT_TOKEN, { accept: 'application/vc+jwt' }));
    assert.equal(explicit.data.proof.type, 'DataIntegrityProof');
    const suite = await bodyOf(await create({ ...seedRequest(), credentialId: undefined, cryptosuite: 'ecdsa-rdfc-2019' }, CLIENT_TOKEN, { accept: 'application/vc+jwt' }));
    assert.equal(suite.data.proof.cryptosuite, 'ecdsa-rdfc-2019', 'a cryptosuite asks for Data Integrity');
    const wildcard = await bodyOf(await create({ ...seedRequest(), credentialId: undefined }, CLIENT_TOKEN, { accept: '*/*' }));
    assert.equal(wildcard.data.proof.type, 'DataIntegrityProof');
  });

  test('the credential verifies with plain jose against /.well-known/jwks.json: header typ vc+jwt, payload is the credential (VC-JOSE-COSE §3.1.1)', async () => {
    const req = { ...seedRequest(), credentialId: 'urn:uuid:5b0c1bd3-3a3a-4e39-9b5e-1b2d3c4d5e6f' };
    const body = await bodyOf(await createJose(req));
    const jwt = jwtOf(body.data);
    const header = decodeProtectedHeader(jwt);
    assert.equal(header.typ, 'vc+jwt');
    assert.equal(header.cty, 'vc');
    assert.equal(header.alg, 'ES256');
    const jwks = await bodyOf(await fetch(`${base}/.well-known/jwks.json`));
    assert.ok(jwks.keys.some((k: { kid: string }) => k.kid === header.kid));
    assert.ok(jwks.keys.every((k: Record<string, unknown>) => k.d === undefined), 'no private parts published');
    // The credential's validUntil is far ahead; verify signature and claims independently.
    const { payload } = await jwtVerify(jwt, createLocalJWKSet(jwks), { typ: 'vc+jwt' });
    assert.deepEqual(payload['@context'], ['https://www.w3.org/ns/credentials/v2']);
    assert.deepEqual(payload.type, ['VerifiableCredential', 'DSCSAATPCredential']);
    assert.equal(payload.id, req.credentialId);
    assert.equal(payload.issuer, 'https://issuer.example.org');
    assert.equal(payload.validFrom, '2022-06-01T09:17:17Z');
    assert.equal(payload.validUntil, '2035-06-01T09:17:17Z');
    assert.equal(payload.onboardingId, req.onboardingId);
    const subject = payload.credentialSubject as Record<string, unknown>;
    assert.equal(subject.id, req.recipientDid);
    assert.equal(subject.type, 'DSCSAATPCredential');
    assert.equal(subject.legalName, 'ABC Limited');
    const status = payload.credentialStatus as Record<string, string>;
    assert.equal(status.type, 'BitstringStatusListEntry', 'revocable by default');
    assert.equal(status.statusPurpose, 'revocation');
    assert.match(status.statusListIndex!, /^\d+$/);
  });

  test('without credentialId, issuanceDate and expirationDate: a urn:uuid id, valid from now for one year', async () => {
    const { credentialId: _a, issuanceDate: _b, expirationDate: _c, credentialStatusId: _d, ...req } = seedRequest();
    const before = Date.now();
    const payload = (await bodyOf(await create(req))).data;
    assert.equal((await verifyWithDigitalBazaar(payload, loader)).verified, true);
    assert.match(String(payload.id), /^urn:uuid:[0-9a-f-]{36}$/);
    const from = Date.parse(String(payload.validFrom));
    const until = Date.parse(String(payload.validUntil));
    assert.ok(Math.abs(from - before) < 60_000);
    assert.ok(Math.abs(until - from - 365 * 86_400_000) < 2000, 'default expiry is one year');
    assert.match((payload.credentialStatus as { statusListCredential: string }).statusListCredential, /^https:\/\/issuer\.example\.org\/status-lists\/w3c\/revocation\/\d+\/di$/);
  });

  test('a future issuanceDate is allowed', async () => {
    const req = { ...seedRequest(), credentialId: undefined, issuanceDate: '2030-01-01T00:00:00Z', expirationDate: undefined };
    const res = await createJose(req);
    assert.equal(res.status, 200);
    const { payload } = await jwtVerify(jwtOf((await bodyOf(res)).data), createLocalJWKSet(await bodyOf(await fetch(`${base}/.well-known/jwks.json`))));
    assert.equal(payload.validFrom, '2030-01-01T00:00:00Z');
    assert.equal(payload.validUntil, '2031-01-01T00:00:00Z');
  });

  const invalid: [string, (r: ReturnType<typeof seedRequest>) => unknown, string][] = [
    ['IdentityCredential needs parentOrganization', (r) => ({ ...r, credentialId: undefined, credentialType: 'IdentityCredential', data: { ...r.data, parentOrganization: undefined } }), 'data.parentOrganization'],
    ['DSCSAATPCredential needs organizationType', (r) => ({ ...r, credentialId: undefined, data: { ...r.data, organizationType: undefined } }), 'data.organizationType'],
    ['DSCSAATPCredential needs identifier', (r) => ({ ...r, credentialId: undefined, data: { ...r.data, identifier: undefined } }), 'data.identifier'],
    ['every type needs legalName', (r) => ({ ...r, credentialId: undefined, data: { ...r.data, legalName: undefined } }), 'data.legalName'],
    ['recipientDid is required', (r) => ({ ...r, credentialId: undefined, recipientDid: undefined }), 'recipientDid'],
    ['recipientDid must be a DID', (r) => ({ ...r, credentialId: undefined, recipientDid: 'ethr:0x1234' }), 'recipientDid'],
    ['credentialType must be one of the two', (r) => ({ ...r, credentialId: undefined, credentialType: 'PassportCredential' }), 'credentialType'],
    ['credentialId must be a urn:uuid', (r) => ({ ...r, credentialId: 'cred-1' }), 'credentialId'],
    ['expirationDate must be ISO 8601', (r) => ({ ...r, credentialId: undefined, expirationDate: 'next year' }), 'expirationDate'],
    ['expirationDate must follow issuanceDate', (r) => ({ ...r, credentialId: undefined, expirationDate: '2021-01-01T00:00:00Z' }), 'expirationDate'],
    ['format is ldp_vc or vc+jwt', (r) => ({ ...r, credentialId: undefined, format: 'jwt_vc' }), 'format'],
    ['cryptosuite is one of the three', (r) => ({ ...r, credentialId: undefined, cryptosuite: 'bbs-2023' }), 'cryptosuite'],
    ['a cryptosuite does not go with format vc+jwt', (r) => ({ ...r, credentialId: undefined, format: 'vc+jwt', cryptosuite: 'eddsa-rdfc-2022' }), 'cryptosuite'],
  ];
  for (const [name, mutate, path] of invalid) {
    test(`400 INVALID_FORMAT: ${name}`, async () => {
      const res = await create(mutate(seedRequest()));
      const body = await bodyOf(res);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(body.error.code, 'INVALID_FORMAT');
      assert.ok(body.error.details.fields.some((f: { path: string }) => f.path === path), JSON.stringify(body.error.details));
    });
  }

  test('a credentialId used before is 409 CONFLICT', async () => {
    const res = await create(seedRequest());
    assert.equal(res.status, 409);
    assert.equal((await bodyOf(res)).error.code, 'CONFLICT');
  });

  test('without a Bearer token, with a wrong one, or with an X-API-Key instead, the call is 401', async () => {
    assert.equal((await create(seedRequest(), '')).status, 401);
    assert.equal((await create(seedRequest(), 'wrong-token-0000000000')).status, 401);
    const apiKey = await fetch(`${base}/api/v1/credentials`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY }, body: JSON.stringify(seedRequest()) });
    assert.equal(apiKey.status, 401);
  });

  test('in a development configuration the dev API key works as the Bearer token (docs/conventions.md)', async () => {
    const res = await create({ ...seedRequest(), credentialId: undefined }, TEST_DEV_API_KEY);
    assert.equal(res.status, 200);
  });

  test('GET /api/v1/credentials/:id returns the same credential; an unknown id is 404', async () => {
    const created = await bodyOf(await create({ ...seedRequest(), credentialId: undefined }));
    const res = await fetch(`${base}/api/v1/credentials/${created.id}`, { headers: { authorization: `Bearer ${CLIENT_TOKEN}` } });
    assert.equal(res.status, 200);
    assert.deepEqual(await bodyOf(res), created);
    assert.equal((await fetch(`${base}/api/v1/credentials/${created.id}`)).status, 401);
    assert.equal((await fetch(`${base}/api/v1/credentials/00000000-0000-4000-8000-000000000000`, { headers: { authorization: `Bearer ${CLIENT_TOKEN}` } })).status, 404);
    assert.equal((await fetch(`${base}/api/v1/credentials/not-a-uuid`, { headers: { authorization: `Bearer ${CLIENT_TOKEN}` } })).status, 404);
  });

  test('another Bearer client gets 404 for the first client\'s credential, as for an id that does not exist (OWASP API1:2023)', async () => {
    const created = await bodyOf(await create({ ...seedRequest(), credentialId: undefined }));
    const own = await fetch(`${base}/api/v1/credentials/${created.id}`, { headers: { authorization: `Bearer ${CLIENT_TOKEN}` } });
    assert.equal(own.status, 200);
    const foreign = await fetch(`${base}/api/v1/credentials/${created.id}`, { headers: { authorization: `Bearer ${OTHER_CLIENT_TOKEN}` } });
    assert.equal(foreign.status, 404);
    const body = await bodyOf(foreign);
    assert.equal(body.error.code, 'NOT_FOUND');
    assert.ok(!JSON.stringify(body).includes('proofValue') && !JSON.stringify(body).includes(created.data.id), 'nothing of the credential leaks');
    // The dev key is a client of its own too ("dev"), not a master key.
    assert.equal((await fetch(`${base}/api/v1/credentials/${created.id}`, { headers: { authorization: `Bearer ${TEST_DEV_API_KEY}` } })).status, 404);
  });

  test('issuer metadata: /.well-known/jwt-vc-issuer names the issuer and its keys; /.well-known/iacas serves PEM trust anchors', async () => {
    const meta = await bodyOf(await fetch(`${base}/.well-known/jwt-vc-issuer`));
    assert.equal(meta.issuer, 'https://issuer.example.org');
    assert.ok(meta.jwks.keys.length >= 1);
    const { iacas } = await bodyOf(await fetch(`${base}/.well-known/iacas`));
    assert.ok(iacas.length >= 1);
    assert.match(iacas[0], /^-----BEGIN CERTIFICATE-----/);
  });
});

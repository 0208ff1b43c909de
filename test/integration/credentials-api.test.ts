import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { createLogger } from '../../src/logger';
import { type RunningPart, startGateway } from '../../src/main/issuer-parts';
import { createTestDatabase, loadTestConfig, TEST_DEV_API_KEY, testConfigFile, testEnv } from '../support/test-services';

/**
 * Seed 001 (CARO) "Issue Credential": POST /api/v1/credentials with Bearer authentication, the
 * per-type required fields, defaults, and the response shape; the credential verified
 * independently with plain `jose` against the published JWKS (VC-JOSE-COSE §3.1.1).
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
  const create = (body: unknown, token = CLIENT_TOKEN) =>
    fetch(`${base}/api/v1/credentials`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
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
    assert.equal(body.data.type, 'EnvelopedVerifiableCredential'); // VC 2.0 §4.13
    assert.equal(body.data['@context'], 'https://www.w3.org/ns/credentials/v2');
  });

  test('the credential verifies with plain jose against /.well-known/jwks.json: header typ vc+jwt, payload is the credential (VC-JOSE-COSE §3.1.1)', async () => {
    const req = { ...seedRequest(), credentialId: 'urn:uuid:5b0c1bd3-3a3a-4e39-9b5e-1b2d3c4d5e6f' };
    const body = await bodyOf(await create(req));
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
    const body = await bodyOf(await create(req));
    const { payload } = await jwtVerify(jwtOf(body.data), createLocalJWKSet(await bodyOf(await fetch(`${base}/.well-known/jwks.json`))));
    assert.match(String(payload.id), /^urn:uuid:[0-9a-f-]{36}$/);
    const from = Date.parse(String(payload.validFrom));
    const until = Date.parse(String(payload.validUntil));
    assert.ok(Math.abs(from - before) < 60_000);
    assert.ok(Math.abs(until - from - 365 * 86_400_000) < 2000, 'default expiry is one year');
    assert.match((payload.credentialStatus as { statusListCredential: string }).statusListCredential, /^https:\/\/issuer\.example\.org\/status-lists\/w3c\/revocation\/\d+$/);
  });

  test('a future issuanceDate is allowed', async () => {
    const req = { ...seedRequest(), credentialId: undefined, issuanceDate: '2030-01-01T00:00:00Z', expirationDate: undefined };
    const res = await create(req);
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
    assert.ok(!JSON.stringify(body).includes('vc+jwt'), 'nothing of the credential leaks');
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

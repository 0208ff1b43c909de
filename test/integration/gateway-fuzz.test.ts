import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createAccessTokensRepository } from '../../src/db/nonces-repository';
import { createLogger } from '../../src/logger';
import { type RunningPart, startGateway } from '../../src/main/issuer-parts';
import { createTestDatabase, loadTestConfig, TEST_DEV_API_KEY, testConfigFile, testEnv } from '../support/test-services';

/**
 * docs/conventions.md, REST API errors: "Bad input of any kind gets a 4xx in this format, never a
 * 5xx". Every operation of /openapi.json gets malformed bodies, path parameters and headers; the
 * OpenID4VCI endpoints get malformed DPoP proofs (RFC 9449 §4.3: `invalid_dpop_proof`), including a
 * DPoP-bound access token so the proof check of the credential endpoint is reached.
 */
const bodyOf = (res: Response): Promise<any> => res.json();
const BEARER = 'fuzz-bearer-token-0123456789';

/** JSON text nested `depth` levels, built as text (JSON.stringify overflows first). */
const deepJson = (depth: number) => `${'{"a":['.repeat(depth)}1${']}'.repeat(depth)}`;

/** Malformed request bodies: wrong JSON types, absurd nesting and sizes, broken JSON text. */
const MALFORMED_BODIES: string[] = [
  '',
  'null',
  'true',
  '0',
  '"text"',
  '[]',
  '{}',
  '[{}]',
  '{"__proto__":{"admin":true}}',
  '{"constructor":{"prototype":{"x":1}}}',
  deepJson(50),
  deepJson(60_000),
  `[${'1,'.repeat(100_000)}1]`,
  `{"authentic_source":"${'x'.repeat(100_000)}"}`,
  '{"authentic_source":null,"vct":[],"document_id":{},"identity":"x","documents":7}',
  '{"authentic_source":"hr.example.org","vct":"urn:eudi:diploma:1","document_id":"../../etc/passwd","identity":{"schema":{"name":"SE","version":"1"},"family_name":{"a":[]}}}',
  '{"meta":{"authentic_source":"hr.example.org","vct":"urn:eudi:diploma:1","document_id":"d"},"identities":[{}],"document_data":{"a":' + deepJson(40) + '}}',
  '{"credentialType":"IdentityCredential","recipientDid":"did:x:\u0000","data":{"issuerName":"\ud800"}}',
  '{"a":1,"a":2}',
  '{"a":"\\ud800"}',
  '{"a":1',
  '{a:1}',
  '\u0000\u0001',
  '{"a":1e999999}',
];

/** Values for path parameters: too long, traversal, encodings, control characters. */
const MALFORMED_PARAMS = ['x', '00000000-0000-4000-8000-000000000000', 'A'.repeat(5000), '..%2F..%2Fetc', '%00', '%E0%A4%A', 'a.b.c', 'hr.example.org.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA', '%F0%9F%98%80'];

/** Malformed headers every request may carry. */
const MALFORMED_HEADERS: Record<string, string>[] = [
  { 'x-api-key': 'x'.repeat(10_000) },
  { 'x-api-key': 'wrong.key.with.dots' },
  { authorization: 'Bearer' },
  { authorization: `Bearer ${'a'.repeat(5000)}` },
  { authorization: 'Basic Zm9vOmJhcg==' },
  { 'x-request-id': 'x'.repeat(1000) },
  { 'x-forwarded-for': 'not-an-ip, ::ffff:zzz, 999.1.1.1' },
  { 'content-type': 'text/plain' },
  { 'content-type': 'application/json; charset=utf-7' },
  { 'content-encoding': 'gzip' },
];

describe('fuzzing /openapi.json operations and the OpenID4VCI endpoints gives no 5xx', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: RunningPart;
  let base: string;
  let boundToken: string;
  const failures: string[] = [];

  const send = async (label: string, method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}) => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, { method, headers: init.headers, ...(init.body !== undefined && method !== 'GET' && method !== 'HEAD' ? { body: init.body } : {}) });
    } catch (err) {
      // A header value fetch itself refuses never reached the server.
      if (err instanceof TypeError) return;
      throw err;
    }
    if (res.status >= 500) failures.push(`${res.status} ${label}: ${method} ${path} ${(await res.text()).slice(0, 200)}`);
    else await res.arrayBuffer();
  };

  before(async () => {
    database = await createTestDatabase();
    const config = loadTestConfig(
      testConfigFile((f) => {
        f.gateway = { rate_limit: { requests_per_second: 100_000, burst: 100_000 } };
        f.api_clients = { fuzz: { token_hash: `sha256:${createHash('sha256').update(BEARER).digest('hex')}` } };
        // The KYC API (seed 004) is documented and fuzzed too.
        f.kyc = { login_redirect_url: 'https://kyc.example.org/', templates: { t1: { name: 'T', credential_type: 'urn:eudi:diploma:1', attributes: [{ id: 'a', schema: { type: 'string' } }] } } };
      }),
      { DATABASE_URL: database.url, TEMPORAL_ADDRESS: testEnv().temporalAddress, PORT: '0', ISSUER_URL: 'https://issuer.example.org' },
    );
    gateway = await startGateway(config, createLogger('silent'));
    base = gateway.url!;
    // A DPoP-bound token for an offer that does not exist: the proof check runs before anything else.
    ({ token: boundToken } = await createAccessTokensRepository(database.db).issue({ workflowId: 'offer/fuzz/none/none', offerId: 'fuzz-offer', ttlSeconds: 600, dpopJkt: 'not-a-real-thumbprint' }));
  });
  after(async () => {
    await gateway?.close();
    await database?.drop();
  });

  test('every documented operation, with malformed bodies, path parameters and headers, answers below 500', async () => {
    const doc = await bodyOf(await fetch(`${base}/openapi.json`));
    const operations = Object.entries(doc.paths as Record<string, Record<string, { security?: { [k: string]: unknown }[] }>>).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method: method.toUpperCase(), op })));
    assert.ok(operations.length >= 10, `only ${operations.length} operations documented`);
    for (const { path, method, op } of operations) {
      const auth: Record<string, string> = JSON.stringify(op.security ?? []).includes('bearer') ? { authorization: `Bearer ${BEARER}` } : { 'x-api-key': TEST_DEV_API_KEY };
      const paths = path.includes('{') ? MALFORMED_PARAMS.map((p) => path.replace(/\{[^}]+\}/g, p)) : [path];
      for (const concrete of paths) {
        for (const body of MALFORMED_BODIES) await send('body', method, concrete, { headers: { ...auth, 'content-type': 'application/json' }, body });
        for (const headers of MALFORMED_HEADERS) await send(`headers ${Object.keys(headers).join()}`, method, concrete, { headers: { 'content-type': 'application/json', ...auth, ...headers }, body: '{}' });
      }
      await send('wrong method', method === 'GET' ? 'DELETE' : 'PATCH', path);
    }
    assert.deepEqual(failures, []);
  });

  test('malformed DPoP headers on /token, /credential, /notification and /nonce are 4xx (RFC 9449 §4.3), never 5xx', async () => {
    const key = await generateKeyPair('ES256');
    const publicJwk = await exportJWK(key.publicKey);
    const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
    const withHeader = (header: unknown, payload: unknown = { htm: 'POST', htu: `https://issuer.example.org/credential`, iat: Math.floor(Date.now() / 1000), jti: 'fuzz-jti-0123456789' }) => `${b64(header)}.${b64(payload)}.${b64('sig')}`;
    const signed = async (header: Record<string, unknown>, payload: Record<string, unknown>) => new SignJWT(payload).setProtectedHeader({ alg: 'ES256', ...header }).setIssuedAt().sign(key.privateKey);
    const proofs: string[] = [
      '',
      'x',
      '...',
      'a.b.c',
      'a'.repeat(8000),
      withHeader('not json'),
      withHeader([]),
      withHeader(null),
      withHeader({ typ: 'dpop+jwt', alg: 'ES256' }),
      ...['string', 42, true, null, [], [1, 2], {}, { kty: 'EC' }, { kty: 'EC', crv: 'P-256', x: 1, y: [] }, { kty: 'oct', k: 'AAAA' }, { kty: 'RSA', n: 'AQAB', e: 'AQAB' }, { kty: 'OKP', crv: 'X25519', x: 'AAAA' }, { ...publicJwk, d: 'AAAA' }, { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' }].map((jwk) =>
        withHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk }),
      ),
      withHeader({ typ: 'dpop+jwt', alg: 'none', jwk: publicJwk }),
      withHeader({ typ: 'dpop+jwt', alg: ['ES256'], jwk: publicJwk }),
      withHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: publicJwk, crit: ['x'] }),
      withHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: publicJwk }, 'payload is not json'),
      withHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: JSON.parse(deepJson(2000)) }),
      await signed({ typ: 'dpop+jwt', jwk: publicJwk }, { htm: 'POST', htu: 'https://issuer.example.org/credential', jti: 'fuzz-jti-a' }),
      await signed({ typ: 'dpop+jwt', jwk: publicJwk }, { htm: 7, htu: { x: 1 }, jti: ['x'], ath: null }),
      await signed({ typ: 'dpop+jwt', jwk: publicJwk }, { htm: 'POST', htu: 'https://issuer.example.org/credential', jti: 'j' }),
    ];
    const endpoints: { path: string; headers: Record<string, string>; body?: string }[] = [
      { path: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=fuzz' },
      { path: '/credential', headers: { 'content-type': 'application/json', authorization: `DPoP ${boundToken}` }, body: '{"credential_configuration_id":"urn:eudi:diploma:1"}' },
      { path: '/credential', headers: { 'content-type': 'application/json', authorization: `Bearer ${boundToken}` }, body: '{}' },
      { path: '/notification', headers: { 'content-type': 'application/json', authorization: `DPoP ${boundToken}` }, body: '{"notification_id":"fuzz-offer","event":"credential_accepted"}' },
      { path: '/nonce', headers: {} },
    ];
    for (const endpoint of endpoints) {
      for (const proof of proofs) await send(`dpop ${proof.slice(0, 60)}`, 'POST', endpoint.path, { headers: { ...endpoint.headers, dpop: proof }, ...(endpoint.body ? { body: endpoint.body } : {}) });
    }
    assert.deepEqual(failures, []);
    // The bound token with a bad proof is the protocol error RFC 9449 §7.1 names, not a generic one.
    const res = await fetch(`${base}/credential`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `DPoP ${boundToken}`, dpop: withHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: 'string' }) }, body: '{}' });
    assert.equal(res.status, 401);
    assert.equal((await bodyOf(res)).error, 'invalid_dpop_proof');
  });
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import type { Config } from '../../src/config/config';
import { createBearerAuthenticator, createSourceAuthenticator } from '../../src/gateway/authenticate-source';
import { startTestGatewayApp } from '../support/test-gateway-app';
import { loadTestConfig, REGISTRY_API_KEY, TEST_DEV_API_KEY, testConfigFile } from '../support/test-services';

/**
 * Authentication costs and lock-outs (issue 15, findings 7 and 8): a request costs at most one
 * bcrypt compare, a repeated wrong key none, and the failed-authentication limiter never refuses a
 * request that authenticates cheaply, while an attacker's failures are limited per address.
 */
const sha256Hash = (key: string) => `sha256:${createHash('sha256').update(key).digest('hex')}`;
// Cost 4 keeps the test fast; the cost does not change how many compares run.
const bcryptHash = (key: string) => bcrypt.hashSync(key, 4);

const SEED_STYLE_KEY = 'seed-style-bcrypt-key-without-prefix';
const PREFIXED_KEY = 'payroll.5d1f0c9e8b7a6f5e4d3c2b1a';
const CLIENT_TOKEN = 'ops.client-token-0123456789abcdef';

function threeBcryptSources(): Config {
  return loadTestConfig(
    testConfigFile((f) => {
      const sources = f.authentic_sources as Record<string, Record<string, unknown>>;
      const type = (vct: string) => ({ t: { vct, format: 'dc+sd-jwt' } });
      sources['seed.example.org'] = { identifier: 'seed.example.org', country_code: 'SE', api_key_hash: bcryptHash(SEED_STYLE_KEY), credential_types: type('urn:t:seed') };
      sources['payroll.example.org'] = { identifier: 'payroll.example.org', country_code: 'SE', key_id: 'payroll', api_key_hash: bcryptHash(PREFIXED_KEY), credential_types: type('urn:t:payroll') };
      sources['school.example.org'] = { identifier: 'school.example.org', country_code: 'SE', key_id: 'school', api_key_hash: bcryptHash('school.another-secret-value-0001'), credential_types: type('urn:t:school') };
      f.api_clients = { ops: { key_id: 'ops', token_hash: bcryptHash(CLIENT_TOKEN) }, legacy: { token_hash: bcryptHash('legacy-token-abcdef0123456789') } };
    }),
  );
}

/** Counts bcrypt compares made through the library, whoever makes them. */
function countBcrypt(): { count: () => number; restore: () => void } {
  const original = bcrypt.compare;
  let n = 0;
  (bcrypt as { compare: typeof bcrypt.compare }).compare = ((...args: Parameters<typeof bcrypt.compare>) => {
    n++;
    return original(...args);
  }) as typeof bcrypt.compare;
  return { count: () => n, restore: () => ((bcrypt as { compare: typeof bcrypt.compare }).compare = original) };
}

const requestWith = (headers: Record<string, string>) => ({ get: (name: string) => headers[name.toLowerCase()], socket: {} }) as never;

describe('bcrypt work per request (issue 15, finding 8)', () => {
  const config = threeBcryptSources();

  test('a key with a configured key id prefix costs exactly one bcrypt compare, with three bcrypt sources configured', async () => {
    const authenticate = createSourceAuthenticator(config);
    const spy = countBcrypt();
    try {
      const principal = await authenticate(requestWith({ 'x-api-key': PREFIXED_KEY }));
      assert.equal(principal.source, 'payroll.example.org');
      assert.equal(spy.count(), 1);
    } finally {
      spy.restore();
    }
  });

  test('a key without a prefix (the seed\'s bcrypt convention) keeps working, compared only with the hashes that have no key id', async () => {
    const authenticate = createSourceAuthenticator(config);
    const spy = countBcrypt();
    try {
      assert.equal((await authenticate(requestWith({ 'x-api-key': SEED_STYLE_KEY }))).source, 'seed.example.org');
      assert.equal(spy.count(), 1, 'the two key-id sources are not compared');
    } finally {
      spy.restore();
    }
  });

  test('a repeated wrong key costs no bcrypt after its first refusal (negative cache by HMAC), and a verified key none after its first success', async () => {
    const authenticate = createSourceAuthenticator(config);
    const spy = countBcrypt();
    try {
      for (let i = 0; i < 5; i++) await assert.rejects(authenticate(requestWith({ 'x-api-key': 'payroll.wrong-guess-000000000000' })), { code: 'UNAUTHORIZED' });
      assert.equal(spy.count(), 1);
      for (let i = 0; i < 5; i++) await assert.rejects(authenticate(requestWith({ 'x-api-key': 'no-prefix-wrong-guess-00000000' })), { code: 'UNAUTHORIZED' });
      assert.equal(spy.count(), 2);
      for (let i = 0; i < 5; i++) assert.equal((await authenticate(requestWith({ 'x-api-key': PREFIXED_KEY }))).source, 'payroll.example.org');
      assert.equal(spy.count(), 3);
    } finally {
      spy.restore();
    }
  });

  test('Bearer tokens follow the same rules: a key id prefix is one compare, an unprefixed token works', async () => {
    const authenticate = createBearerAuthenticator(config);
    const spy = countBcrypt();
    try {
      assert.equal((await authenticate(requestWith({ authorization: `Bearer ${CLIENT_TOKEN}` }))).client, 'ops');
      assert.equal(spy.count(), 1);
      assert.equal((await authenticate(requestWith({ authorization: 'Bearer legacy-token-abcdef0123456789' }))).client, 'legacy');
      assert.equal(spy.count(), 2);
    } finally {
      spy.restore();
    }
  });

  test('key ids are unique across sources and API clients', () => {
    assert.throws(
      () =>
        loadTestConfig(
          testConfigFile((f) => {
            const sources = f.authentic_sources as Record<string, Record<string, unknown>>;
            sources['registry.example.org']!.key_id = 'ops';
            f.api_clients = { ops: { key_id: 'ops', token_hash: sha256Hash('x') } };
          }),
        ),
      /api_clients\.ops\.key_id: "ops" is already the key id of authentic_sources\.registry\.example\.org/,
    );
  });
});

describe('the failed-authentication limiter never locks out a request that authenticates (issue 15, finding 7)', () => {
  let gateway: Awaited<ReturnType<typeof startTestGatewayApp>>;
  const whoami = (key: string, from = '203.0.113.7') => fetch(`${gateway.base}/api/v1/whoami`, { headers: { 'x-api-key': key, 'x-forwarded-for': from } });

  before(async () => {
    gateway = await startTestGatewayApp(
      loadTestConfig(
        testConfigFile((f) => {
          f.gateway = { rate_limit: { requests_per_second: 1000, burst: 1000 }, trust_proxy: ['loopback'] };
          const sources = f.authentic_sources as Record<string, Record<string, unknown>>;
          sources['seed.example.org'] = { identifier: 'seed.example.org', country_code: 'SE', api_key_hash: bcryptHash(SEED_STYLE_KEY), credential_types: { t: { vct: 'urn:t:seed', format: 'dc+sd-jwt' } } };
        }),
      ),
    );
  });
  after(() => gateway.close());

  test('after an address spends its failure budget its wrong keys get 429, while correct keys from the same address still get 200', async () => {
    // A legitimate bcrypt source that called before the attack.
    assert.equal((await whoami(SEED_STYLE_KEY)).status, 200);
    const statuses = [];
    for (let i = 0; i < 25; i++) statuses.push((await whoami(`attacker-guess-${i}-0000000000`)).status);
    assert.deepEqual(statuses.slice(0, 20), new Array(20).fill(401));
    assert.deepEqual(statuses.slice(20), new Array(5).fill(429));
    assert.equal((await whoami(`attacker-guess-next-0000000000`)).status, 429, 'the attacker stays limited');
    assert.equal((await whoami(REGISTRY_API_KEY)).status, 200, 'a sha256 key is checked and passes');
    assert.equal((await whoami(TEST_DEV_API_KEY)).status, 200, 'so is the dev key');
    assert.equal((await whoami(SEED_STYLE_KEY)).status, 200, 'a bcrypt key this process accepted before passes without a compare');
  });

  test('failures are counted per client address: another address is not limited by the first one\'s failures', async () => {
    assert.equal((await whoami('attacker-guess-other-000000000', '198.51.100.9')).status, 401);
  });

  test('an IPv6 client is limited by its /64: stepping through addresses of the subnet gives no fresh budget', async () => {
    const statuses = [];
    for (let i = 0; i < 22; i++) statuses.push((await whoami(`v6-guess-${i}-000000000000`, `2001:db8:1:2::${(i + 1).toString(16)}`)).status);
    assert.deepEqual(statuses.slice(20), [429, 429]);
    assert.equal((await whoami('v6-guess-last-000000000000', '2001:db8:1:3::1')).status, 401, 'the next /64 is another client');
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Config } from '../../src/config/config';
import { metricsAccess } from '../../src/metrics/metrics-endpoint';
import { instrumentIssuance, registry } from '../../src/metrics/metrics';

const configOf = (environment: 'development' | 'production', token?: string) => ({ env: { METRICS_TOKEN: token }, file: { environment } }) as unknown as Config;

test('without METRICS_TOKEN /metrics is open in development and hidden (404) in production', () => {
  assert.equal(metricsAccess(configOf('development'))(undefined), 'allowed');
  assert.equal(metricsAccess(configOf('production'))(undefined), 'hidden');
  assert.equal(metricsAccess(configOf('production'))('Bearer anything-at-all-here'), 'hidden');
});

test('with METRICS_TOKEN only `Authorization: Bearer <token>` reads it (RFC 6750 §2.1), in either environment', () => {
  for (const environment of ['development', 'production'] as const) {
    const access = metricsAccess(configOf(environment, 'scrape-token-0123456789'));
    assert.equal(access('Bearer scrape-token-0123456789'), 'allowed');
    assert.equal(access('Bearer scrape-token-0123456780'), 'unauthorized', 'a same-length wrong token');
    assert.equal(access('Basic c2NyYXBlOnRva2Vu'), 'unauthorized');
    assert.equal(access(undefined), 'unauthorized');
  }
});

test('instrumentIssuance counts and times each signing call by format and path, and passes results and errors through', async () => {
  const service = {
    makeSdJwt: async (request: { fail?: boolean }) => {
      if (request.fail) throw new Error('signing failed');
      return { credential: 'sd-jwt' };
    },
    jwks: async () => ({ keys: [] }),
  };
  const counted = async () => (await registry.getSingleMetric('issuer_credentials_issued_total')!.get()).values.find((v) => v.labels.format === 'dc+sd-jwt' && v.labels.path === 'api')?.value ?? 0;
  const before = await counted();
  const instrumented = instrumentIssuance(service, 'api');
  assert.deepEqual(await instrumented.makeSdJwt({}), { credential: 'sd-jwt' });
  await assert.rejects(instrumented.makeSdJwt({ fail: true }), /signing failed/);
  assert.deepEqual(await instrumented.jwks(), { keys: [] }, 'other methods are untouched');
  assert.equal((await counted()) - before, 1, 'a failed signing is timed but not counted as issued');
});

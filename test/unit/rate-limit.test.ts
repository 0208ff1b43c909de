import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requestIdFrom } from '../../src/gateway/gateway-app';
import { addressBucket, TokenBuckets } from '../../src/gateway/rate-limit';
import { startTestGatewayApp } from '../support/test-gateway-app';
import { loadTestConfig, TEST_DEV_API_KEY, testConfigFile } from '../support/test-services';

test('a client may spend its burst at once, then waits for the sustained rate', () => {
  let now = 0;
  const buckets = new TokenBuckets(2, 3, () => now);
  assert.deepEqual([buckets.take('a'), buckets.take('a'), buckets.take('a')], [0, 0, 0]);
  assert.equal(buckets.take('a'), 1, 'the fourth request waits about one second');
  assert.equal(buckets.take('b'), 0, 'another client has its own bucket');
  now += 500; // half a second refills one token at 2/s
  assert.equal(buckets.take('a'), 0);
  assert.equal(buckets.take('a'), 1);
});

test('peek reports the wait without spending a token', () => {
  let now = 0;
  const buckets = new TokenBuckets(0.2, 1, () => now);
  assert.equal(buckets.peek('x'), 0);
  buckets.take('x');
  assert.equal(buckets.peek('x'), 5);
  assert.equal(buckets.peek('x'), 5);
  now += 5000;
  assert.equal(buckets.peek('x'), 0);
});

test('IPv6 clients share a bucket per /64 (RFC 4291 §2.5.4), IPv4 per address, IPv4-mapped IPv6 as IPv4', () => {
  assert.equal(addressBucket('2001:db8:1:2::1'), addressBucket('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'));
  assert.equal(addressBucket('2001:db8:1:2::1'), 'ip6:2001:db8:1:2::/64');
  assert.notEqual(addressBucket('2001:db8:1:2::1'), addressBucket('2001:db8:1:3::1'));
  assert.equal(addressBucket('::1'), 'ip6:0:0:0:0::/64');
  assert.equal(addressBucket('fe80::1%eth0'), 'ip6:fe80:0:0:0::/64');
  assert.equal(addressBucket('::ffff:192.0.2.1'), 'ip:192.0.2.1');
  assert.equal(addressBucket('192.0.2.1'), 'ip:192.0.2.1');
  assert.notEqual(addressBucket('192.0.2.1'), addressBucket('192.0.2.2'));
  assert.equal(addressBucket(undefined), 'ip:unknown');
});

test('a client X-Request-Id is kept when it is 1-128 characters of [A-Za-z0-9._:-], and replaced by a UUID otherwise', () => {
  for (const good of ['abc', 'a'.repeat(128), '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'svc:order.42_x-1']) assert.equal(requestIdFrom(good), good);
  for (const bad of ['', 'a'.repeat(129), 'has space', 'quote"', '<script>', 'line\nbreak', 'ünicode', '{"json":1}', undefined]) {
    assert.match(requestIdFrom(bad), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, String(bad));
  }
});

test('the audit log gets the validated request id, never the client\'s raw header', async () => {
  const gateway = await startTestGatewayApp(loadTestConfig(testConfigFile()));
  try {
    const call = (id: string) => fetch(`${gateway.base}/api/v1/whoami`, { headers: { 'x-api-key': TEST_DEV_API_KEY, 'x-request-id': id } });
    const kept = await call('trace:0af7651916cd43dd');
    assert.equal(kept.headers.get('x-request-id'), 'trace:0af7651916cd43dd');
    const replaced = await call(`forged" admin=1 ${'x'.repeat(200)}`);
    const issued = replaced.headers.get('x-request-id')!;
    assert.match(issued, /^[0-9a-f-]{36}$/);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(gateway.audited.map((e) => e.requestId), ['trace:0af7651916cd43dd', issued]);
  } finally {
    await gateway.close();
  }
});

test('gateway.trust_proxy is a hop count or a list of proxy addresses / CIDR ranges; true (trust every hop) is refused', () => {
  const withTrust = (trust_proxy: unknown) => loadTestConfig(testConfigFile((f) => (f.gateway = { trust_proxy })));
  assert.equal(withTrust(1).file.gateway.trust_proxy, 1);
  assert.deepEqual(withTrust(['loopback', '10.0.0.0/8', 'fd00::/8', '192.0.2.10']).file.gateway.trust_proxy, ['loopback', '10.0.0.0/8', 'fd00::/8', '192.0.2.10']);
  assert.equal(withTrust(false).file.gateway.trust_proxy, false);
  assert.throws(() => withTrust(true), /gateway\.trust_proxy: true would trust any X-Forwarded-For/);
  assert.throws(() => withTrust(['10.0.0.0/33']), /gateway\.trust_proxy\.0: must be loopback, linklocal, uniquelocal, an IP address or a CIDR range/);
  assert.throws(() => withTrust(['proxy.example.org']), /gateway\.trust_proxy\.0/);
});

test('behind one trusted proxy hop, a client cannot choose its rate-limit bucket by prepending X-Forwarded-For entries', async () => {
  const gateway = await startTestGatewayApp(loadTestConfig(testConfigFile((f) => (f.gateway = { rate_limit: { requests_per_second: 0.01, burst: 3 }, trust_proxy: 1 }))));
  try {
    const statuses = [];
    // The proxy appends the address it saw (203.0.113.5); whatever the client wrote before it is not believed.
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`${gateway.base}/api/v1/whoami`, { headers: { 'x-api-key': TEST_DEV_API_KEY, 'x-forwarded-for': `198.51.100.${i}, 203.0.113.5` } })).status);
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    const other = await fetch(`${gateway.base}/api/v1/whoami`, { headers: { 'x-api-key': TEST_DEV_API_KEY, 'x-forwarded-for': '203.0.113.6' } });
    assert.equal(other.status, 200, 'another client behind the same proxy has its own bucket');
  } finally {
    await gateway.close();
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/config/env';
import { describeTemporalConnection, temporalConnectionOptions } from '../../src/temporal/temporal-connection-options';
import { nativeConnectionOptions } from '../../src/worker/issuer-worker';

const files: Record<string, string> = { '/etc/t/cert.pem': 'CERT', '/etc/t/key.pem': 'KEY', '/etc/t/ca.pem': 'CA' };
const read = (path: string) => {
  if (!(path in files)) throw new Error(`ENOENT: ${path}`);
  return Buffer.from(files[path]!);
};

test('without TEMPORAL_TLS_* or TEMPORAL_API_KEY the connection is plaintext (the local dev server)', () => {
  assert.deepEqual(temporalConnectionOptions('localhost:7233', {}, read), { address: 'localhost:7233' });
});

test('mTLS: the client certificate, its key, the CA and the server name reach both the client and the worker connection', () => {
  const opts = temporalConnectionOptions(
    'temporal.internal:7233',
    { TEMPORAL_TLS_CERT: '/etc/t/cert.pem', TEMPORAL_TLS_KEY: '/etc/t/key.pem', TEMPORAL_TLS_CA: '/etc/t/ca.pem', TEMPORAL_TLS_SERVER_NAME: 'frontend.temporal', TEMPORAL_API_KEY: 'key-123' },
    read,
  );
  const expected = {
    address: 'temporal.internal:7233',
    tls: { clientCertPair: { crt: Buffer.from('CERT'), key: Buffer.from('KEY') }, serverRootCACertificate: Buffer.from('CA'), serverNameOverride: 'frontend.temporal' },
    apiKey: 'key-123',
  };
  assert.deepEqual(opts, expected);
  assert.deepEqual(nativeConnectionOptions({ ...opts, namespace: 'default' } as typeof opts), expected, 'NativeConnection.connect gets the same, and nothing else');
  assert.deepEqual(describeTemporalConnection(opts), { address: 'temporal.internal:7233', tls: 'mtls', apiKey: true });
  assert.ok(!JSON.stringify(describeTemporalConnection(opts)).includes('key-123'), 'the description never carries the API key');
});

test('an API key alone turns TLS on with the system trust store (it must not travel in plaintext)', () => {
  assert.deepEqual(temporalConnectionOptions('ns.tmprl.cloud:7233', { TEMPORAL_API_KEY: 'k' }, read), { address: 'ns.tmprl.cloud:7233', tls: true, apiKey: 'k' });
  assert.deepEqual(temporalConnectionOptions('t:7233', { TEMPORAL_TLS: 'true' }, read), { address: 't:7233', tls: true });
  assert.throws(() => temporalConnectionOptions('t:7233', { TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' }, read), (err: unknown) => err instanceof ConfigError && /TEMPORAL_TLS/.test(err.message));
});

test('a certificate without its key, or an unreadable PEM file, fails the start naming the variable', () => {
  assert.throws(() => temporalConnectionOptions('t:7233', { TEMPORAL_TLS_CERT: '/etc/t/cert.pem' }, read), (err: unknown) => err instanceof ConfigError && /^TEMPORAL_TLS_KEY: required/.test(err.message));
  assert.throws(() => temporalConnectionOptions('t:7233', { TEMPORAL_TLS_KEY: '/etc/t/key.pem' }, read), (err: unknown) => err instanceof ConfigError && /^TEMPORAL_TLS_CERT: required/.test(err.message));
  assert.throws(() => temporalConnectionOptions('t:7233', { TEMPORAL_TLS_CA: '/nope.pem' }, read), (err: unknown) => err instanceof ConfigError && /^TEMPORAL_TLS_CA: cannot read \/nope\.pem/.test(err.message));
});

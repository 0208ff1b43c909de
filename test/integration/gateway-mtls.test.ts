import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../src/logger';
import { type RunningPart, startGateway } from '../../src/main/issuer-parts';
import { createTestPki, type TestPki } from '../support/test-pki';
import { createTestDatabase, loadTestConfig, REGISTRY_API_KEY, testConfigFile, testEnv } from '../support/test-services';

/** Seed 000 "Authentication": mTLS, "Client certificate authentication", as the alternative to X-API-Key. */
describe('gateway over TLS with client certificates (mTLS)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: RunningPart;
  let pki: TestPki;
  let port: number;

  before(async () => {
    database = await createTestDatabase();
    pki = await createTestPki();
    const dir = mkdtempSync(join(tmpdir(), 'issuer-mtls-'));
    const file = (name: string, pem: string) => {
      writeFileSync(join(dir, name), pem);
      return join(dir, name);
    };
    const config = loadTestConfig(
      testConfigFile((f) => {
        const sources = f.authentic_sources as Record<string, Record<string, unknown>>;
        sources['registry.example.org']!.mtls_subjects = ['CN=test-client, O=Test'];
      }),
      {
        DATABASE_URL: database.url,
        TEMPORAL_ADDRESS: testEnv().temporalAddress,
        PORT: '0',
        GATEWAY_TLS_CERT: file('server.pem', pki.serverCert),
        GATEWAY_TLS_KEY: file('server.key', pki.serverKey),
        GATEWAY_TLS_CA: file('ca.pem', pki.caCert),
      },
    );
    gateway = await startGateway(config, createLogger('silent'));
    port = Number(new URL(gateway.url!).port);
  });
  after(async () => {
    await gateway?.close();
    await database?.drop();
  });

  const call = (body: unknown, opts: { clientCert?: boolean; apiKey?: string } = {}) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const payload = JSON.stringify(body);
      const req = request(
        {
          host: '127.0.0.1',
          servername: 'localhost',
          port,
          path: '/api/v1/document',
          method: 'POST',
          ca: pki.caCert,
          ...(opts.clientCert ? { cert: pki.clientCert, key: pki.clientKey } : {}),
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...(opts.apiKey ? { 'x-api-key': opts.apiKey } : {}) },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  const ref = { authentic_source: 'registry.example.org', vct: 'urn:example:licence:1', document_id: 'none' };

  test('a client certificate whose subject a source lists authenticates as that source, without an API key', async () => {
    const res = await call(ref, { clientCert: true });
    assert.equal(res.status, 404, JSON.stringify(res.body)); // authenticated and authorized: the document simply does not exist
    assert.equal(res.body.error.code, 'DOCUMENT_NOT_FOUND');
  });

  test('the certificate acts only as its own source', async () => {
    const res = await call({ authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: 'x' }, { clientCert: true });
    assert.equal(res.status, 403);
  });

  test('without a certificate the API key still works, and with neither the call is 401', async () => {
    assert.equal((await call(ref, { apiKey: REGISTRY_API_KEY })).status, 404);
    const res = await call(ref);
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'UNAUTHORIZED');
  });
});

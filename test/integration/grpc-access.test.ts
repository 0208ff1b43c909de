import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { pino } from 'pino';
import type { Config } from '../../src/config/config';
import { ConfigError } from '../../src/config/env';
import { createIssuanceService } from '../../src/credentials/issuance-service';
import { createKeyStore } from '../../src/credentials/key-store';
import { generateKek } from '../../src/credentials/key-encryption';
import type { Db } from '../../src/db/knex';
import { createGrpcAccessPolicy, type GrpcAccessMode } from '../../src/grpc/grpc-authorization';
import { auditWriterFor, createGrpcAuditLog } from '../../src/grpc/grpc-audit-log';
import { startGrpcServer } from '../../src/grpc/grpc-server';
import { grpcSettings } from '../../src/grpc/grpc-settings';
import { createIssuerGrpcHandlers } from '../../src/grpc/issuer-grpc-handlers';
import { loadIssuerProto } from '../../src/grpc/issuer-service';
import { startGrpc } from '../../src/main/issuer-parts';
import { createTestPki, type TestPki } from '../support/test-pki';
import { createTestDatabase, loadTestConfig, testConfigFile } from '../support/test-services';
import { callUnary, expectGrpcStatus as expectStatus } from '../support/grpc-calls';

// Issue 15, finding 1: the IssuerService signs only for callers it knows, for the scopes they are
// given, and records every call with the caller's certificate subject. Each test here fails on the
// service as it was (plaintext on 0.0.0.0, any certificate for any scope, any VC 2.0 type, no audit).

const HOST = '127.0.0.1';
const DEADLINE_MS = 10_000;
const DIPLOMA = { degree_type: 'Master of Science', field_of_study: 'Computer Science', issuing_institution: 'KTH Royal Institute of Technology', graduation_date: '2024-06-14', gpa: '4.5', credits_earned: 120 };
/** The subject of test-pki's client certificate, as configured (another attribute order and spacing than the certificate's). */
const CLIENT_SUBJECT = 'O=Test,CN=test-client';

let pki: TestPki;
let db: Db;
let dbUrl: string;
let holderJwk: JWK;
const kek = generateKek();
const cleanups: (() => Promise<void> | void)[] = [];

before(async () => {
  pki = await createTestPki();
  const database = await createTestDatabase();
  db = database.db;
  dbUrl = database.url;
  cleanups.push(database.drop);
  const { kty, crv, x, y } = await exportJWK((await generateKeyPair('ES256')).publicKey);
  holderJwk = { kty, crv, x, y };
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function configWith(grpcClients: Record<string, unknown>, env: NodeJS.ProcessEnv = {}, environment = 'development'): Config {
  return loadTestConfig(
    testConfigFile((file) => {
      const types = (file.authentic_sources as Record<string, { credential_types: Record<string, unknown> }>)['hr.example.org']!.credential_types;
      types.identity_credential = { vct: 'IdentityCredential', format: 'jwt_vc_json' };
      file.grpc_clients = grpcClients;
      if (environment === 'production') {
        file.environment = 'production';
        const hr = (file.authentic_sources as Record<string, Record<string, unknown>>)['hr.example.org']!;
        delete hr.dev_api_key;
        hr.api_key_hash = `sha256:${'1'.repeat(64)}`;
      }
    }),
    env,
  );
}

/** A server over mTLS with the handlers as `issuer grpc` builds them (mapped access, audit to PostgreSQL). */
async function startMapped(config: Config, mode: GrpcAccessMode = 'mapped') {
  const keyStore = createKeyStore({ db, kek, issuerUrl: config.issuerUrl, country: 'SE' });
  await keyStore.ensureProvisioned();
  const audit = createGrpcAuditLog(auditWriterFor(db), pino({ level: 'silent' }));
  const handlers = createIssuerGrpcHandlers(createIssuanceService({ config, keyStore }), { access: createGrpcAccessPolicy(config, mode), audit });
  const server = await startGrpcServer({
    host: HOST,
    port: 0,
    tls: { cert: Buffer.from(pki.serverCert), key: Buffer.from(pki.serverKey), ca: Buffer.from(pki.caCert) },
    handlers,
    logger: pino({ level: 'error' }),
    shutdownTimeoutMs: 2_000,
  });
  cleanups.push(() => server.close());
  const pkg = loadIssuerProto() as unknown as { v1: { issuer: { IssuerService: grpc.ServiceClientConstructor } } };
  const client = new pkg.v1.issuer.IssuerService(`${HOST}:${server.port}`, grpc.credentials.createSsl(Buffer.from(pki.caCert), Buffer.from(pki.clientKey), Buffer.from(pki.clientCert)), {
    'grpc.ssl_target_name_override': 'localhost',
    'grpc.use_local_subchannel_pool': 1,
  });
  cleanups.push(() => client.close());
  return client;
}

function unary<T>(client: grpc.Client, method: string, request: object = {}): Promise<T> {
  return callUnary<T>(client, method, request, DEADLINE_MS);
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const sdJwtRequest = (scope: string) => ({ scope, documentData: json(scope === 'licence' ? { licence_number: 'L-1' } : DIPLOMA), jwk: holderJwk });

test('a production configuration refuses to start gRPC in plaintext, or with TLS but no client CA, and says what is missing', async () => {
  const plaintext = configWith({}, { DATABASE_URL: dbUrl }, 'production');
  await assert.rejects(startGrpc(plaintext, pino({ level: 'silent' })), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /GRPC_TLS_CERT, GRPC_TLS_KEY and GRPC_TLS_CA are required when environment is production/);
    return true;
  });
  const serverTlsOnly = configWith({}, { DATABASE_URL: dbUrl, GRPC_TLS_CERT: '/nonexistent/cert.pem', GRPC_TLS_KEY: '/nonexistent/key.pem' }, 'production');
  assert.throws(() => grpcSettings(serverTlsOnly), /GRPC_TLS_CA are required when environment is production/);
  await assert.rejects(startGrpc(serverTlsOnly, pino({ level: 'silent' })), ConfigError);
});

test('in development the gRPC part listens on loopback only by default; GRPC_HOST opens it for containers', async () => {
  // A database of its own: the part provisions keys under its own KEK.
  const own = await createTestDatabase();
  cleanups.push(own.drop);
  const config = configWith({}, { DATABASE_URL: own.url, GRPC_PORT: '0', GRPC_SIGNING_THREADS: '0' });
  assert.equal(grpcSettings(config).host, '127.0.0.1');
  assert.equal(grpcSettings(configWith({}, { GRPC_HOST: '0.0.0.0' })).host, '0.0.0.0');
  const dir = mkdtempSync(join(tmpdir(), 'grpc-tls-'));
  for (const [name, pem] of Object.entries({ cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert })) writeFileSync(join(dir, `${name}.pem`), pem);
  const mtls = { GRPC_TLS_CERT: join(dir, 'cert.pem'), GRPC_TLS_KEY: join(dir, 'key.pem'), GRPC_TLS_CA: join(dir, 'ca.pem') };
  const production = grpcSettings(configWith({}, mtls, 'production'));
  assert.deepEqual([production.host, production.mode], ['0.0.0.0', 'mapped'], 'production listens everywhere, with client certificates required');

  const part = await startGrpc(config, pino({ level: 'silent' }));
  cleanups.push(() => part.close());
  const port = Number(new URL(part.url!).port);
  const reachable = (host: string) =>
    new Promise<boolean>((resolve) => {
      const socket = connect({ host, port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
  assert.equal(await reachable('127.0.0.1'), true);
  const external = Object.values(networkInterfaces())
    .flat()
    .find((address) => address && address.family === 'IPv4' && !address.internal);
  if (external) assert.equal(await reachable(external.address), false, `not reachable on ${external.address}`);
  else process.stdout.write('# no non-loopback IPv4 address on this machine: only the loopback bind was checked\n');
});

test('a client certificate is served only the scopes grpc_clients maps its subject to; every other scope is PERMISSION_DENIED', async () => {
  const client = await startMapped(configWith({ apigw: { subjects: [CLIENT_SUBJECT], scopes: ['diploma', 'org.iso.18013.5.1.mDL', 'identity_credential'] } }));
  const reply = await unary<{ credentials: { credential: string }[] }>(client, 'MakeSDJWT', sdJwtRequest('diploma'));
  assert.equal(reply.credentials.length, 1);
  // By vct, the same type.
  await unary(client, 'MakeSDJWT', sdJwtRequest('urn:eudi:diploma:1'));
  for (const scope of ['employee_badge', 'urn:example:employee:1', 'licence']) {
    const denied = await expectStatus(unary(client, 'MakeSDJWT', sdJwtRequest(scope)), grpc.status.PERMISSION_DENIED);
    assert.match(denied.details, /grpc:apigw may not issue/);
  }
  await expectStatus(unary(client, 'MakeSDJWT', sdJwtRequest('no_such_scope')), grpc.status.NOT_FOUND);
  await expectStatus(unary(client, 'MakeVC20', { scope: 'employment', document_data: json({ role: 'x' }), jwk: holderJwk }), grpc.status.PERMISSION_DENIED);
  await expectStatus(unary(client, 'SignMetadata', { metadata_json: json({ credential_issuer: 'http://localhost:8080' }) }), grpc.status.PERMISSION_DENIED);
  // Public information for any mapped client.
  assert.ok((await unary<{ jwks: { keys: unknown[] } }>(client, 'JWKS')).jwks.keys.length >= 1);
});

test('MakeVC20 signs only configured types the client may issue: an unconfigured type is INVALID_ARGUMENT, a configured one not mapped PERMISSION_DENIED', async () => {
  const client = await startMapped(configWith({ apigw: { subjects: [CLIENT_SUBJECT], scopes: ['identity_credential'] } }));
  const ok = await unary<{ credential: string }>(client, 'MakeVC20', { credential_types: ['VerifiableCredential', 'IdentityCredential'], document_data: json({ givenName: 'Anna' }), jwk: holderJwk });
  assert.deepEqual(JSON.parse(Buffer.from(ok.credential.split('.')[1]!, 'base64url').toString()).type, ['VerifiableCredential', 'IdentityCredential']);
  const unconfigured = await expectStatus(unary(client, 'MakeVC20', { credential_types: ['IdentityCredential', 'AdminCredential'], document_data: json({ givenName: 'Anna' }), jwk: holderJwk }), grpc.status.INVALID_ARGUMENT);
  assert.equal(unconfigured.details, 'credential_types.1: "AdminCredential" is not a configured jwt_vc_json credential type');
  await expectStatus(unary(client, 'MakeVC20', { credential_types: ['EmploymentCredential'], document_data: json({ role: 'x' }), jwk: holderJwk }), grpc.status.PERMISSION_DENIED);
});

test('a certificate whose subject no grpc_clients entry lists is refused for every scope and RPC, and the refusals are audited', async () => {
  const client = await startMapped(configWith({ other: { subjects: ['CN=test-client, O=Other'], scopes: ['diploma', 'employee_badge', 'licence'] } }));
  for (const scope of ['diploma', 'employee_badge', 'licence', 'no_such_scope']) {
    const denied = await expectStatus(unary(client, 'MakeSDJWT', sdJwtRequest(scope)), grpc.status.PERMISSION_DENIED);
    assert.match(denied.details, /is not listed under grpc_clients/);
  }
  for (const method of ['JWKS', 'GetIACAs', 'MakeVC20', 'MakeMDoc', 'SignMetadata', 'SetCredentialStatus']) await expectStatus(unary(client, method, {}), grpc.status.PERMISSION_DENIED);
  const rows = await db('audit_log').where({ action: 'grpc.MakeSDJWT', actor: 'grpc:unlisted' }).select('target');
  assert.ok(rows.length >= 4);
  for (const { target } of rows as { target: Record<string, string> }[]) {
    assert.equal(target.code, 'PERMISSION_DENIED');
    assert.match(target.subject ?? '', /CN=test-client/);
  }
});

test('every call is audited before its reply, with the caller\'s client name and certificate subject, the scope\'s vct and the outcome', async () => {
  const client = await startMapped(configWith({ auditor: { subjects: [CLIENT_SUBJECT], scopes: ['employee_badge'] } }));
  const before = Number((await db('audit_log').count({ n: '*' }).first())?.n ?? 0);
  await unary(client, 'MakeSDJWT', { scope: 'employee_badge', documentData: json({ employee_id: 'E-1', given_name: 'Anna', family_name: 'Andersson', department: 'R&D', position: 'Engineer' }), jwk: holderJwk }).catch(() => undefined);
  await expectStatus(unary(client, 'MakeSDJWT', sdJwtRequest('diploma')), grpc.status.PERMISSION_DENIED);
  await unary(client, 'JWKS');
  // No waiting: the rows are there when the replies are.
  const rows = (await db('audit_log').where('actor', 'grpc:auditor').orderBy('id').select('*')) as { action: string; method: string; path: string; client_ip: string; target: Record<string, string> }[];
  assert.equal(Number((await db('audit_log').count({ n: '*' }).first())?.n ?? 0) - before, 3);
  assert.deepEqual(rows.map((r) => r.action), ['grpc.MakeSDJWT', 'grpc.MakeSDJWT', 'grpc.JWKS']);
  assert.deepEqual(rows.map((r) => r.target.vct ?? null), ['urn:example:employee:1', null, null]);
  assert.equal(rows[1]!.target.code, 'PERMISSION_DENIED');
  assert.equal(rows[2]!.target.code, 'OK');
  for (const row of rows) {
    assert.equal(row.method, 'GRPC');
    assert.match(row.path, /^\/v1\.issuer\.IssuerService\//);
    assert.match(row.target.subject ?? '', /CN=test-client/);
    assert.match(row.target.subject ?? '', /O=Test/);
    assert.match(row.client_ip, /127\.0\.0\.1/);
    assert.ok(!JSON.stringify(row).includes('Andersson'), 'no document data in the audit log');
  }
});

test('a call without a client certificate is UNAUTHENTICATED (when the transport lets one through), and grpc_clients scopes must be configured types', () => {
  const config = configWith({ apigw: { subjects: [CLIENT_SUBJECT], scopes: ['diploma'] } });
  const policy = createGrpcAccessPolicy(config, 'mapped');
  const context = { peer: 'ipv4:127.0.0.1:1', metadata: new grpc.Metadata(), signal: new AbortController().signal };
  assert.throws(() => policy.identify(context), (err: { code?: number }) => err.code === grpc.status.UNAUTHENTICATED);
  assert.equal(policy.identify({ ...context, clientCertificateAttributes: { CN: 'test-client', O: 'Test' } }).actor, 'grpc:apigw');
  // A certificate with one attribute more is another subject.
  assert.throws(() => policy.identify({ ...context, clientCertificateAttributes: { CN: 'test-client', O: 'Test', OU: 'x' } }), (err: { code?: number }) => err.code === grpc.status.PERMISSION_DENIED);
  assert.throws(() => configWith({ apigw: { subjects: [CLIENT_SUBJECT], scopes: ['no_such_type'] } }), /grpc_clients\.apigw\.scopes\.0: "no_such_type" is no configured credential type/);
});

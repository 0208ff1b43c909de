import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { exportJWK, generateKeyPair, type JSONWebKeySet, type JWK } from 'jose';
import { pino } from 'pino';
import type { Config } from '../../src/config/config';
import { createIssuanceService } from '../../src/credentials/issuance-service';
import { createKeyStore, type KeyStore } from '../../src/credentials/key-store';
import { formatKek, generateKek } from '../../src/credentials/key-encryption';
import { MDL_DOCTYPE } from '../../src/credentials/mdoc-issuer';
import { createGrpcAccessPolicy } from '../../src/grpc/grpc-authorization';
import { createGrpcAuditLog } from '../../src/grpc/grpc-audit-log';
import { createIssuerGrpcHandlers } from '../../src/grpc/issuer-grpc-handlers';
import { loadIssuerProto, type JwksReply, type MakeMDocReply, type MakeSDJWTReply, type MakeSDJWTRequest, type MakeVC20Reply } from '../../src/grpc/issuer-service';
import { startGrpc, type RunningPart } from '../../src/main/issuer-parts';
import { decodeIssuerSigned, verifyIssuerAuth, verifySdJwtVc } from '../support/credential-verifiers';
import { createTestPki, type TestPki } from '../support/test-pki';
import { createTestDatabase, loadTestConfig, testConfigFile } from '../support/test-services';
import { callUnary } from '../support/grpc-calls';

// The gRPC part as `issuer grpc` runs it: signing on worker threads (GRPC_SIGNING_THREADS), each with
// its own key store over the same PostgreSQL and KEK. Credentials must verify against the keys the
// database holds, and errors must read exactly as when signing happens on the gRPC thread.

const ISSUER_URL = 'https://issuer.example.org';
const DEADLINE_MS = 10_000;
const DIPLOMA = { degree_type: 'Master of Science', field_of_study: 'Computer Science', issuing_institution: 'KTH Royal Institute of Technology', graduation_date: '2024-06-14', gpa: '4.5', credits_earned: 120 };

let pki: TestPki;
let config: Config;
let keyStore: KeyStore;
let part: RunningPart;
let client: grpc.Client;
let holderJwk: JWK;
const cleanups: (() => Promise<void> | void)[] = [];

/** The test configuration plus the mDL and a VC 2.0 type, with these environment variables. */
function configWith(env: NodeJS.ProcessEnv): Config {
  return loadTestConfig(
    testConfigFile((file) => {
      const types = (file.authentic_sources as Record<string, { credential_types: Record<string, unknown> }>)['hr.example.org']!.credential_types;
      types.mdl = { vct: MDL_DOCTYPE, format: 'mso_mdoc' };
      types.identity_credential = { vct: 'IdentityCredential', format: 'jwt_vc_json' };
    }),
    { ISSUER_URL, GRPC_PORT: '0', ...env },
  );
}

before(async () => {
  pki = await createTestPki();
  const { url, db, drop } = await createTestDatabase();
  cleanups.push(drop);
  const dir = mkdtempSync(join(tmpdir(), 'grpc-tls-'));
  writeFileSync(join(dir, 'cert.pem'), pki.serverCert);
  writeFileSync(join(dir, 'key.pem'), pki.serverKey);
  const kek = generateKek();
  config = configWith({ DATABASE_URL: url, ISSUER_KEK: formatKek(kek), GRPC_SIGNING_THREADS: '2', GRPC_TLS_CERT: join(dir, 'cert.pem'), GRPC_TLS_KEY: join(dir, 'key.pem') });
  part = await startGrpc(config, pino({ level: 'silent' }));
  cleanups.push(() => part.close());
  // The test's own view of the same keys, as another process would have it.
  keyStore = createKeyStore({ db, kek, issuerUrl: config.issuerUrl, country: 'SE' });

  const pkg = loadIssuerProto() as unknown as { v1: { issuer: { IssuerService: grpc.ServiceClientConstructor } } };
  client = new pkg.v1.issuer.IssuerService(`127.0.0.1:${new URL(part.url!).port}`, grpc.credentials.createSsl(Buffer.from(pki.caCert)), {
    'grpc.ssl_target_name_override': 'localhost',
  });
  cleanups.push(() => client.close());
  const { kty, crv, x, y } = await exportJWK((await generateKeyPair('ES256')).publicKey);
  holderJwk = { kty, crv, x, y };
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function unary<T>(method: string, request: object = {}): Promise<T> {
  return callUnary<T>(client, method, request, DEADLINE_MS);
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

test('MakeSDJWT calls spread over the signing threads return SD-JWT VCs that verify against the keys in PostgreSQL (RFC 9901 §7.1)', async () => {
  const jwks: JSONWebKeySet = (await keyStore.jwks()) as JSONWebKeySet;
  const signer = await keyStore.signer('credential');
  const replies = await Promise.all(Array.from({ length: 24 }, (_, i) => unary<MakeSDJWTReply>('MakeSDJWT', { scope: 'diploma', documentData: json({ ...DIPLOMA, gpa: `${i}` }), jwk: holderJwk })));
  for (const [i, reply] of replies.entries()) {
    const verified = await verifySdJwtVc(reply.credentials[0]!.credential, jwks, { issuer: ISSUER_URL });
    assert.equal(verified.header.kid, signer.kid);
    assert.equal(verified.claims.gpa, `${i}`, 'each reply carries its own request\'s claims');
    assert.deepEqual(verified.payload.cnf, { jwk: holderJwk });
  }
});

test('JWKS, MakeMDoc and MakeVC20 answer from the signing threads with the database\'s keys (ISO/IEC 18013-5 §9.1.2, VC-JOSE-COSE §3.1.1)', async () => {
  const jwks = await unary<JwksReply>('JWKS');
  assert.deepEqual(jwks.keys.map((k) => k.kid), (await keyStore.jwks()).keys.map((k) => k.kid));

  const mdoc = await unary<MakeMDocReply>('MakeMDoc', {
    doc_type: MDL_DOCTYPE,
    document_data: json({ family_name: 'Andersson', given_name: 'Anna', birth_date: '1985-04-12', issue_date: '2024-01-15', expiry_date: '2034-01-14', issuing_country: 'SE', issuing_authority: 'Transportstyrelsen', document_number: 'SE1', driving_privileges: [], un_distinguishing_sign: 'S' }),
    device_public_key: json(holderJwk),
    device_key_format: 'jwk',
  });
  const { issuerAuth } = decodeIssuerSigned(mdoc.mdoc);
  const documentSigner = await verifyIssuerAuth(issuerAuth, await keyStore.iacaCertificatesPem());
  assert.match(documentSigner.subject, /C=SE/);

  const vc = await unary<MakeVC20Reply>('MakeVC20', { credential_types: ['IdentityCredential'], document_data: json({ givenName: 'Anna' }), subject_did: 'did:example:123' });
  const [header] = vc.credential.split('.');
  assert.equal(JSON.parse(Buffer.from(header!, 'base64url').toString()).kid, (await keyStore.signer('credential')).kid);
});

test('an input error from a signing thread reaches the caller as INVALID_ARGUMENT with the same message as signing in-process', async () => {
  const inProcess = createIssuerGrpcHandlers(createIssuanceService({ config, keyStore }), {
    access: createGrpcAccessPolicy(config, 'open'),
    audit: createGrpcAuditLog(async () => {}, pino({ level: 'silent' })),
  });
  const context = { peer: '', metadata: new grpc.Metadata(), signal: new AbortController().signal };
  const protoJwk = { kid: '', alg: '', use: '', n: '', e: '', kty: holderJwk.kty!, crv: holderJwk.crv!, x: holderJwk.x!, y: holderJwk.y! };
  const cases: Pick<MakeSDJWTRequest, 'scope' | 'documentData'>[] = [
    { scope: 'diploma', documentData: json({ ...DIPLOMA, iss: 'https://evil.example' }) },
    { scope: 'diploma', documentData: json({ field_of_study: 'Computer Science' }) },
  ];
  for (const request of cases) {
    const expected = await inProcess.MakeSDJWT({ ...request, jwk: protoJwk, integrity: '', vctm: Buffer.alloc(0) }, context).then(
      () => assert.fail('expected the in-process handler to refuse'),
      (err: Error) => err.message,
    );
    const err = await unary('MakeSDJWT', { ...request, jwk: holderJwk }).then(
      () => assert.fail('expected INVALID_ARGUMENT'),
      (e: grpc.ServiceError) => e,
    );
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(err.details, expected);
  }
});

test('the gRPC part does not start when its signing threads cannot open the key store, and says why', async () => {
  const unreachable = configWith({ DATABASE_URL: 'postgres://issuer@127.0.0.1:1/issuer', GRPC_SIGNING_THREADS: '1' });
  await assert.rejects(startGrpc(unreachable, pino({ level: 'silent' })), /ECONNREFUSED/);
});

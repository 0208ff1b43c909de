import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { Encoder } from 'cbor-x';
import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, type JSONWebKeySet, type JWK } from 'jose';
import { pino } from 'pino';
import { formatKek, generateKek } from '../../src/credentials/key-encryption';
import { MDL_DOCTYPE, MDL_NAMESPACE } from '../../src/credentials/mdoc-issuer';
import { issuerServiceAliasDefinition } from '../../src/grpc/issuer-service';
import { startGrpc, type RunningPart } from '../../src/main/issuer-parts';
import { checkValueDigests, decodeIssuerSigned, verifyIssuerAuth, verifySdJwtVc } from '../support/credential-verifiers';
import { createTestPki, type TestPki } from '../support/test-pki';
import { createTestDatabase, loadTestConfig, testConfigFile } from '../support/test-services';
import { callUnary, expectGrpcStatus as expectStatus } from '../support/grpc-calls';

// Issue 23, done-when: a client written from seed 000 alone (test/fixtures/grpc/seed-000-issuer-client.proto,
// package v1.issuer, the seed's request messages and the reply layouts upstream clients decode) calls
// every RPC of the gRPC part as `issuer grpc` runs it (mTLS, signing threads, PostgreSQL), and reads
// every reply field. Its MakeSDJWT is the seed's own example: scope, documentData, jwk and vctm.

const ISSUER_URL = 'https://issuer.example.org';
const DEADLINE_MS = 15_000;
const DIPLOMA = { degree_type: 'Master of Science', field_of_study: 'Computer Science', issuing_institution: 'KTH Royal Institute of Technology', graduation_date: '2024-06-14', gpa: '4.5', credits_earned: 120 };
const MDL_DOCUMENT = JSON.parse(readFileSync(new URL('../fixtures/credentials/mdl-document.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** The seed client's messages as proto-loader decodes them: int64 as strings, enums by name, every field present. */
interface SeedJwk { kid: string; crv: string; kty: string; x: string; y: string; d: string; key_ops: string[]; ext: boolean; n: string; e: string; alg: string; use: string }
interface StatusFields { section: string; index: string; uri: string; backend: string; allocation: string }

let pki: TestPki;
let part: RunningPart;
let seed: grpc.Client;
let holderJwk: JWK;
const cleanups: (() => Promise<void> | void)[] = [];

before(async () => {
  pki = await createTestPki();
  const { url, drop } = await createTestDatabase();
  cleanups.push(drop);
  const dir = mkdtempSync(join(tmpdir(), 'grpc-seed-'));
  for (const [name, pem] of Object.entries({ cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert })) writeFileSync(join(dir, `${name}.pem`), pem);
  const config = loadTestConfig(
    testConfigFile((file) => {
      const types = (file.authentic_sources as Record<string, { credential_types: Record<string, unknown> }>)['hr.example.org']!.credential_types;
      types.mdl = { vct: MDL_DOCTYPE, format: 'mso_mdoc' };
      types.identity_credential = { vct: 'IdentityCredential', format: 'jwt_vc_json' };
      // test-pki's client certificate is the seed client.
      file.grpc_clients = { seed: { subjects: ['CN=test-client, O=Test'], scopes: ['diploma', 'mdl', 'identity_credential'], sign_metadata: true } };
    }),
    {
      ISSUER_URL,
      GRPC_PORT: '0',
      DATABASE_URL: url,
      ISSUER_KEK: formatKek(generateKek()),
      GRPC_SIGNING_THREADS: '1',
      GRPC_TLS_CERT: join(dir, 'cert.pem'),
      GRPC_TLS_KEY: join(dir, 'key.pem'),
      GRPC_TLS_CA: join(dir, 'ca.pem'),
    },
  );
  part = await startGrpc(config, pino({ level: 'silent' }));
  cleanups.push(() => part.close());

  // The seed's connection: grpc.Dial with transport credentials (here mTLS), then NewIssuerServiceClient.
  const definition = loadSync(new URL('../fixtures/grpc/seed-000-issuer-client.proto', import.meta.url).pathname, { keepCase: true, longs: String, enums: String, defaults: true, arrays: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { v1: { issuer: { IssuerService: grpc.ServiceClientConstructor } } };
  seed = new pkg.v1.issuer.IssuerService(`127.0.0.1:${new URL(part.url!).port}`, credentials(), { 'grpc.ssl_target_name_override': 'localhost' });
  cleanups.push(() => seed.close());
  const { kty, crv, x, y } = await exportJWK((await generateKeyPair('ES256')).publicKey);
  holderJwk = { kty, crv, x, y };
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const credentials = () => grpc.credentials.createSsl(Buffer.from(pki.caCert), Buffer.from(pki.clientKey), Buffer.from(pki.clientCert));

function unary<T>(method: string, request: object = {}, client: grpc.Client = seed): Promise<T> {
  return callUnary<T>(client, method, request, DEADLINE_MS);
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** The JWKS reply (upstream layout: `jwks.keys`) as a JSON Web Key Set, every field read. */
async function jwksFromSeedClient(): Promise<JSONWebKeySet> {
  const reply = await unary<{ issuer: string; jwks: { keys: SeedJwk[] } }>('JWKS');
  assert.equal(reply.issuer, ISSUER_URL);
  assert.ok(reply.jwks.keys.length >= 1, 'keys in field 2 (jwks), field 1 of it');
  for (const key of reply.jwks.keys) {
    assert.deepEqual([key.kty, key.crv, key.alg, key.use], ['EC', 'P-256', 'ES256', 'sig']);
    assert.ok(key.kid && key.x && key.y);
    assert.deepEqual([key.d, key.key_ops, key.ext, key.n, key.e], ['', [], false, '', ''], 'no private or RSA members');
  }
  return { keys: reply.jwks.keys.map(({ kid, kty, crv, x, y, alg, use }) => ({ kid, kty, crv, x, y, alg, use })) };
}

function assertNotRevocable(fields: StatusFields): void {
  assert.deepEqual(fields, { section: '0', index: '0', uri: '', backend: '', allocation: 'STATUS_ALLOCATION_NONE' });
}

test('the seed\'s MakeSDJWT example (scope, documentData, jwk, vctm) returns an SD-JWT VC that verifies against the keys the same client read from JWKS and is bound to the holder key it sent', async () => {
  const jwks = await jwksFromSeedClient();
  const vctmBytes = readFileSync(new URL('../../metadata/vctm_diploma.json', import.meta.url));
  const reply = await unary<{ credentials: { credential: string }[]; token_status_list_section: string; token_status_list_index: string; token_status_list_uri: string; token_status_list_backend: string; status_allocation: string }>(
    'MakeSDJWT',
    { scope: 'diploma', documentData: json(DIPLOMA), jwk: holderJwk, vctm: vctmBytes },
  );
  assert.equal(reply.credentials.length, 1);
  const verified = await verifySdJwtVc(reply.credentials[0]!.credential, jwks, { issuer: ISSUER_URL });
  assert.equal(verified.payload.vct, 'urn:eudi:diploma:1');
  assert.deepEqual(verified.payload.cnf, { jwk: holderJwk });
  assert.equal(verified.claims.degree_type, DIPLOMA.degree_type);
  assertNotRevocable({ section: reply.token_status_list_section, index: reply.token_status_list_index, uri: reply.token_status_list_uri, backend: reply.token_status_list_backend, allocation: reply.status_allocation });
});

test('MakeMDoc accepts the seed\'s doc_type (2) and upstream\'s mddl (6); the mdoc chains to a certificate GetIACAs returns as DER', async () => {
  const iacas = await unary<{ certificates: Buffer[] }>('GetIACAs');
  assert.ok(iacas.certificates.length >= 1);
  const iacaPems = iacas.certificates.map((der) => new X509Certificate(der).toString());
  for (const pem of iacaPems) assert.ok(new X509Certificate(pem).ca, 'an IACA is a CA certificate');

  const coseKey = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false }).encode(
    new Map<number, unknown>([
      [1, 2],
      [-1, 1],
      [-2, Buffer.from(holderJwk.x!, 'base64url')],
      [-3, Buffer.from(holderJwk.y!, 'base64url')],
    ]),
  );
  const base = { scope: 'mdl', document_data: json(MDL_DOCUMENT), device_public_key: coseKey, device_key_format: 'cose' };
  for (const form of [{ doc_type: MDL_DOCTYPE }, { mddl: json({ format: 'mso_mdoc', doctype: MDL_DOCTYPE }) }]) {
    const reply = await unary<{ mdoc: Buffer; status_list_section: string; status_list_index: string; valid_from: string; valid_until: string; status_list_uri: string; status_list_backend: string; status_allocation: string }>('MakeMDoc', { ...base, scope: '', ...form });
    const { nameSpaces, issuerAuth, mso } = decodeIssuerSigned(reply.mdoc);
    assert.equal(mso.get('docType'), MDL_DOCTYPE);
    assert.equal(checkValueDigests(nameSpaces, mso).get(MDL_NAMESPACE)!.get('family_name'), MDL_DOCUMENT.family_name);
    await verifyIssuerAuth(issuerAuth, iacaPems);
    assert.match(reply.valid_from, rfc3339);
    assert.match(reply.valid_until, rfc3339);
    assertNotRevocable({ section: reply.status_list_section, index: reply.status_list_index, uri: reply.status_list_uri, backend: reply.status_list_backend, allocation: reply.status_allocation });
  }
  const disagree = await unary('MakeMDoc', { ...base, doc_type: MDL_DOCTYPE, mddl: json({ doctype: 'eu.europa.ec.eudi.pid.1' }) }).catch((e: grpc.ServiceError) => e);
  assert.ok(disagree instanceof Error && [grpc.status.NOT_FOUND, grpc.status.INVALID_ARGUMENT].includes((disagree as grpc.ServiceError).code));
});

type SeedVc20Reply = { credential: Buffer; credential_id: string; status_list_section: string; status_list_index: string; valid_from: string; valid_until: string; status_list_uri: string; status_list_backend: string; status_allocation: string };
const seedVc20Request = { scope: 'identity_credential', document_data: json({ givenName: 'Anna', familyName: 'Andersson' }), credential_types: ['VerifiableCredential', 'IdentityCredential'], subject_did: 'did:web:holder.example.org' };

test('MakeVC20 with upstream\'s cryptosuite (5) returns the credential document with its Data Integrity proof in `bytes credential` (1); mandatory_pointers (6) only with ecdsa-sd-2023', async () => {
  const reply = await unary<SeedVc20Reply>('MakeVC20', { ...seedVc20Request, cryptosuite: 'ecdsa-rdfc-2019' });
  const vc = JSON.parse(reply.credential.toString('utf8')) as Record<string, any>;
  assert.deepEqual(vc.type, ['VerifiableCredential', 'IdentityCredential']);
  assert.equal(vc.id, reply.credential_id);
  assert.equal(vc.credentialSubject.id, 'did:web:holder.example.org');
  // VC Data Integrity 1.0 §2.1: the proof's members (verified cryptographically in data-integrity.test.ts, through did.json).
  assert.equal(vc.proof.type, 'DataIntegrityProof');
  assert.equal(vc.proof.cryptosuite, 'ecdsa-rdfc-2019');
  assert.equal(vc.proof.proofPurpose, 'assertionMethod');
  assert.match(vc.proof.proofValue, /^z[1-9A-HJ-NP-Za-km-z]+$/, 'multibase base58btc');
  const kids = (await jwksFromSeedClient()).keys.map((k) => k.kid);
  assert.ok(kids.some((kid) => vc.proof.verificationMethod === `${vc.issuer}#${kid}`), 'signed by a key JWKS publishes, named in the issuer\'s did:web');
  // Mandatory pointers belong to the selective-disclosure suite only (ecdsa-sd-2023: data-integrity.test.ts).
  await expectStatus(unary('MakeVC20', { ...seedVc20Request, cryptosuite: 'ecdsa-rdfc-2019', mandatory_pointers: ['/issuer'] }), grpc.status.INVALID_ARGUMENT);
  await expectStatus(unary('MakeVC20', { ...seedVc20Request, mandatory_pointers: ['/issuer'] }), grpc.status.INVALID_ARGUMENT);
  await expectStatus(unary('MakeVC20', { ...seedVc20Request, cryptosuite: 'bbs-2023' }), grpc.status.INVALID_ARGUMENT);
});

test('MakeVC20 with upstream\'s request fields and no cryptosuite returns the vc+jwt in `bytes credential` (1), verified against JWKS', async () => {
  const reply = await unary<SeedVc20Reply>('MakeVC20', seedVc20Request);
  const { payload } = await jwtVerify(reply.credential.toString('utf8'), createLocalJWKSet(await jwksFromSeedClient()), { typ: 'vc+jwt' });
  assert.deepEqual(payload.type, ['VerifiableCredential', 'IdentityCredential']);
  assert.equal(payload.id, reply.credential_id);
  assert.equal((payload.credentialSubject as { id: string }).id, 'did:web:holder.example.org');
  assert.equal(payload.validFrom, reply.valid_from);
  assert.equal(payload.validUntil, reply.valid_until);
  assertNotRevocable({ section: reply.status_list_section, index: reply.status_list_index, uri: reply.status_list_uri, backend: reply.status_list_backend, allocation: reply.status_allocation });
});

test('SignMetadata returns signed_metadata: a JWT of typ openidvci-issuer-metadata+jwt with iss, sub and iat, signed with a JWKS key (OpenID4VCI 1.0 §12.2.3)', async () => {
  const metadata = { credential_issuer: ISSUER_URL, credential_endpoint: `${ISSUER_URL}/credential`, display: [{ name: 'Durable Issuer', locale: 'en' }] };
  const reply = await unary<{ signed_metadata: string }>('SignMetadata', { metadata_json: json(metadata), metadata_type: 'vci-issuer', iss: '', sub: '' });
  const jwks = await jwksFromSeedClient();
  const { payload, protectedHeader } = await jwtVerify(reply.signed_metadata, createLocalJWKSet(jwks), { typ: 'openidvci-issuer-metadata+jwt', subject: ISSUER_URL, issuer: ISSUER_URL });
  assert.ok(jwks.keys.some((key) => key.kid === protectedHeader.kid));
  assert.equal(decodeProtectedHeader(reply.signed_metadata).alg, 'ES256');
  assert.equal(typeof payload.iat, 'number');
  assert.deepEqual(payload.display, metadata.display);
  const wrongSub = await unary('SignMetadata', { metadata_json: json(metadata), sub: 'https://other.example.org' }).catch((e: grpc.ServiceError) => e);
  assert.equal((wrongSub as grpc.ServiceError).code, grpc.status.INVALID_ARGUMENT);
});

test('SetCredentialStatus is served by the grpc part over the status lists: a URI that names no list of this issuer is NOT_FOUND with the reason', async () => {
  const err = await unary('SetCredentialStatus', { backend: 'registry', status_list_uri: `${ISSUER_URL}/status-lists/1`, section: 0, index: 7, status: 1 }).catch((e: grpc.ServiceError) => e);
  assert.equal((err as grpc.ServiceError).code, grpc.status.NOT_FOUND);
  assert.match((err as grpc.ServiceError).details, /not a status list of this issuer/);
  const noEntry = await unary('SetCredentialStatus', { backend: 'registry', status_list_uri: `${ISSUER_URL}/status-lists/token/0`, section: 0, index: 7, status: 1 }).catch((e: grpc.ServiceError) => e);
  assert.equal((noEntry as grpc.ServiceError).code, grpc.status.NOT_FOUND);
  assert.match((noEntry as grpc.ServiceError).details, /no issued credential has this index/);
});

test('status codes a Go client expects: NOT_FOUND for an unknown scope, INVALID_ARGUMENT for bad input, never INTERNAL', async () => {
  const code = (call: Promise<unknown>) => call.then(() => grpc.status.OK, (e: grpc.ServiceError) => e.code);
  assert.equal(await code(unary('MakeSDJWT', { scope: 'no_such_scope', documentData: json(DIPLOMA), jwk: holderJwk })), grpc.status.NOT_FOUND);
  assert.equal(await code(unary('MakeSDJWT', { scope: 'diploma', documentData: Buffer.from('{'), jwk: holderJwk })), grpc.status.INVALID_ARGUMENT);
  assert.equal(await code(unary('MakeSDJWT', { scope: 'diploma', documentData: json(DIPLOMA) })), grpc.status.INVALID_ARGUMENT);
  assert.equal(await code(unary('MakeSDJWT', { scope: 'diploma', documentData: json(DIPLOMA), jwk: holderJwk, vctm: Buffer.from('not json') })), grpc.status.INVALID_ARGUMENT);
  assert.equal(await code(unary('MakeMDoc', { scope: 'mdl', document_data: json(MDL_DOCUMENT), device_public_key: Buffer.from([1, 2, 3]) })), grpc.status.INVALID_ARGUMENT);
  assert.equal(await code(unary('MakeVC20', { credential_types: ['PassportCredential'], document_data: json({}) })), grpc.status.INVALID_ARGUMENT);
  assert.equal(await code(unary('SignMetadata', { metadata_json: Buffer.from('[]') })), grpc.status.INVALID_ARGUMENT);
});

test('the same service answers under this issuer\'s earlier name issuer.v1.IssuerService', async () => {
  const Alias = grpc.makeGenericClientConstructor(issuerServiceAliasDefinition(), 'IssuerService');
  const alias = new Alias(`127.0.0.1:${new URL(part.url!).port}`, credentials(), { 'grpc.ssl_target_name_override': 'localhost' });
  cleanups.push(() => alias.close());
  const reply = await unary<{ issuer: string; keys: unknown[]; jwks: { keys: unknown[] } }>('JWKS', {}, alias);
  assert.equal(reply.issuer, ISSUER_URL);
  assert.equal(reply.keys.length, reply.jwks.keys.length);
});

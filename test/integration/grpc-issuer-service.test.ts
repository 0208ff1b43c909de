import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { Encoder, Tag } from 'cbor-x';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, type JSONWebKeySet, type JWK } from 'jose';
import { pino } from 'pino';
import type { Config } from '../../src/config/config';
import { createIssuanceService } from '../../src/credentials/issuance-service';
import { createKeyStore, type KeyStore } from '../../src/credentials/key-store';
import { generateKek } from '../../src/credentials/key-encryption';
import { MDL_DOCTYPE, MDL_NAMESPACE } from '../../src/credentials/mdoc-issuer';
import { startGrpcServer, type RunningGrpcServer } from '../../src/grpc/grpc-server';
import { createGrpcAccessPolicy } from '../../src/grpc/grpc-authorization';
import { auditWriterFor, createGrpcAuditLog } from '../../src/grpc/grpc-audit-log';
import { createIssuerGrpcHandlers } from '../../src/grpc/issuer-grpc-handlers';
import { createStatusListsRepository, issuedCredentialRef, type StatusListsRepository } from '../../src/db/status-lists-repository';
import type { Db } from '../../src/db/knex';
import { loadIssuerProto, type IssuerServiceHandlers, type JwksReply, type MakeMDocReply, type MakeSDJWTReply, type MakeVC20Reply } from '../../src/grpc/issuer-service';
import { checkValueDigests, decodeIssuerSigned, verifyIssuerAuth, verifySdJwtVc } from '../support/credential-verifiers';
import { createTestPki, type TestPki } from '../support/test-pki';
import { createTestDatabase, loadTestConfig, testConfigFile } from '../support/test-services';
import { callUnary, expectGrpcStatus as expectStatus } from '../support/grpc-calls';

// The seed's IssuerService end to end: real grpc-js clients over TLS on loopback, the handlers over
// the issuance service over a key store in a real PostgreSQL; every credential is checked with
// independent code (plain jose, our own digests and COSE Sig_structure, @peculiar/x509).

const HOST = '127.0.0.1';
const ISSUER_URL = 'https://issuer.example.org';
const DEADLINE_MS = 10_000;
const DIPLOMA = { degree_type: 'Master of Science', field_of_study: 'Computer Science', issuing_institution: 'KTH Royal Institute of Technology', graduation_date: '2024-06-14', gpa: '4.5', credits_earned: 120 };
const MDL_DOCUMENT = JSON.parse(readFileSync(new URL('../fixtures/credentials/mdl-document.json', import.meta.url), 'utf8')) as Record<string, unknown>;

let pki: TestPki;
let config: Config;
let keyStore: KeyStore;
let handlers: IssuerServiceHandlers;
let server: RunningGrpcServer;
let client: grpc.Client;
let holderJwk: JWK;
let database: Db;
let statusLists: StatusListsRepository;
const cleanups: (() => Promise<void> | void)[] = [];

before(async () => {
  pki = await createTestPki();
  const { db, drop } = await createTestDatabase();
  cleanups.push(drop);
  database = db;
  statusLists = createStatusListsRepository(db);
  config = loadTestConfig(
    testConfigFile((file) => {
      const types = (file.authentic_sources as Record<string, { credential_types: Record<string, unknown> }>)['hr.example.org']!.credential_types;
      types.mdl = { vct: MDL_DOCTYPE, format: 'mso_mdoc' };
      types.identity_credential = { vct: 'IdentityCredential', format: 'jwt_vc_json' };
      types.dscsa = { vct: 'DSCSAATPCredential', format: 'jwt_vc_json' };
    }),
    { ISSUER_URL },
  );
  keyStore = createKeyStore({ db, kek: generateKek(), issuerUrl: config.issuerUrl, country: 'SE' });
  await keyStore.ensureProvisioned();
  // Development without client certificates: every configured scope is served (grpc-authorization.ts).
  handlers = createIssuerGrpcHandlers(createIssuanceService({ config, keyStore }), {
    access: createGrpcAccessPolicy(config, 'open'),
    audit: createGrpcAuditLog(auditWriterFor(db), pino({ level: 'silent' })),
    status: { issuerUrl: config.issuerUrl, lists: statusLists },
  });
  server = await startServer();
  client = issuerClient(server.port, grpc.credentials.createSsl(Buffer.from(pki.caCert)));
  const { kty, crv, x, y } = await exportJWK((await generateKeyPair('ES256')).publicKey);
  holderJwk = { kty, crv, x, y };
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function startServer(opts: { requireClientCertificate?: boolean } = {}): Promise<RunningGrpcServer> {
  const started = await startGrpcServer({
    host: HOST,
    port: 0,
    tls: { cert: Buffer.from(pki.serverCert), key: Buffer.from(pki.serverKey), ...(opts.requireClientCertificate ? { ca: Buffer.from(pki.caCert) } : {}) },
    handlers,
    logger: pino({ level: 'silent' }),
    shutdownTimeoutMs: 2_000,
  });
  cleanups.push(() => started.close());
  return started;
}

function issuerClient(port: number, credentials: grpc.ChannelCredentials): grpc.Client {
  const pkg = loadIssuerProto() as unknown as { v1: { issuer: { IssuerService: grpc.ServiceClientConstructor } } };
  const created = new pkg.v1.issuer.IssuerService(`${HOST}:${port}`, credentials, {
    'grpc.use_local_subchannel_pool': 1,
    // Dial the address but verify (and send SNI for) the certificate's DNS name.
    'grpc.ssl_target_name_override': 'localhost',
  });
  cleanups.push(() => created.close());
  return created;
}

function unary<T>(method: string, request: object = {}, via: grpc.Client = client): Promise<T> {
  return callUnary<T>(via, method, request, DEADLINE_MS);
}

/** The JWKS RPC's keys as a JSON Web Key Set (proto3 empty strings are absent members). */
async function jwksFromRpc(): Promise<JSONWebKeySet> {
  const reply = await unary<JwksReply>('JWKS');
  return { keys: reply.keys.map((k) => Object.fromEntries(Object.entries(k).filter(([, v]) => v !== '')) as JWK) };
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

test('JWKS publishes the key store\'s credential keys by kid, public members only (RFC 7517 §4)', async () => {
  const reply = await unary<JwksReply>('JWKS');
  assert.equal(reply.issuer, ISSUER_URL);
  const signer = await keyStore.signer('credential');
  assert.deepEqual(
    reply.keys.map((k) => ({ kid: k.kid, kty: k.kty, crv: k.crv, x: k.x, y: k.y, alg: k.alg, use: k.use, n: k.n, e: k.e })),
    [{ kid: signer.kid, kty: 'EC', crv: 'P-256', x: signer.publicJwk.x, y: signer.publicJwk.y, alg: 'ES256', use: 'sig', n: '', e: '' }],
  );
  assert.ok(!JSON.stringify(reply).includes('"d"'));
});

test('MakeSDJWT returns an SD-JWT VC that plain jose verifies against the JWKS RPC, with vct, vct#integrity, cnf.jwk and matching disclosure digests (RFC 9901 §7.1, draft-ietf-oauth-sd-jwt-vc §3.2)', async () => {
  const reply = await unary<MakeSDJWTReply>('MakeSDJWT', { scope: 'diploma', documentData: json(DIPLOMA), jwk: holderJwk });
  assert.equal(reply.credentials.length, 1);
  const [issued] = reply.credentials;
  const verified = await verifySdJwtVc(issued!.credential, await jwksFromRpc(), { issuer: ISSUER_URL });
  assert.equal(verified.header.typ, 'dc+sd-jwt');
  assert.equal(verified.header.kid, (await keyStore.signer('credential')).kid);
  assert.equal(verified.payload.vct, 'urn:eudi:diploma:1');
  const vctmBytes = readFileSync(new URL('../../metadata/vctm_diploma.json', import.meta.url));
  assert.equal(verified.payload['vct#integrity'], `sha256-${createHash('sha256').update(vctmBytes).digest('base64')}`);
  assert.deepEqual(verified.payload.cnf, { jwk: holderJwk });
  assert.deepEqual(verified.claims, { ...DIPLOMA, ...pick(verified.claims, ['iss', 'iat', 'exp', 'vct', 'vct#integrity', 'cnf']) });
  // The diploma VCTM: every claim is sd "always" except issuing_institution ("never").
  assert.deepEqual([...verified.disclosed].sort(), ['credits_earned', 'degree_type', 'field_of_study', 'gpa', 'graduation_date']);
  assert.equal(verified.payload.issuing_institution, DIPLOMA.issuing_institution);
  assert.deepEqual(issued!.disclosures, verified.disclosures.map((d) => d.encoded));
  assert.match(reply.valid_from ?? '', rfc3339);
  assert.match(reply.valid_until ?? '', rfc3339);
  assert.equal(Date.parse(reply.valid_until ?? '') / 1000, verified.payload.exp);
  assert.equal(reply.token_status_list_uri, '', 'not revocable until the status-list service exists');
  assert.equal(reply.status_allocation, 'STATUS_ALLOCATION_NONE');
});

test('MakeSDJWT uses a caller-supplied VCTM for the scope\'s vct, with its sd rules and its own vct#integrity, and refuses one for another vct or failing its integrity (SD-JWT VC §6.3)', async () => {
  const diplomaVctm = readFileSync(new URL('../../metadata/vctm_diploma.json', import.meta.url));
  const configured = await unary<MakeSDJWTReply>('MakeSDJWT', { scope: 'diploma', documentData: json(DIPLOMA), jwk: holderJwk, vctm: diplomaVctm, integrity: sri(diplomaVctm) });
  assert.equal((await verifySdJwtVc(configured.credentials[0]!.credential, await jwksFromRpc())).payload['vct#integrity'], sri(diplomaVctm));

  // The caller's own metadata for the same vct (as SUNET's API gateway sends it): its rules apply.
  const own = json({ vct: 'urn:eudi:diploma:1', name: 'Diploma (caller)', claims: [{ path: ['gpa'], sd: 'never' }, { path: ['degree_type'], sd: 'always' }] });
  const reply = await unary<MakeSDJWTReply>('MakeSDJWT', { scope: 'diploma', documentData: json(DIPLOMA), jwk: holderJwk, vctm: own, integrity: sri(own) });
  const verified = await verifySdJwtVc(reply.credentials[0]!.credential, await jwksFromRpc());
  assert.equal(verified.payload['vct#integrity'], sri(own));
  assert.equal(verified.payload.gpa, DIPLOMA.gpa, 'sd "never" from the supplied VCTM');
  assert.ok(verified.disclosed.has('degree_type'));

  const otherVct = await expectStatus(unary('MakeSDJWT', { scope: 'diploma', documentData: json(DIPLOMA), jwk: holderJwk, vctm: json({ vct: 'urn:other:1' }) }), grpc.status.INVALID_ARGUMENT);
  assert.match(otherVct.details, /^vctm: describes vct "urn:other:1", but the scope's type is "urn:eudi:diploma:1"/);
  const tampered = await expectStatus(unary('MakeSDJWT', { scope: 'diploma', documentData: json(DIPLOMA), jwk: holderJwk, vctm: own, integrity: sri(diplomaVctm) }), grpc.status.INVALID_ARGUMENT);
  assert.match(tampered.details, /^integrity: does not match the supplied vctm/);
  await expectStatus(unary('MakeSDJWT', { scope: 'diploma', documentData: json(DIPLOMA), jwk: holderJwk, integrity: 'sha256-AAAA' }), grpc.status.INVALID_ARGUMENT);
  const notSri = await expectStatus(unary('MakeSDJWT', { scope: 'diploma', documentData: json(DIPLOMA), jwk: holderJwk, vctm: own, integrity: 'md5-xyz' }), grpc.status.INVALID_ARGUMENT);
  assert.match(notSri.details, /^integrity: must be W3C SRI/);

  // `licence` (registry.example.org) has no vctm_path: the caller's metadata is used and its integrity signed.
  const licenceVctm = json({ vct: 'urn:example:licence:1', name: 'Licence', claims: [{ path: ['licence_number'], sd: 'never' }] });
  const licence = await unary<MakeSDJWTReply>('MakeSDJWT', { scope: 'licence', documentData: json({ licence_number: 'L-1', holder_name: 'Anna' }), jwk: holderJwk, vctm: licenceVctm });
  const licenceVerified = await verifySdJwtVc(licence.credentials[0]!.credential, await jwksFromRpc());
  assert.equal(licenceVerified.payload['vct#integrity'], sri(licenceVctm));
  assert.equal(licenceVerified.payload.licence_number, 'L-1');
  assert.deepEqual([...licenceVerified.disclosed], ['holder_name']);
});

test('MakeSDJWT answers NOT_FOUND for an unknown scope and INVALID_ARGUMENT for malformed documentData, claims the issuer sets, a missing mandatory claim and a missing holder key', async () => {
  const unknown = await expectStatus(unary('MakeSDJWT', { scope: 'no_such_scope', documentData: json(DIPLOMA), jwk: holderJwk }), grpc.status.NOT_FOUND);
  assert.match(unknown.details, /no_such_scope/);
  const malformed = await expectStatus(unary('MakeSDJWT', { scope: 'diploma', documentData: Buffer.from('{"degree_type": '), jwk: holderJwk }), grpc.status.INVALID_ARGUMENT);
  assert.equal(malformed.details, 'documentData: not valid UTF-8 JSON');
  await expectStatus(unary('MakeSDJWT', { scope: 'diploma', documentData: json(['not', 'an', 'object']), jwk: holderJwk }), grpc.status.INVALID_ARGUMENT);
  await expectStatus(unary('MakeSDJWT', { scope: 'diploma', documentData: json({ ...DIPLOMA, iss: 'https://evil.example' }), jwk: holderJwk }), grpc.status.INVALID_ARGUMENT);
  const missingKey = await expectStatus(unary('MakeSDJWT', { scope: 'diploma', documentData: json(DIPLOMA) }), grpc.status.INVALID_ARGUMENT);
  assert.match(missingKey.details, /^jwk: /);
  const { degree_type: _omitted, ...withoutMandatory } = DIPLOMA;
  await expectStatus(unary('MakeSDJWT', { scope: 'diploma', documentData: json(withoutMandatory), jwk: holderJwk }), grpc.status.INVALID_ARGUMENT);
});

test('MakeMDoc returns IssuerSigned whose digests, COSE_Sign1 signature and x5chain up to the IACA verify (ISO/IEC 18013-5 §9.1.2, RFC 9052 §4.4)', async () => {
  const coseKey = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false }).encode(
    new Map<number, unknown>([
      [1, 2],
      [-1, 1],
      [-2, Buffer.from(holderJwk.x!, 'base64url')],
      [-3, Buffer.from(holderJwk.y!, 'base64url')],
    ]),
  );
  const reply = await unary<MakeMDocReply>('MakeMDoc', { doc_type: MDL_DOCTYPE, document_data: json(MDL_DOCUMENT), device_public_key: coseKey, device_key_format: 'cose' });
  const { nameSpaces, issuerAuth, mso } = decodeIssuerSigned(reply.mdoc);
  assert.equal(mso.get('docType'), MDL_DOCTYPE);
  const elements = checkValueDigests(nameSpaces, mso).get(MDL_NAMESPACE)!;
  assert.equal(elements.get('family_name'), 'Andersson');
  assert.ok((elements.get('birth_date') as Tag).tag === 1004, 'full-date is tag 1004');
  const leaf = await verifyIssuerAuth(issuerAuth, await keyStore.iacaCertificatesPem());
  assert.deepEqual(leaf.subjectName.getField('C'), ['SE']);
  assert.equal(elements.get('issuing_country'), 'SE');
  const deviceKey = mso.get('deviceKeyInfo').get('deviceKey') as Map<number, Uint8Array>;
  assert.equal(Buffer.from(deviceKey.get(-2)!).toString('base64url'), holderJwk.x);
  assert.equal(Buffer.from(deviceKey.get(-3)!).toString('base64url'), holderJwk.y);
  assert.match(reply.valid_from ?? '', rfc3339);
  assert.match(reply.valid_until ?? '', rfc3339);

  // The same with the device key as a JWK, and the doctype named by scope.
  const viaJwk = await unary<MakeMDocReply>('MakeMDoc', { scope: 'mdl', document_data: json(MDL_DOCUMENT), device_public_key: json(holderJwk), device_key_format: 'jwk' });
  await verifyIssuerAuth(decodeIssuerSigned(viaJwk.mdoc).issuerAuth, await keyStore.iacaCertificatesPem());
});

test('MakeMDoc answers NOT_FOUND for an unknown doctype and INVALID_ARGUMENT for a bad device key and malformed document_data', async () => {
  const base = { doc_type: MDL_DOCTYPE, document_data: json(MDL_DOCUMENT), device_public_key: json(holderJwk), device_key_format: 'jwk' };
  await expectStatus(unary('MakeMDoc', { ...base, doc_type: 'org.example.unknown' }), grpc.status.NOT_FOUND);
  await expectStatus(unary('MakeMDoc', { ...base, doc_type: 'urn:eudi:diploma:1' }), grpc.status.INVALID_ARGUMENT);
  await expectStatus(unary('MakeMDoc', { ...base, device_key_format: 'cose', device_public_key: Buffer.from([0xa1, 0x01]) }), grpc.status.INVALID_ARGUMENT);
  await expectStatus(unary('MakeMDoc', { ...base, device_key_format: 'pem' }), grpc.status.INVALID_ARGUMENT);
  await expectStatus(unary('MakeMDoc', { ...base, document_data: Buffer.from('not json') }), grpc.status.INVALID_ARGUMENT);
  await expectStatus(unary('MakeMDoc', { ...base, document_data: json({ ...MDL_DOCUMENT, issuing_country: 'NO' }) }), grpc.status.INVALID_ARGUMENT);
});

test('MakeVC20 returns a vc+jwt whose header and payload are the VC 2.0 credential, verified with the JWKS RPC (VC-JOSE-COSE §3.1.1)', async () => {
  const subject = { givenName: 'Anna', familyName: 'Andersson' };
  const reply = await unary<MakeVC20Reply>('MakeVC20', {
    scope: 'identity_credential',
    document_data: json(subject),
    subject_did: 'did:web:holder.example.org',
    valid_from: '2026-01-01T00:00:00Z',
    valid_until: '2036-01-01T00:00:00Z',
  });
  const { protectedHeader, payload } = await jwtVerify(reply.credential, createLocalJWKSet(await jwksFromRpc()), { typ: 'vc+jwt', algorithms: ['ES256'] });
  assert.deepEqual(protectedHeader, { alg: 'ES256', kid: (await keyStore.signer('credential')).kid, typ: 'vc+jwt', cty: 'vc' });
  assert.deepEqual(payload['@context'], ['https://www.w3.org/ns/credentials/v2']);
  assert.deepEqual(payload.type, ['VerifiableCredential', 'IdentityCredential']);
  assert.equal(payload.issuer, ISSUER_URL);
  assert.equal(payload.id, reply.credential_id);
  assert.match(reply.credential_id ?? '', /^urn:uuid:/);
  assert.deepEqual(payload.credentialSubject, { ...subject, id: 'did:web:holder.example.org' });
  assert.equal(payload.validFrom, '2026-01-01T00:00:00Z');
  assert.equal(payload.validUntil, '2036-01-01T00:00:00Z');
  assert.equal(reply.valid_until, '2036-01-01T00:00:00Z');

  // Holder bound by key instead of DID, with explicit types.
  const byKey = await unary<MakeVC20Reply>('MakeVC20', { credential_types: ['DSCSAATPCredential'], document_data: json({ role: 'Dispenser' }), jwk: holderJwk });
  const bound = await jwtVerify(byKey.credential, createLocalJWKSet(await jwksFromRpc()), { typ: 'vc+jwt' });
  assert.deepEqual(bound.payload.cnf, { jwk: holderJwk });
  assert.deepEqual(bound.payload.type, ['VerifiableCredential', 'DSCSAATPCredential']);

  await expectStatus(unary('MakeVC20', { scope: 'identity_credential', document_data: json(subject), valid_from: 'yesterday' }), grpc.status.INVALID_ARGUMENT);
  await expectStatus(unary('MakeVC20', { scope: 'no_such_scope', document_data: json(subject) }), grpc.status.NOT_FOUND);
  // Only configured types are signed (issue 15): an unconfigured type, or one of another format, is refused.
  const unconfigured = await expectStatus(unary('MakeVC20', { credential_types: ['VerifiableCredential', 'PassportCredential'], document_data: json(subject), jwk: holderJwk }), grpc.status.INVALID_ARGUMENT);
  assert.equal(unconfigured.details, 'credential_types.0: "PassportCredential" is not a configured jwt_vc_json credential type');
  await expectStatus(unary('MakeVC20', { credential_types: ['urn:eudi:diploma:1'], document_data: json(subject), jwk: holderJwk }), grpc.status.INVALID_ARGUMENT);
  await expectStatus(unary('MakeVC20', { scope: 'identity_credential', credential_types: ['DSCSAATPCredential'], document_data: json(subject), jwk: holderJwk }), grpc.status.INVALID_ARGUMENT);
  await expectStatus(unary('MakeVC20', { scope: 'identity_credential', document_data: Buffer.from('{') }), grpc.status.INVALID_ARGUMENT);
});

test('with client certificates required, a client without one is refused and one signed by the CA is served (mTLS)', async () => {
  const mtls = await startServer({ requireClientCertificate: true });
  const anonymous = issuerClient(mtls.port, grpc.credentials.createSsl(Buffer.from(pki.caCert)));
  await expectStatus(unary('JWKS', {}, anonymous), grpc.status.UNAVAILABLE);
  const authenticated = issuerClient(mtls.port, grpc.credentials.createSsl(Buffer.from(pki.caCert), Buffer.from(pki.clientKey), Buffer.from(pki.clientCert)));
  assert.equal((await unary<JwksReply>('JWKS', {}, authenticated)).keys.length, 1);
  const sdJwt = await unary<MakeSDJWTReply>('MakeSDJWT', { scope: 'diploma', documentData: json(DIPLOMA), jwk: holderJwk }, authenticated);
  assert.equal(sdJwt.credentials.length, 1);
});

const sri = (bytes: Uint8Array) => `sha256-${createHash('sha256').update(bytes).digest('base64')}`;

function pick(source: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in source).map((k) => [k, source[k]]));
}

/** A diploma credential's entry in the Token Status List, recorded as the issuing activity records it (reserve, record, mark issued). */
async function issuedDiplomaEntry(): Promise<{ idx: number; uri: string; ref: string }> {
  const requestKey = `grpc-status/${randomUUID()}`;
  const [allocation] = await statusLists.reserve('token', requestKey, 1);
  const id = randomUUID();
  await database.transaction(async (trx) => {
    await trx('issued_credentials').insert({ id, offer_id: 'grpc-test', authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: requestKey, format: 'dc+sd-jwt', holder_key_thumbprint: 'x', status_list_id: allocation!.listId, status_index: allocation!.idx });
    await statusLists.markIssued(trx, requestKey, [issuedCredentialRef(id)]);
  });
  return { idx: allocation!.idx, uri: `${ISSUER_URL}/status-lists/token/${allocation!.number}`, ref: issuedCredentialRef(id) };
}

test('SetCredentialStatus sets an issued entry on the same status lists as REST (draft-ietf-oauth-status-list §7.1: 0 VALID, 1 INVALID, 2 SUSPENDED); revocation is final', async () => {
  const { idx, uri, ref } = await issuedDiplomaEntry();
  const set = (status: number, index: number = idx, listUri: string = uri) => unary('SetCredentialStatus', { backend: 'status_service', status_list_uri: listUri, section: 0, index, status });
  const markBefore = await statusLists.changeMark();
  await set(2);
  assert.equal(await statusLists.statusOf(ref), 2, 'SUSPENDED');
  assert.ok(BigInt(await statusLists.changeMark()) > BigInt(markBefore), 'announced: the served list is re-signed at its next read');
  await set(0);
  assert.equal(await statusLists.statusOf(ref), 0, 'VALID again');
  await set(1);
  assert.equal(await statusLists.statusOf(ref), 1, 'INVALID');
  await expectStatus(set(0), grpc.status.FAILED_PRECONDITION);
  assert.equal(await statusLists.statusOf(ref), 1, 'a revoked credential stays revoked');
  await set(1); // idempotent

  await expectStatus(set(2, idx + 1 === 131_072 ? idx - 1 : idx + 1), grpc.status.NOT_FOUND);
  await expectStatus(set(1, idx, `${ISSUER_URL}/status-lists/token/99x`), grpc.status.NOT_FOUND);
  await expectStatus(set(1, idx, `https://elsewhere.example.org/status-lists/token/0`), grpc.status.NOT_FOUND);
  await expectStatus(set(3), grpc.status.INVALID_ARGUMENT);
  await expectStatus(set(2, 0, `${ISSUER_URL}/status-lists/w3c/revocation/0`), grpc.status.INVALID_ARGUMENT); // the W3C revocation list has no SUSPENDED
  await expectStatus(unary('SetCredentialStatus', { status_list_uri: uri, section: 3, index: idx, status: 1 }), grpc.status.INVALID_ARGUMENT);
});

test('SetCredentialStatus is authorized as the issuing RPCs are: a client whose scopes lack the credential\'s type is PERMISSION_DENIED and changes nothing', async () => {
  const { idx, uri, ref } = await issuedDiplomaEntry();
  const mapped = loadTestConfig(
    testConfigFile((file) => {
      const types = (file.authentic_sources as Record<string, { credential_types: Record<string, unknown> }>)['hr.example.org']!.credential_types;
      types.identity_credential = { vct: 'IdentityCredential', format: 'jwt_vc_json' };
      file.grpc_clients = { vc_only: { subjects: ['CN=vc-only'], scopes: ['identity_credential'] }, diplomas: { subjects: ['CN=diplomas'], scopes: ['diploma'] } };
    }),
    { ISSUER_URL },
  );
  const guarded = createIssuerGrpcHandlers(createIssuanceService({ config: mapped, keyStore }), {
    access: createGrpcAccessPolicy(mapped, 'mapped'),
    audit: createGrpcAuditLog(auditWriterFor(database), pino({ level: 'silent' })),
    status: { issuerUrl: ISSUER_URL, lists: statusLists },
  });
  const as = (cn: string) => ({ peer: 'ipv4:127.0.0.1:1', metadata: new grpc.Metadata(), clientCertificateSubject: `CN=${cn}`, clientCertificateAttributes: { CN: cn }, signal: new AbortController().signal });
  const request = { backend: 'status_service', status_list_uri: uri, section: '0', index: String(idx), status: 2 };
  await assert.rejects(guarded.SetCredentialStatus(request, as('vc-only')), (err: { code?: number }) => err.code === grpc.status.PERMISSION_DENIED);
  assert.equal(await statusLists.statusOf(ref), 0, 'nothing changed');
  await guarded.SetCredentialStatus(request, as('diplomas'));
  assert.equal(await statusLists.statusOf(ref), 2);
});

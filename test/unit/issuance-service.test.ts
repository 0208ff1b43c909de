import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Encoder } from 'cbor-x';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Config } from '../../src/config/config';
import { CredentialInputError } from '../../src/credentials/credential-errors';
import { createDevPki } from '../../src/credentials/dev-pki';
import { coseKeyToJwk, createIssuanceService, type IssuanceService } from '../../src/credentials/issuance-service';
import type { KeyStore } from '../../src/credentials/key-store';
import { MDL_DOCTYPE } from '../../src/credentials/mdoc-issuer';
import { createLocalSigner, generateEs256PrivateJwk, type CredentialSigner } from '../../src/credentials/signer';
import { cbor, decodeIssuerSigned } from '../support/credential-verifiers';
import { loadTestConfig, testConfigFile } from '../support/test-services';

// The issuance service over an in-memory key store: type resolution from the configuration, VCTM
// handling, validity defaults, holder keys, and that it always signs with the store's current key.

const ISSUER_URL = 'https://issuer.example.org';
const DAY_S = 86_400;
const DIPLOMA = { degree_type: 'MSc', field_of_study: 'CS', issuing_institution: 'KTH', graduation_date: '2024-06-14' };
const cose = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false });

let config: Config;
let credentialSigner: CredentialSigner;
let documentSigner: CredentialSigner;
let holderJwk: JWK;
let clock: Date;

/** An in-memory key store whose credential key a test can swap, as a rotation would. */
const keyStore: Pick<KeyStore, 'signer' | 'jwks'> = {
  signer: async (purpose) => (purpose === 'credential' ? credentialSigner : documentSigner),
  jwks: async () => ({ keys: [credentialSigner.publicJwk] }),
};

before(async () => {
  config = loadTestConfig(
    testConfigFile((file) => {
      const sources = file.authentic_sources as Record<string, { credential_types: Record<string, unknown> }>;
      sources['hr.example.org']!.credential_types.mdl = { vct: MDL_DOCTYPE, format: 'mso_mdoc' };
      sources['hr.example.org']!.credential_types.identity_credential = { vct: 'IdentityCredential', format: 'jwt_vc_json' };
      // The same scope name in a second source: naming it by scope alone is ambiguous.
      sources['registry.example.org']!.credential_types.diploma = { vct: 'urn:example:registry-diploma:1', format: 'dc+sd-jwt' };
    }),
    { ISSUER_URL },
  );
  const pki = await createDevPki({ issuerUrl: ISSUER_URL });
  credentialSigner = await createLocalSigner(generateEs256PrivateJwk());
  documentSigner = await createLocalSigner(pki.documentSigner.privateJwk, { x5c: pki.documentSigner.x5c });
  const { kty, crv, x, y } = await exportJWK((await generateKeyPair('ES256')).publicKey);
  holderJwk = { kty, crv, x, y };
});

function service(): IssuanceService {
  clock = new Date(Math.floor(Date.now() / 1000) * 1000);
  return createIssuanceService({ config, keyStore, now: () => clock });
}

const rejectsWith = (promise: Promise<unknown>, code: string, path?: RegExp) =>
  assert.rejects(promise, (e: unknown) => e instanceof CredentialInputError && e.code === code && (!path || path.test(e.message)));

test('a credential type is found by vct or by scope (credential configuration ids are vcts, docs/conventions.md) and iss is the issuer URL', async () => {
  const issuance = service();
  const byVct = await issuance.makeSdJwt({ vct: 'urn:example:employee:1', documentData: { employee_id: 'E1', employer: 'ACME', employment_start: '2020-01-01' }, holderJwk });
  const byScope = await issuance.makeSdJwt({ scope: 'employee_badge', documentData: { employee_id: 'E1', employer: 'ACME', employment_start: '2020-01-01' }, holderJwk });
  const byId = await issuance.makeSdJwt({ scope: 'urn:example:employee:1', documentData: { employee_id: 'E1', employer: 'ACME', employment_start: '2020-01-01' }, holderJwk });
  for (const issued of [byVct, byScope, byId]) {
    const payload = decodeJwt(issued.credential.split('~')[0]!);
    assert.equal(payload.vct, 'urn:example:employee:1');
    assert.equal(payload.iss, ISSUER_URL);
    assert.equal(issued.vct, 'urn:example:employee:1');
    assert.deepEqual(issued.disclosures, issued.credential.split('~').slice(1, -1));
  }
});

test('an unknown vct or scope, an ambiguous scope and a type of another format are input errors', async () => {
  const issuance = service();
  await rejectsWith(issuance.makeSdJwt({ vct: 'urn:nope:1', documentData: DIPLOMA, holderJwk }), 'unknown_doctype', /^vct: /);
  await rejectsWith(issuance.makeSdJwt({ scope: 'nope', documentData: DIPLOMA, holderJwk }), 'unknown_doctype', /^scope: /);
  await rejectsWith(issuance.makeSdJwt({ scope: 'diploma', documentData: DIPLOMA, holderJwk }), 'unknown_doctype', /several authentic sources/);
  await rejectsWith(issuance.makeSdJwt({ scope: 'mdl', documentData: DIPLOMA, holderJwk }), 'unknown_doctype', /mso_mdoc/);
  await rejectsWith(issuance.makeSdJwt({ documentData: DIPLOMA, holderJwk }), 'unknown_doctype');
  // By vct the diploma is unambiguous.
  await issuance.makeSdJwt({ vct: 'urn:eudi:diploma:1', documentData: DIPLOMA, holderJwk });
});

test('without an end of validity a credential ends defaultValidityDays (365) after its start; Dates and unix seconds are both accepted', async () => {
  const issuance = service();
  const open = decodeJwt((await issuance.makeSdJwt({ vct: 'urn:eudi:diploma:1', documentData: DIPLOMA, holderJwk })).credential.split('~')[0]!);
  assert.equal(open.exp, open.iat! + 365 * DAY_S);
  assert.equal(open.nbf, undefined);
  const from = Math.floor(clock.getTime() / 1000) + DAY_S;
  const bounded = decodeJwt((await issuance.makeSdJwt({ vct: 'urn:eudi:diploma:1', documentData: DIPLOMA, holderJwk, validFrom: new Date(from * 1000), validUntil: from + 30 * DAY_S })).credential.split('~')[0]!);
  assert.deepEqual([bounded.nbf, bounded.exp], [from, from + 30 * DAY_S]);
  const futureStart = decodeJwt((await issuance.makeSdJwt({ vct: 'urn:eudi:diploma:1', documentData: DIPLOMA, holderJwk, validFrom: from })).credential.split('~')[0]!);
  assert.equal(futureStart.exp, from + 365 * DAY_S, 'the default runs from the start of validity');
  await rejectsWith(issuance.makeSdJwt({ vct: 'urn:eudi:diploma:1', documentData: DIPLOMA, holderJwk, validUntil: 1.5 }), 'invalid_validity');
});

test('caller-supplied type metadata: used when its vct is the type\'s and its bytes match a given integrity (SD-JWT VC §6.3), otherwise the configured VCTM or the minimal {"vct"} document', async () => {
  const issuance = service();
  const own = Buffer.from('{"vct":"urn:eudi:diploma:1"}');
  const sri = (bytes: string | Uint8Array, alg = 'sha256') => `${alg}-${createHash(alg).update(bytes).digest('base64')}`;
  const withOwn = decodeJwt((await issuance.makeSdJwt({ vct: 'urn:eudi:diploma:1', documentData: DIPLOMA, holderJwk, vctm: own, integrity: sri(own) })).credential.split('~')[0]!);
  assert.equal(withOwn['vct#integrity'], sri(own));
  // SRI may list several digests; one of a supported algorithm must match (sha384 here).
  await issuance.makeSdJwt({ vct: 'urn:eudi:diploma:1', documentData: DIPLOMA, holderJwk, vctm: own, integrity: `sha256-AAAA ${sri(own, 'sha384')}` });
  await rejectsWith(issuance.makeSdJwt({ vct: 'urn:eudi:diploma:1', documentData: DIPLOMA, holderJwk, vctm: own, integrity: sri('{}') }), 'invalid_claims', /^integrity: does not match the supplied vctm/);
  await rejectsWith(issuance.makeSdJwt({ vct: 'urn:eudi:diploma:1', documentData: DIPLOMA, holderJwk, vctm: Buffer.from('{"vct":"urn:other:1"}') }), 'invalid_claims', /^vctm: describes vct "urn:other:1"/);
  await rejectsWith(issuance.makeSdJwt({ vct: 'urn:eudi:diploma:1', documentData: DIPLOMA, holderJwk, integrity: 'sha256-x' }), 'invalid_claims', /^integrity: /);
  await rejectsWith(issuance.makeSdJwt({ scope: 'licence', documentData: { a: 1 }, holderJwk, vctm: Buffer.from('{"name":"no vct"}') }), 'invalid_claims', /^vctm: not valid type metadata/);

  const minimal = '{"vct":"urn:example:licence:1"}';
  const issued = await issuance.makeSdJwt({ scope: 'licence', documentData: { a: 1 }, holderJwk });
  const payload = decodeJwt(issued.credential.split('~')[0]!);
  assert.equal(payload['vct#integrity'], `sha256-${createHash('sha256').update(minimal).digest('base64')}`);
  await issuance.makeSdJwt({ scope: 'licence', documentData: { a: 1 }, holderJwk, integrity: `sha256-${createHash('sha256').update(minimal).digest('base64')}` });
});

test('each credential is signed with the key store\'s current key, so a rotation takes effect at once', async () => {
  const issuance = service();
  const first = await issuance.makeSdJwt({ vct: 'urn:eudi:diploma:1', documentData: DIPLOMA, holderJwk });
  const previous = credentialSigner;
  credentialSigner = await createLocalSigner(generateEs256PrivateJwk());
  try {
    const second = await issuance.makeSdJwt({ vct: 'urn:eudi:diploma:1', documentData: DIPLOMA, holderJwk });
    assert.equal(decodeProtectedHeader(first.credential.split('~')[0]!).kid, previous.kid);
    assert.equal(decodeProtectedHeader(second.credential.split('~')[0]!).kid, credentialSigner.kid);
    const vc = await issuance.makeVc20({ types: ['IdentityCredential'], documentData: { name: 'A' }, subjectDid: 'did:example:1' });
    assert.equal(vc.kid, credentialSigner.kid);
    assert.deepEqual(await issuance.jwks(), { issuer: ISSUER_URL, keys: [credentialSigner.publicJwk] });
  } finally {
    credentialSigner = previous;
  }
});

test('an mdoc device key may be a COSE_Key (RFC 9052 §7) or a JWK, never both, never private', async () => {
  const issuance = service();
  const coseKey = cose.encode(new Map<number, unknown>([[1, 2], [-1, 1], [-2, Buffer.from(holderJwk.x!, 'base64url')], [-3, Buffer.from(holderJwk.y!, 'base64url')]]));
  assert.deepEqual(coseKeyToJwk(coseKey), { kty: 'EC', crv: 'P-256', x: holderJwk.x, y: holderJwk.y });
  const documentData = { family_name: 'Andersson', given_name: 'Anna', birth_date: '1985-04-12' };
  const viaCose = await issuance.makeMdoc({ docType: MDL_DOCTYPE, documentData, deviceKey: coseKey });
  const viaJwk = await issuance.makeMdoc({ scope: 'mdl', documentData, holderJwk });
  assert.equal(viaCose.holderKeyThumbprint, viaJwk.holderKeyThumbprint);
  const validity = decodeIssuerSigned(viaCose.issuerSigned).mso.get('validityInfo') as Map<string, Date>;
  assert.equal(validity.get('validUntil')!.getTime() - validity.get('validFrom')!.getTime(), 365 * DAY_S * 1000);
  assert.ok(cbor.decode(coseKey) instanceof Map);

  await rejectsWith(issuance.makeMdoc({ docType: MDL_DOCTYPE, documentData, holderJwk, deviceKey: coseKey }), 'invalid_holder_key');
  await rejectsWith(issuance.makeMdoc({ docType: MDL_DOCTYPE, documentData }), 'invalid_holder_key');
  const privateCose = cose.encode(new Map<number, unknown>([[1, 2], [-1, 1], [-2, new Uint8Array(32)], [-3, new Uint8Array(32)], [-4, new Uint8Array(32)]]));
  await rejectsWith(issuance.makeMdoc({ docType: MDL_DOCTYPE, documentData, deviceKey: privateCose }), 'invalid_holder_key', /public key/);
  await rejectsWith(issuance.makeMdoc({ docType: MDL_DOCTYPE, documentData, deviceKey: new Uint8Array([0xff]) }), 'invalid_holder_key');
  await rejectsWith(issuance.makeMdoc({ docType: 'org.example.unknown', documentData, holderJwk }), 'unknown_doctype');
});

test('VC 2.0: subjectDid becomes credentialSubject.id, a holder key becomes cnf.jwk, and types come from the request or the scope', async () => {
  const issuance = service();
  const byDid = await issuance.makeVc20({ scope: 'identity_credential', documentData: { name: 'Anna' }, subjectDid: 'did:web:anna.example' });
  assert.deepEqual(byDid.payload.credentialSubject, { name: 'Anna', id: 'did:web:anna.example' });
  assert.deepEqual(byDid.payload.type, ['VerifiableCredential', 'IdentityCredential']);
  assert.equal(byDid.payload.issuer, ISSUER_URL);
  assert.equal(Date.parse(byDid.validUntil!) - Date.parse(byDid.validFrom), 365 * DAY_S * 1000);
  const byKey = await issuance.makeVc20({ types: ['DSCSAATPCredential'], documentData: { role: 'Dispenser' }, holderJwk: { ...holderJwk, kid: 'wallet' } });
  assert.deepEqual(byKey.payload.cnf, { jwk: holderJwk });

  await rejectsWith(issuance.makeVc20({ types: ['X'], documentData: {}, subjectDid: 'not a did' }), 'invalid_claims', /^subjectDid: /);
  await rejectsWith(issuance.makeVc20({ types: ['X'], documentData: { id: 'did:example:a' }, subjectDid: 'did:example:b' }), 'invalid_claims', /credentialSubject\.id/);
  await rejectsWith(issuance.makeVc20({ documentData: {} }), 'invalid_claims', /^types: /);
  await rejectsWith(issuance.makeVc20({ scope: 'diploma', documentData: {} }), 'unknown_doctype');
});

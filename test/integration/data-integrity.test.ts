import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createIssuanceService, type IssuanceService } from '../../src/credentials/issuance-service';
import { openKeyStore } from '../../src/credentials/key-store';
import { createLogger } from '../../src/logger';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { type RunningPart, startGateway, startGrpc } from '../../src/main/issuer-parts';
import { callUnary } from '../support/grpc-calls';
import { createVerifierDocumentLoader, decodeBase58btc, deriveDisclosure, verifyEcdsaRdfc2019FromSpec, verifyWithDigitalBazaar } from '../support/data-integrity-verifier';
import { createTestDatabase, loadTestConfig, testConfigFile, testEnv } from '../support/test-services';

/**
 * W3C VC Data Model 2.0 credentials secured with Data Integrity (W3C VC Data Integrity 1.0), issued
 * by the issuance service and verified by test/support/data-integrity-verifier.ts, which shares no
 * code with the issuer: `@digitalbazaar/vc` with a loader that resolves the issuer's did:web by
 * fetching /.well-known/did.json from the running gateway, and for ecdsa-rdfc-2019 a check written
 * from the ECDSA Cryptosuites specification (RDFC-1.0 + SHA-256 + ECDSA P-256).
 */
const ISSUER_URL = 'https://issuer.example.org:8443';
const ISSUER_DID = 'did:web:issuer.example.org%3A8443';
type Json = Record<string, any>;

describe('Data Integrity credentials (ecdsa-rdfc-2019, eddsa-rdfc-2022) and the did:web document', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: RunningPart;
  let grpcPart: RunningPart;
  let grpcClient: grpc.Client;
  let issuance: IssuanceService;
  let loader: ReturnType<typeof createVerifierDocumentLoader>;

  const subject = { legalName: 'ABC Limited', postalCode: '000000', addressCountry: 'US', type: 'IdentityCredential' };
  const make = (cryptosuite?: string, extra: Json = {}) =>
    issuance.makeVc20DataIntegrity({ types: ['IdentityCredential'], documentData: subject, subjectDid: 'did:example:holder', ...(cryptosuite ? { cryptosuite } : {}), extra: { onboardingId: 'onb-1' }, ...extra });

  before(async () => {
    database = await createTestDatabase();
    const config = loadTestConfig(
      testConfigFile((file) => {
        // A jwt_vc_json type for the gRPC MakeVC20 test; the others sign through the issuance service directly.
        (file.authentic_sources as Record<string, { credential_types: Record<string, unknown> }>)['hr.example.org']!.credential_types.identity_credential = { vct: 'IdentityCredential', format: 'jwt_vc_json' };
      }),
      { DATABASE_URL: database.url, TEMPORAL_ADDRESS: testEnv().temporalAddress, PORT: '0', GRPC_PORT: '0', GRPC_SIGNING_THREADS: '1', ISSUER_URL },
    );
    gateway = await startGateway(config, createLogger('silent'));
    grpcPart = await startGrpc(config, createLogger('silent'));
    // Upstream's client (seed 000's proto), without TLS: a development configuration serves every scope on 127.0.0.1.
    const definition = loadSync(new URL('../fixtures/grpc/seed-000-issuer-client.proto', import.meta.url).pathname, { keepCase: true, longs: String, enums: String, defaults: true, arrays: true });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as { v1: { issuer: { IssuerService: grpc.ServiceClientConstructor } } };
    grpcClient = new pkg.v1.issuer.IssuerService(`127.0.0.1:${new URL(grpcPart.url!).port}`, grpc.credentials.createInsecure());
    // The gateway and this service share the database and the dev KEK of the configuration's data directory.
    issuance = createIssuanceService({ config, keyStore: await openKeyStore(config, database.db, createLogger('silent')) });
    loader = createVerifierDocumentLoader({ origins: { [ISSUER_URL]: gateway.url! } });
  });
  after(async () => {
    grpcClient?.close();
    await grpcPart?.close();
    await gateway?.close();
    await database?.drop();
  });

  test('did.json (did:web §3.2): the DID is ISSUER_URL\'s host with the port percent-encoded; both keys as Multikey under assertionMethod', async () => {
    const res = await fetch(`${gateway.url}/.well-known/did.json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as Json;
    assert.equal(doc.id, ISSUER_DID);
    assert.deepEqual(doc['@context'], ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1']);
    assert.equal(doc.verificationMethod.length, 2);
    const prefixes = doc.verificationMethod.map((m: Json) => {
      assert.equal(m.type, 'Multikey');
      assert.equal(m.controller, ISSUER_DID);
      assert.ok(m.id.startsWith(`${ISSUER_DID}#`));
      assert.equal(Object.keys(m).sort().join(), 'controller,id,publicKeyMultibase,type', 'public members only');
      // Controlled Identifiers 1.0 §2.2.2: multicodec headers p256-pub 0x8024, ed25519-pub 0xed01.
      const bytes = decodeBase58btc(m.publicKeyMultibase);
      return Buffer.from(bytes.subarray(0, 2)).toString('hex') + `/${bytes.length}`;
    });
    assert.deepEqual(prefixes.sort(), ['8024/35', 'ed01/34']);
    assert.deepEqual(doc.assertionMethod, doc.verificationMethod.map((m: Json) => m.id));
  });

  test('the default cryptosuite is ecdsa-rdfc-2019: @digitalbazaar/vc verifies it through did.json fetched over HTTP, and so does the spec-written check', async () => {
    const issued = await make();
    const vc = issued.credential as Json;
    assert.equal(issued.format, 'ldp_vc');
    assert.equal(vc.issuer, ISSUER_DID);
    assert.deepEqual(vc['@context'], ['https://www.w3.org/ns/credentials/v2', `${ISSUER_URL}/contexts/credentials/v1`]);
    assert.deepEqual(vc.type, ['VerifiableCredential', 'IdentityCredential']);
    assert.equal(vc.onboardingId, 'onb-1');
    // VC Data Integrity 1.0 §2.1: the proof's properties.
    assert.equal(vc.proof.type, 'DataIntegrityProof');
    assert.equal(vc.proof.cryptosuite, 'ecdsa-rdfc-2019');
    assert.equal(vc.proof.proofPurpose, 'assertionMethod');
    assert.ok(vc.proof.verificationMethod.startsWith(`${ISSUER_DID}#`));
    assert.match(vc.proof.proofValue, /^z[1-9A-HJ-NP-Za-km-z]+$/, 'multibase base58btc');
    assert.ok(!Number.isNaN(Date.parse(vc.proof.created)));

    loader.fetched.length = 0;
    const result = await verifyWithDigitalBazaar(vc, loader);
    assert.equal(result.verified, true, String(result.error));
    assert.ok(loader.fetched.includes('https://issuer.example.org:8443/.well-known/did.json'), 'the key came from the served DID document');
    assert.ok(loader.fetched.includes(`${ISSUER_URL}/contexts/credentials/v1`), 'the issuer context came from the gateway');
    assert.equal(await verifyEcdsaRdfc2019FromSpec(vc, loader), true);
  });

  test('eddsa-rdfc-2022 (EdDSA Cryptosuites v1.0 §3.1) is signed with the Ed25519 key and verifies with @digitalbazaar/vc', async () => {
    const issued = await make('eddsa-rdfc-2022');
    const vc = issued.credential as Json;
    assert.equal(vc.proof.cryptosuite, 'eddsa-rdfc-2022');
    const doc = (await (await fetch(`${gateway.url}/.well-known/did.json`)).json()) as Json;
    const method = doc.verificationMethod.find((m: Json) => m.id === vc.proof.verificationMethod);
    assert.equal(Buffer.from(decodeBase58btc(method.publicKeyMultibase).subarray(0, 2)).toString('hex'), 'ed01', 'an Ed25519 Multikey');
    const result = await verifyWithDigitalBazaar(vc, loader);
    assert.equal(result.verified, true, String(result.error));
  });

  test('a tampered credential fails both verifiers: a changed claim, a changed onboardingId, a proof moved to another key', async () => {
    const vc = (await make()).credential as Json;
    const tampered: Json[] = [
      { ...vc, credentialSubject: { ...vc.credentialSubject, legalName: 'XYZ Limited' } },
      { ...vc, onboardingId: 'onb-2' },
      { ...vc, validUntil: '2099-01-01T00:00:00Z' },
    ];
    for (const t of tampered) {
      assert.equal((await verifyWithDigitalBazaar(t, loader)).verified, false);
      assert.equal(await verifyEcdsaRdfc2019FromSpec(t, loader), false);
    }
    const ed = (await make('eddsa-rdfc-2022')).credential as Json;
    const edTampered = { ...ed, credentialSubject: { ...ed.credentialSubject, postalCode: '999999' } };
    assert.equal((await verifyWithDigitalBazaar(edTampered, loader)).verified, false);
    // The proof of the P-256 key claimed by the Ed25519 key: the signature does not match.
    const moved = { ...vc, proof: { ...vc.proof, verificationMethod: ed.proof.verificationMethod } };
    assert.equal((await verifyWithDigitalBazaar(moved, loader)).verified, false);
  });

  test("gRPC MakeVC20 with upstream's cryptosuite (field 5), on a signing thread: each suite's credential verifies with @digitalbazaar/vc, ecdsa-rdfc-2019 also with the spec-written check", async () => {
    for (const cryptosuite of ['ecdsa-rdfc-2019', 'eddsa-rdfc-2022']) {
      const reply = await callUnary<{ credential: Buffer; credential_id: string }>(grpcClient, 'MakeVC20', {
        scope: 'identity_credential',
        document_data: Buffer.from(JSON.stringify({ givenName: 'Anna', familyName: 'Andersson' })),
        credential_types: ['VerifiableCredential', 'IdentityCredential'],
        subject_did: 'did:example:holder',
        cryptosuite,
      }, 15_000);
      const vc = JSON.parse(reply.credential.toString('utf8')) as Json;
      assert.equal(vc.proof.cryptosuite, cryptosuite);
      assert.equal(vc.id, reply.credential_id);
      assert.equal(vc.issuer, ISSUER_DID);
      assert.deepEqual(vc.credentialSubject, { id: 'did:example:holder', givenName: 'Anna', familyName: 'Andersson' });
      const result = await verifyWithDigitalBazaar(vc, loader);
      assert.equal(result.verified, true, `${cryptosuite}: ${JSON.stringify(result.error)}`);
      if (cryptosuite === 'ecdsa-rdfc-2019') assert.equal(await verifyEcdsaRdfc2019FromSpec(vc, loader), true);
      const tampered = { ...vc, credentialSubject: { ...vc.credentialSubject, givenName: 'Eve' } };
      assert.equal((await verifyWithDigitalBazaar(tampered, loader)).verified, false, 'a changed claim fails');
    }
  });

  test('ecdsa-sd-2023 (ECDSA Cryptosuites v1.0 §3.3): a holder derives a disclosure of chosen claims; it verifies with @digitalbazaar/vc, always shows issuer, validity and status, and fails when tampered', async () => {
    const status = { type: 'BitstringStatusListEntry', statusPurpose: 'revocation', statusListIndex: '7', statusListCredential: `${ISSUER_URL}/status-lists/w3c/revocation/0/di` } as const;
    const issued = await make('ecdsa-sd-2023', { validUntil: new Date(Date.now() + 86_400_000), credentialStatus: status });
    const vc = issued.credential as Json;
    assert.equal(vc.proof.type, 'DataIntegrityProof');
    assert.equal(vc.proof.cryptosuite, 'ecdsa-sd-2023');
    assert.match(vc.proof.proofValue, /^u[A-Za-z0-9_-]+$/, 'a base proof: Multibase base64url (§3.3.1)');
    assert.ok(vc.proof.verificationMethod.startsWith(`${ISSUER_DID}#`));

    const disclosed = await deriveDisclosure(vc, ['/credentialSubject/legalName'], loader);
    const subject = disclosed.credentialSubject as Json;
    assert.equal(subject.legalName, 'ABC Limited');
    assert.equal(subject.postalCode, undefined, 'not selected, not disclosed');
    assert.equal(subject.addressCountry, undefined);
    assert.equal(disclosed.onboardingId, undefined);
    // Mandatory whatever the holder selects: who issued it, whether it is current, whether it is revoked.
    assert.equal(disclosed.issuer, ISSUER_DID);
    assert.equal(disclosed.validFrom, vc.validFrom);
    assert.equal(disclosed.validUntil, vc.validUntil);
    assert.deepEqual(disclosed.credentialStatus, vc.credentialStatus);
    assert.notEqual((disclosed.proof as Json).proofValue, vc.proof.proofValue, 'a derived proof (§3.3.4)');
    loader.fetched.length = 0;
    const result = await verifyWithDigitalBazaar(disclosed, loader);
    assert.equal(result.verified, true, String(result.error));
    assert.ok(loader.fetched.includes(`${ISSUER_URL}/.well-known/did.json`), 'the base signature is checked with the key in did.json');

    const tampered: Json[] = [
      { ...disclosed, credentialSubject: { ...subject, legalName: 'XYZ Limited' } },
      { ...disclosed, validUntil: '2099-01-01T00:00:00Z' },
      { ...disclosed, credentialSubject: { ...subject, postalCode: '999999' } },
    ];
    for (const t of tampered) assert.equal((await verifyWithDigitalBazaar(t, loader)).verified, false);

    // The issuer's mandatory pointers: a claim the holder cannot withhold.
    const withMandatory = (await make('ecdsa-sd-2023', { mandatoryPointers: ['/credentialSubject/addressCountry'] })).credential as Json;
    const minimal = await deriveDisclosure(withMandatory, [], loader);
    assert.equal((minimal.credentialSubject as Json).addressCountry, 'US');
    assert.equal((minimal.credentialSubject as Json).legalName, undefined);
    assert.equal((await verifyWithDigitalBazaar(minimal, loader)).verified, true);
    await assert.rejects(make('ecdsa-rdfc-2019', { mandatoryPointers: ['/issuer'] }), (err: Error & { path?: string }) => err.name === 'CredentialInputError' && err.path === 'mandatoryPointers');
    await assert.rejects(make('ecdsa-sd-2023', { mandatoryPointers: ['issuer'] }), (err: Error & { path?: string }) => err.name === 'CredentialInputError' && err.path === 'mandatoryPointers.0');
  });

  test("gRPC MakeVC20 with cryptosuite ecdsa-sd-2023 and upstream's mandatory_pointers (6): the pointed claims survive a disclosure of nothing else", async () => {
    const reply = await callUnary<{ credential: Buffer }>(grpcClient, 'MakeVC20', {
      scope: 'identity_credential',
      document_data: Buffer.from(JSON.stringify({ givenName: 'Anna', familyName: 'Andersson' })),
      subject_did: 'did:example:holder',
      cryptosuite: 'ecdsa-sd-2023',
      mandatory_pointers: ['/credentialSubject/givenName'],
    }, 15_000);
    const vc = JSON.parse(reply.credential.toString('utf8')) as Json;
    assert.equal(vc.proof.cryptosuite, 'ecdsa-sd-2023');
    const disclosed = await deriveDisclosure(vc, [], loader);
    // The subject's id is the subject of every disclosed statement about it (an RDF node IRI), so it shows too.
    assert.deepEqual(disclosed.credentialSubject, { id: 'did:example:holder', givenName: 'Anna' });
    assert.equal((await verifyWithDigitalBazaar(disclosed, loader)).verified, true);
    const both = await deriveDisclosure(vc, ['/credentialSubject/familyName'], loader);
    assert.deepEqual(both.credentialSubject, { id: 'did:example:holder', givenName: 'Anna', familyName: 'Andersson' });
    assert.equal((await verifyWithDigitalBazaar(both, loader)).verified, true);
  });

  test('an unknown cryptosuite, and a claim no context defines, are input errors naming the field', async () => {
    await assert.rejects(make('ecdsa-sd-2099'), (err: Error & { path?: string }) => err.name === 'CredentialInputError' && err.path === 'cryptosuite');
    await assert.rejects(
      issuance.makeVc20DataIntegrity({ types: ['IdentityCredential'], documentData: { nickname: 'x' } }),
      (err: Error & { path?: string }) => err.name === 'CredentialInputError' && /"nickname"/.test(err.message),
    );
    // With the undefined-terms context (VC DM 2.0 §5.2), free-form claims are issuer-dependent terms and verify.
    const free = await issuance.makeVc20DataIntegrity({ types: ['EmploymentCredential'], documentData: { nickname: 'x' }, undefinedTerms: true });
    assert.ok((free.credential['@context'] as string[]).includes('https://www.w3.org/ns/credentials/undefined-terms/v2'));
    assert.equal((await verifyWithDigitalBazaar(free.credential, loader)).verified, true);
  });

  test('the issuer context served at /contexts/credentials/v1 defines the seed 001 terms, protected', async () => {
    const res = await fetch(`${gateway.url}/contexts/credentials/v1`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/ld\+json/);
    const ctx = ((await res.json()) as Json)['@context'];
    assert.equal(ctx['@protected'], true);
    for (const term of ['IdentityCredential', 'DSCSAATPCredential', 'onboardingId', 'issuerName', 'legalName', 'parentOrganization', 'organizationType', 'identifier']) {
      assert.equal(typeof ctx[term], 'string', term);
    }
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compactVerify, decodeProtectedHeader, importJWK, jwtVerify, errors as joseErrors } from 'jose';
import {
  CredentialInputError,
  bitstringStatusListEntry,
  createLocalSigner,
  createVc20JoseIssuer,
  generateEs256PrivateJwk,
} from '../../src/credentials/index';

const ISSUER = 'https://issuer.example.org';

async function setup() {
  const signer = await createLocalSigner(generateEs256PrivateJwk());
  return { signer, issuer: createVc20JoseIssuer({ signer }) };
}

const request = {
  type: 'IdentityCredential',
  issuer: ISSUER,
  validFrom: '2026-01-01T00:00:00Z',
  validUntil: '2036-01-01T00:00:00Z',
  credentialSubject: { id: 'did:web:pharmacy.example.com', name: 'Example Pharmacy', role: 'Dispenser' },
};

test('the JOSE header is {alg ES256, kid, typ vc+jwt, cty vc} (VC-JOSE-COSE §3.1.1)', async () => {
  const { signer, issuer } = await setup();
  const issued = await issuer.issue(request);
  assert.deepEqual(decodeProtectedHeader(issued.credential), { alg: 'ES256', kid: signer.kid, typ: 'vc+jwt', cty: 'vc' });
  assert.equal(issued.mediaType, 'application/vc+jwt');
  const { protectedHeader } = await jwtVerify(issued.credential, await importJWK(signer.publicJwk, 'ES256'), { typ: 'vc+jwt', algorithms: ['ES256'] });
  assert.equal(protectedHeader.cty, 'vc');
});

test('the payload is the credential itself: @context v2 first, type, id, issuer, validFrom/validUntil, credentialSubject (VC DM 2.0 §4)', async () => {
  const { signer, issuer } = await setup();
  const issued = await issuer.issue({ ...request, contexts: ['https://example.org/contexts/identity/v1'] });
  const { payload } = await compactVerify(issued.credential, await importJWK(signer.publicJwk, 'ES256'));
  const vc = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
  assert.deepEqual(vc, issued.payload);
  assert.deepEqual(vc['@context'], ['https://www.w3.org/ns/credentials/v2', 'https://example.org/contexts/identity/v1']);
  assert.deepEqual(vc.type, ['VerifiableCredential', 'IdentityCredential']);
  assert.match(vc.id as string, /^urn:uuid:[0-9a-f-]{36}$/);
  assert.equal(vc.issuer, ISSUER);
  assert.equal(vc.validFrom, '2026-01-01T00:00:00Z');
  assert.equal(vc.validUntil, '2036-01-01T00:00:00Z');
  assert.deepEqual(vc.credentialSubject, request.credentialSubject);
  assert.equal(vc.vc, undefined, 'no VC 1.1 "vc" wrapper claim');
  assert.equal(vc.proof, undefined, 'secured by the envelope, not an embedded proof');
});

test('credentialStatus carries a BitstringStatusListEntry (Bitstring Status List v1.0 §2.1)', async () => {
  const { issuer } = await setup();
  const credentialStatus = bitstringStatusListEntry({ statusListCredential: `${ISSUER}/status/3`, statusListIndex: 94567 });
  const issued = await issuer.issue({ ...request, id: 'urn:uuid:6f1f3b53-0a4b-4f4e-9a56-1f7f6c1f3c11', credentialStatus });
  assert.deepEqual(issued.payload.credentialStatus, {
    id: `${ISSUER}/status/3#94567`,
    type: 'BitstringStatusListEntry',
    statusPurpose: 'revocation',
    statusListIndex: '94567',
    statusListCredential: `${ISSUER}/status/3`,
  });
  assert.equal(issued.payload.id, 'urn:uuid:6f1f3b53-0a4b-4f4e-9a56-1f7f6c1f3c11');
});

test('a future validFrom is allowed and dates are normalised to UTC seconds', async () => {
  const { issuer } = await setup();
  const issued = await issuer.issue({ ...request, validFrom: '2030-06-01T12:00:00.123+02:00', validUntil: new Date('2031-06-01T10:00:00Z') });
  assert.equal(issued.payload.validFrom, '2030-06-01T10:00:00Z');
  assert.equal(issued.payload.validUntil, '2031-06-01T10:00:00Z');
});

test('a VC 2.0 JWT checked against another key is rejected (RFC 7515 §5.2)', async () => {
  const { issuer } = await setup();
  const issued = await issuer.issue(request);
  const other = await createLocalSigner(generateEs256PrivateJwk());
  await assert.rejects(compactVerify(issued.credential, await importJWK(other.publicJwk, 'ES256')), joseErrors.JWSSignatureVerificationFailed);
});

test('the issuer refuses validUntil before validFrom, managed properties in extra, dates without a time zone and a non-URL issuer', async () => {
  const { issuer } = await setup();
  const rejectsWith = (promise: Promise<unknown>, code: string) =>
    assert.rejects(promise, (e: unknown) => e instanceof CredentialInputError && e.code === code);
  await rejectsWith(issuer.issue({ ...request, validUntil: '2025-01-01T00:00:00Z' }), 'invalid_validity');
  await rejectsWith(issuer.issue({ ...request, validFrom: '2026-01-01' }), 'invalid_validity');
  await rejectsWith(issuer.issue({ ...request, extra: { issuer: 'https://evil.example' } }), 'reserved_claim');
  await rejectsWith(issuer.issue({ ...request, issuer: 'not a url' }), 'invalid_claims');
});

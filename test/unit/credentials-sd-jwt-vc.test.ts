import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { compactVerify, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, importX509, jwtVerify, errors as joseErrors } from 'jose';
import { decodeSdJwt, getClaims } from '@sd-jwt/decode';
import {
  CredentialInputError,
  createDevPki,
  createLocalSigner,
  createSdJwtVcIssuer,
  generateEs256PrivateJwk,
  loadVctm,
  type CredentialSigner,
  type LoadedVctm,
} from '../../src/credentials/index';
import { splitSdJwt, unpackSdJwt } from '../support/credential-verifiers';

// Independent verification: plain `jose` for the JWS and our own SHA-256 digest bookkeeping
// (RFC 9901 §7.1), not the @sd-jwt library that produced the credential.

const fixturesDir = new URL('../fixtures/credentials/', import.meta.url);
const fixture = JSON.parse(readFileSync(new URL('sd-jwt-vc-nested.json', fixturesDir), 'utf8')) as {
  vctm: string;
  claims: Record<string, unknown>;
  expected: Record<'disclose' | 'plain', { disclosable: string[]; plain: string[] }>;
};
const vctmBytes = readFileSync(new URL(fixture.vctm, fixturesDir));
const ISSUER = 'https://issuer.example.org';

function loaded(bytes: Uint8Array): LoadedVctm {
  const result = loadVctm(bytes);
  if (!result.success) throw new Error(result.errors.join('\n'));
  return result.data;
}

async function setup(opts: { allowedClaims?: 'disclose' | 'plain'; now?: () => number } = {}) {
  const signer = await createLocalSigner(generateEs256PrivateJwk());
  const holder = await generateKeyPair('ES256');
  const holderJwk = await exportJWK(holder.publicKey);
  const issuer = createSdJwtVcIssuer({ signer, ...opts });
  return { signer, holderJwk, issuer, vctm: loaded(vctmBytes) };
}

const unpack = unpackSdJwt;

/** Every concrete path of a JSON value, dotted. */
function allPaths(value: unknown, prefix: string[] = []): string[] {
  const children: [string, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : value && typeof value === 'object'
      ? Object.entries(value)
      : [];
  return children.flatMap(([k, v]) => [[...prefix, k].join('.'), ...allPaths(v, [...prefix, k])]);
}

test('the issuer-signed JWT verifies with the issuer public key and has typ dc+sd-jwt (draft-ietf-oauth-sd-jwt-vc §3.2.1)', async () => {
  const { signer, holderJwk, issuer, vctm } = await setup();
  const issued = await issuer.issue({ issuer: ISSUER, vctm, claims: fixture.claims, holderJwk });
  const { jwt } = splitSdJwt(issued.credential);
  const key = await importJWK(signer.publicJwk, 'ES256');
  const { protectedHeader, payload } = await jwtVerify(jwt, key, { typ: 'dc+sd-jwt', issuer: ISSUER, algorithms: ['ES256'] });
  assert.equal(protectedHeader.typ, 'dc+sd-jwt');
  assert.equal(protectedHeader.alg, 'ES256');
  assert.equal(protectedHeader.kid, signer.kid);
  assert.equal(protectedHeader.x5c, undefined);
  assert.equal(payload.vct, 'urn:example:nested-person:1');
  assert.equal(payload._sd_alg, 'sha-256');
  assert.equal(typeof payload.iat, 'number');
  assert.equal(issued.kid, signer.kid);
});

test('every disclosure digest appears in _sd or an array element (RFC 9901 §4.2.4.1, §4.2.4.2) and the claims round-trip', async () => {
  const { holderJwk, issuer, vctm } = await setup();
  const issued = await issuer.issue({ issuer: ISSUER, vctm, claims: fixture.claims, holderJwk });
  const { jwt, disclosures } = splitSdJwt(issued.credential);
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  const { claims } = unpack(payload, disclosures);
  for (const [k, v] of Object.entries(fixture.claims)) assert.deepEqual(claims[k], v, k);
  assert.equal(issued.disclosureCount, disclosures.length);
  // Cross-check with a second decoder (@sd-jwt/decode) as well.
  const hasher = (data: string | ArrayBuffer) => new Uint8Array(createHash('sha256').update(typeof data === 'string' ? data : Buffer.from(data)).digest());
  const decoded = await decodeSdJwt(issued.credential, hasher);
  const viaLibrary = await getClaims<Record<string, unknown>>(decoded.jwt.payload, decoded.disclosures, hasher);
  assert.deepEqual(viaLibrary, claims);
});

test('digests in _sd are sorted so they do not reveal the original claim order (RFC 9901 §4.2.4.1)', async () => {
  const { holderJwk, issuer, vctm } = await setup();
  const issued = await issuer.issue({ issuer: ISSUER, vctm, claims: fixture.claims, holderJwk });
  const payload = JSON.parse(Buffer.from(issued.credential.split('.')[1]!, 'base64url').toString('utf8')) as { _sd: string[] };
  assert.ok(payload._sd.length > 1);
  assert.deepEqual(payload._sd, [...payload._sd].sort());
});

test('salts carry at least 128 bits of entropy (RFC 9901 §9.3)', async () => {
  const { holderJwk, issuer, vctm } = await setup();
  const issued = await issuer.issue({ issuer: ISSUER, vctm, claims: fixture.claims, holderJwk });
  const { disclosures } = splitSdJwt(issued.credential);
  assert.ok(disclosures.length > 0);
  const salts = new Set(disclosures.map((d) => d.salt));
  assert.equal(salts.size, disclosures.length, 'salts are unique');
  for (const d of disclosures) assert.ok(Buffer.from(d.salt, 'base64url').length >= 16, d.salt);
});

for (const allowedClaims of ['disclose', 'plain'] as const) {
  test(`VCTM sd policies decide what is disclosable, allowed=${allowedClaims} (draft-ietf-oauth-sd-jwt-vc Claim Selective Disclosure Metadata)`, async () => {
    const { holderJwk, issuer, vctm } = await setup({ allowedClaims });
    const issued = await issuer.issue({ issuer: ISSUER, vctm, claims: fixture.claims, holderJwk });
    const { jwt, disclosures } = splitSdJwt(issued.credential);
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const { disclosed } = unpack(payload, disclosures);
    const expected = fixture.expected[allowedClaims];
    assert.deepEqual([...disclosed].sort(), [...expected.disclosable].sort());
    // Everything else is plain, and the fixture names every path.
    assert.deepEqual([...allPaths(fixture.claims)].sort(), [...expected.disclosable, ...expected.plain].sort());
    for (const path of expected.plain) assert.ok(!disclosed.has(path), path);
  });
}

test('claims with sd "never" stay plain in the signed payload and appear in no disclosure', async () => {
  const { holderJwk, issuer, vctm } = await setup();
  const issued = await issuer.issue({ issuer: ISSUER, vctm, claims: fixture.claims, holderJwk });
  const { jwt, disclosures } = splitSdJwt(issued.credential);
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, any>;
  assert.equal(payload.issuing_authority, 'Skatteverket');
  assert.equal(payload.address.country, 'SE');
  assert.equal(payload.given_name, undefined, 'sd "always" is not plain');
  assert.ok(!disclosures.some((d) => d.name === 'issuing_authority' || d.name === 'country'));
});

test('cnf.jwk binds the holder public key (RFC 7800 §3.2) and registered claims are never disclosable', async () => {
  const { holderJwk, issuer, vctm } = await setup();
  const issued = await issuer.issue({ issuer: ISSUER, vctm, claims: fixture.claims, holderJwk: { ...holderJwk, kid: 'wallet-key', alg: 'ES256' } });
  const { jwt, disclosures } = splitSdJwt(issued.credential);
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, any>;
  assert.deepEqual(payload.cnf, { jwk: { kty: 'EC', crv: 'P-256', x: holderJwk.x, y: holderJwk.y } });
  for (const name of ['iss', 'iat', 'nbf', 'exp', 'cnf', 'vct', 'vct#integrity', 'status']) {
    assert.ok(!disclosures.some((d) => d.name === name), name);
  }
  assert.match(issued.holderKeyThumbprint, /^[A-Za-z0-9_-]{43}$/);
});

test('vct#integrity is the SRI sha256 of the VCTM bytes (draft-ietf-oauth-sd-jwt-vc Document Integrity)', async () => {
  const { holderJwk, issuer, vctm } = await setup();
  const issued = await issuer.issue({ issuer: ISSUER, vctm, claims: fixture.claims, holderJwk });
  const payload = JSON.parse(Buffer.from(issued.credential.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  assert.equal(payload['vct#integrity'], `sha256-${createHash('sha256').update(vctmBytes).digest('base64')}`);
});

test('nbf and exp come from the document validity and status carries the status list reference', async () => {
  const { signer, holderJwk, issuer, vctm } = await setup();
  const validFrom = Math.floor(Date.now() / 1000) - 3600;
  const validUntil = validFrom + 365 * 86400;
  const status = { status_list: { idx: 42, uri: `${ISSUER}/statuslists/1` } };
  const issued = await issuer.issue({ issuer: ISSUER, vctm, claims: fixture.claims, holderJwk, validFrom, validUntil, status });
  const { payload } = await jwtVerify(issued.credential.split('~')[0]!, await importJWK(signer.publicJwk, 'ES256'));
  assert.equal(payload.nbf, validFrom);
  assert.equal(payload.exp, validUntil);
  assert.deepEqual(payload.status, status);
});

test('the x5c header carries the certificate chain when configured (draft-ietf-oauth-sd-jwt-vc Issuer Signature Mechanisms)', async () => {
  const pki = await createDevPki({ issuerUrl: ISSUER });
  const signer = await createLocalSigner(pki.documentSigner.privateJwk, { x5c: pki.documentSigner.x5c });
  const holderJwk = await exportJWK((await generateKeyPair('ES256')).publicKey);
  const issuer = createSdJwtVcIssuer({ signer, keyReference: 'x5c' });
  const issued = await issuer.issue({ issuer: ISSUER, vctm: loaded(vctmBytes), claims: fixture.claims, holderJwk });
  const jwt = issued.credential.split('~')[0]!;
  const header = decodeProtectedHeader(jwt);
  assert.deepEqual(header.x5c, pki.documentSigner.x5c);
  assert.equal(header.kid, undefined);
  const key = await importX509(`-----BEGIN CERTIFICATE-----\n${header.x5c![0]}\n-----END CERTIFICATE-----`, 'ES256');
  await compactVerify(jwt, key);
});

test('a tampered disclosure no longer matches any digest and is rejected (RFC 9901 §7.1 step 4)', async () => {
  const { holderJwk, issuer, vctm } = await setup();
  const issued = await issuer.issue({ issuer: ISSUER, vctm, claims: fixture.claims, holderJwk });
  const { jwt, disclosures } = splitSdJwt(issued.credential);
  const target = disclosures.find((d) => d.name === 'family_name')!;
  const forged = Buffer.from(JSON.stringify([target.salt, 'family_name', 'Forged'])).toString('base64url');
  const tampered = [jwt, ...disclosures.map((d) => (d === target ? forged : d.encoded)), ''].join('~');
  const split = splitSdJwt(tampered);
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  assert.throws(() => unpack(payload, split.disclosures), /not referenced by any digest/);
});

test('a signature checked against another key is rejected (RFC 7515 §5.2)', async () => {
  const { holderJwk, issuer, vctm } = await setup();
  const issued = await issuer.issue({ issuer: ISSUER, vctm, claims: fixture.claims, holderJwk });
  const other: CredentialSigner = await createLocalSigner(generateEs256PrivateJwk());
  await assert.rejects(compactVerify(issued.credential.split('~')[0]!, await importJWK(other.publicJwk, 'ES256')), joseErrors.JWSSignatureVerificationFailed);
});

test('a credential whose exp has passed is rejected by a verifier (RFC 7519 §4.1.4)', async () => {
  const past = Math.floor(Date.now() / 1000) - 10 * 86400;
  const { signer, holderJwk, issuer, vctm } = await setup({ now: () => past });
  const issued = await issuer.issue({ issuer: ISSUER, vctm, claims: fixture.claims, holderJwk, validFrom: past, validUntil: past + 86400 });
  await assert.rejects(jwtVerify(issued.credential.split('~')[0]!, await importJWK(signer.publicJwk, 'ES256')), joseErrors.JWTExpired);
});

test('the issuer refuses validity that has already ended, reserved claims, missing mandatory claims and private holder keys', async () => {
  const { holderJwk, issuer, vctm } = await setup();
  const now = Math.floor(Date.now() / 1000);
  const input = { issuer: ISSUER, vctm, claims: fixture.claims, holderJwk };
  const rejectsWith = (promise: Promise<unknown>, code: string) =>
    assert.rejects(promise, (e: unknown) => e instanceof CredentialInputError && e.code === code);
  await rejectsWith(issuer.issue({ ...input, validUntil: now - 1 }), 'invalid_validity');
  await rejectsWith(issuer.issue({ ...input, claims: { ...fixture.claims, iss: 'https://evil.example' } }), 'reserved_claim');
  await rejectsWith(issuer.issue({ ...input, claims: { ...fixture.claims, address: { _sd: ['x'] } } }), 'reserved_claim');
  const { given_name: _omitted, ...withoutGivenName } = fixture.claims;
  await rejectsWith(issuer.issue({ ...input, claims: withoutGivenName }), 'missing_mandatory_claim');
  const holderPrivate = await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey);
  await rejectsWith(issuer.issue({ ...input, holderJwk: holderPrivate }), 'invalid_holder_key');
});

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { calculateJwkThumbprint, type CryptoKey, exportJWK, generateKeyPair, importPKCS8, type JWK, type JWTPayload, SignJWT } from 'jose';
import { verifyProofJwt, PROOF_JWT_TYP } from '../../src/oid4vci/proof-jwt';
import { createTestPki } from '../support/test-pki';

// Key proofs of proof_type jwt, OpenID4VCI 1.0 Appendix F.1:
// https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html#name-jwt-proof-type

const ISSUER = 'https://issuer.example.org';
const NONCE = 'c-nonce-0123456789';
const NOW = new Date('2026-11-23T12:00:00Z');
const nowSeconds = Math.floor(NOW.getTime() / 1000);

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('key proof JWT verification (OpenID4VCI 1.0 Appendix F.1)', () => {
  let holder: { privateKey: CryptoKey; publicJwk: JWK };
  let other: { privateKey: CryptoKey; publicJwk: JWK };

  const holderKeys = async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    return { privateKey, publicJwk: await exportJWK(publicKey) };
  };

  /** A proof as a wallet builds it; `header` and `claims` override the well-formed defaults. */
  const proof = (opts: { header?: Record<string, unknown>; claims?: JWTPayload; key?: CryptoKey; alg?: string } = {}) =>
    new SignJWT({ aud: ISSUER, iat: nowSeconds, nonce: NONCE, ...opts.claims })
      .setProtectedHeader({ alg: opts.alg ?? 'ES256', typ: PROOF_JWT_TYP, jwk: holder.publicJwk, ...opts.header })
      .sign(opts.key ?? holder.privateKey);

  const verify = (jwt: string, overrides: Partial<Parameters<typeof verifyProofJwt>[1]> = {}) => verifyProofJwt(jwt, { audience: ISSUER, nonce: NONCE, now: NOW, ...overrides });

  const assertRejected = (result: Awaited<ReturnType<typeof verifyProofJwt>>, error: 'invalid_proof' | 'invalid_nonce', description?: RegExp) => {
    assert.equal(result.success, false, 'the proof must be rejected');
    if (result.success) return;
    assert.equal(result.error, error);
    if (description) assert.match(result.description, description);
  };

  before(async () => {
    holder = await holderKeys();
    other = await holderKeys();
  });

  test('accepts a well-formed ES256 proof and returns the holder public JWK (OpenID4VCI 1.0 §F.1)', async () => {
    const result = await verify(await proof({ claims: { iss: 'wallet-client' } }));
    assert.ok(result.success, JSON.stringify(result));
    assert.equal(result.nonce, NONCE);
    assert.equal(result.iss, 'wallet-client');
    assert.equal(result.holderJwk.d, undefined);
    assert.equal(await calculateJwkThumbprint(result.holderJwk), await calculateJwkThumbprint(holder.publicJwk));
  });

  test('accepts a proof without a nonce when the issuer expects none (OpenID4VCI 1.0 §F.1 nonce is OPTIONAL)', async () => {
    const result = await verify(await proof({ claims: { nonce: undefined } }), { nonce: undefined });
    assert.ok(result.success, JSON.stringify(result));
    assert.equal(result.nonce, undefined);
  });

  test('accepts an EdDSA proof (OpenID4VCI 1.0 §F.1 alg)', async () => {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const result = await verify(await proof({ alg: 'EdDSA', key: privateKey, header: { jwk: await exportJWK(publicKey) } }));
    assert.ok(result.success, JSON.stringify(result));
    assert.equal(result.holderJwk.crv, 'Ed25519');
  });

  test('accepts a proof whose key is the leaf of an x5c chain (OpenID4VCI 1.0 §F.1 x5c)', async () => {
    const pki = await createTestPki();
    const der = (pem: string) => pem.replace(/-----[^-]+-----|\s/g, '');
    const key = await importPKCS8(pki.clientKey, 'ES256');
    const result = await verify(await proof({ key, header: { jwk: undefined, x5c: [der(pki.clientCert), der(pki.caCert)] } }));
    assert.ok(result.success, JSON.stringify(result));
    assert.equal(result.holderJwk.kty, 'EC');
  });

  test('rejects a proof whose typ is not openid4vci-proof+jwt (OpenID4VCI 1.0 §F.1)', async () => {
    assertRejected(await verify(await proof({ header: { typ: 'JWT' } })), 'invalid_proof', /typ/);
    assertRejected(await verify(await proof({ header: { typ: undefined } })), 'invalid_proof', /typ/);
  });

  test('rejects a proof with alg none (OpenID4VCI 1.0 §F.1: alg MUST NOT be none)', async () => {
    const unsigned = `${b64url({ alg: 'none', typ: PROOF_JWT_TYP, jwk: holder.publicJwk })}.${b64url({ aud: ISSUER, iat: nowSeconds, nonce: NONCE })}.`;
    assertRejected(await verify(unsigned), 'invalid_proof', /alg/);
  });

  test('rejects a proof signed with a symmetric algorithm (OpenID4VCI 1.0 §F.1: alg MUST NOT be a MAC)', async () => {
    const secret = new Uint8Array(32).fill(7);
    const jwt = await new SignJWT({ aud: ISSUER, iat: nowSeconds, nonce: NONCE }).setProtectedHeader({ alg: 'HS256', typ: PROOF_JWT_TYP, jwk: holder.publicJwk }).sign(secret);
    assertRejected(await verify(jwt), 'invalid_proof', /alg/);
  });

  test('rejects a proof whose jwk carries a private key (OpenID4VCI 1.0 §F.1 jwk, RFC 7515 §4.1.3)', async () => {
    const privateJwk = await exportJWK(holder.privateKey);
    assert.ok(privateJwk.d);
    assertRejected(await verify(await proof({ header: { jwk: privateJwk } })), 'invalid_proof', /private/);
  });

  test('rejects a proof whose aud is not the Credential Issuer Identifier (OpenID4VCI 1.0 §F.1 aud)', async () => {
    assertRejected(await verify(await proof({ claims: { aud: 'https://other-issuer.example.org' } })), 'invalid_proof', /aud/);
    assertRejected(await verify(await proof({ claims: { aud: undefined } })), 'invalid_proof', /aud/);
  });

  test('rejects a proof whose iat is older than the allowed age (OpenID4VCI 1.0 §F.1 iat)', async () => {
    assertRejected(await verify(await proof({ claims: { iat: nowSeconds - 300 - 60 - 1 } })), 'invalid_proof', /iat/);
    assert.ok((await verify(await proof({ claims: { iat: nowSeconds - 300 } }))).success, 'a proof exactly maxAge old is still fresh');
    assertRejected(await verify(await proof({ claims: { iat: nowSeconds - 31 } }), { maxAgeSeconds: 10, clockSkewSeconds: 20 }), 'invalid_proof', /iat/);
  });

  test('rejects a proof whose iat is in the future beyond the clock skew (OpenID4VCI 1.0 §F.1 iat)', async () => {
    assertRejected(await verify(await proof({ claims: { iat: nowSeconds + 61 } })), 'invalid_proof', /future/);
    assert.ok((await verify(await proof({ claims: { iat: nowSeconds + 30 } }))).success, 'a clock 30 s ahead is tolerated');
  });

  test('rejects a proof without iat (OpenID4VCI 1.0 §F.1: iat is REQUIRED)', async () => {
    const jwt = await new SignJWT({ aud: ISSUER, nonce: NONCE }).setProtectedHeader({ alg: 'ES256', typ: PROOF_JWT_TYP, jwk: holder.publicJwk }).sign(holder.privateKey);
    assertRejected(await verify(jwt), 'invalid_proof', /iat/);
  });

  test('answers invalid_nonce when the proof has no nonce but the issuer expects one (OpenID4VCI 1.0 §F.1 nonce, §8.3.1.2)', async () => {
    assertRejected(await verify(await proof({ claims: { nonce: undefined } })), 'invalid_nonce');
  });

  test('answers invalid_nonce when the proof nonce is not the issued c_nonce (OpenID4VCI 1.0 §F.1 nonce, §8.3.1.2)', async () => {
    assertRejected(await verify(await proof({ claims: { nonce: 'some-other-nonce' } })), 'invalid_nonce');
  });

  test('rejects a proof whose signature does not verify with the key in its header (OpenID4VCI 1.0 §F.1)', async () => {
    assertRejected(await verify(await proof({ key: other.privateKey })), 'invalid_proof', /signature/);
    const good = await proof();
    const [h, p, s] = good.split('.') as [string, string, string];
    const tampered = `${h}.${b64url({ aud: ISSUER, iat: nowSeconds, nonce: 'forged' })}.${s}`;
    assert.notEqual(p, tampered.split('.')[1]);
    assertRejected(await verify(tampered, { nonce: 'forged' }), 'invalid_proof', /signature/);
  });

  test('rejects a kid-only proof, since DID resolution is not supported (OpenID4VCI 1.0 §F.1 kid)', async () => {
    assertRejected(await verify(await proof({ header: { jwk: undefined, kid: 'did:example:holder#key-1' } })), 'invalid_proof', /kid/);
  });

  test('rejects a proof naming its key twice, with jwk and kid (OpenID4VCI 1.0 §F.1: kid MUST NOT be present with jwk)', async () => {
    assertRejected(await verify(await proof({ header: { kid: 'did:example:holder#key-1' } })), 'invalid_proof', /exactly one/);
  });

  test('rejects input that is not a JWT at all', async () => {
    assertRejected(await verify('not-a-jwt'), 'invalid_proof');
    assertRejected(await verify(''), 'invalid_proof');
  });
});

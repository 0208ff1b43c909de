import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { verifyDpopProof } from '../../src/oid4vci/dpop';

/**
 * RFC 9449 §4.3 checks that must fail cleanly (a `{ success: false }` result the endpoints answer
 * with `invalid_dpop_proof`), never by throwing: a thrown TypeError became a 500.
 */
const HTU = 'https://issuer.example.org/token';
// Never reached: each proof here fails before the jti is stored.
const noDatabase = undefined as never;

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A proof with this protected header and an arbitrary signature: header checks come before the signature. */
const proofWithHeader = (header: Record<string, unknown>) => `${b64url(header)}.${b64url({ htm: 'POST', htu: HTU, iat: Math.floor(Date.now() / 1000), jti: 'jti-0123456789' })}.${Buffer.from('sig').toString('base64url')}`;

for (const [name, jwk] of [
  ['a string', 'not-a-jwk'],
  ['a number', 42],
  ['an array', [{ kty: 'EC' }]],
  ['true', true],
  ['an empty object', {}],
  ['a symmetric key', { kty: 'oct', k: 'c2VjcmV0' }],
  ['an EC key with its private part', { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', d: 'jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI' }],
  ['an RSA key', { kty: 'RSA', n: 'AQAB', e: 'AQAB' }],
  ['an EC key whose x is not a string', { kty: 'EC', crv: 'P-256', x: { nested: true }, y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' }],
] as const) {
  test(`a DPoP proof whose jwk header is ${name} is refused without throwing (RFC 9449 §4.2, §4.3 item 5)`, async () => {
    const result = await verifyDpopProof(noDatabase, proofWithHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk }), { htm: 'POST', htu: HTU });
    assert.equal(result.success, false);
    assert.ok(!result.success && /jwk/.test(result.description), !result.success ? result.description : '');
  });
}

test('a DPoP proof whose EC jwk is well-formed but not a point on the curve is refused without throwing (RFC 9449 §4.3 item 6)', async () => {
  const result = await verifyDpopProof(noDatabase, proofWithHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' } }), { htm: 'POST', htu: HTU });
  assert.equal(result.success, false);
});

test('a DPoP proof signed by another key than its jwk header is refused (RFC 9449 §4.3 item 7)', async () => {
  const signer = await generateKeyPair('ES256');
  const other = await generateKeyPair('ES256');
  const proof = await new SignJWT({ htm: 'POST', htu: HTU, jti: 'jti-abcdefghijk' })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(other.publicKey) })
    .setIssuedAt()
    .sign(signer.privateKey);
  const result = await verifyDpopProof(noDatabase, proof, { htm: 'POST', htu: HTU });
  assert.equal(result.success, false);
  assert.match(!result.success ? result.description : '', /does not verify/);
});

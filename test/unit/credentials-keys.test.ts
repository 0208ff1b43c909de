import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createPublicKey, randomBytes, verify as nodeVerify, webcrypto, type JsonWebKey } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import {
  CredentialInputError,
  KeyDecryptionError,
  KekTextSchema,
  createDevPki,
  createLocalSigner,
  decryptPrivateKey,
  encryptPrivateKey,
  formatKek,
  generateEs256PrivateJwk,
  generateKek,
  holderJwkToCoseKey,
  holderKeyThumbprint,
  parseHolderJwk,
} from '../../src/credentials/index';
import { deriveKekSubkeys, deriveSubkey, gatewaySubkeys } from '../../src/credentials/kek-subkeys';
import { createOfferSecrets } from '../../src/oid4vci/offer-secrets';
import type { Es256PrivateJwk } from '../../src/credentials/signer';

const sealingKeys = () => deriveKekSubkeys(generateKek()).keySealing;

/** An envelope as the code before subkeys wrote it: `v1`, AES-256-GCM under the raw KEK, AAD `v1:<kid>`. */
function legacyEnvelope(jwk: Es256PrivateJwk, kek: Uint8Array, kid: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', kek, iv, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(`v1:${kid}`));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(jwk), 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

test('kid is the RFC 7638 JWK thumbprint and the published JWK has no private member', async () => {
  const jwk = generateEs256PrivateJwk();
  const signer = await createLocalSigner(jwk);
  assert.equal(signer.kid, await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }));
  assert.deepEqual(signer.publicJwk, { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, kid: signer.kid, use: 'sig', alg: 'ES256' });
  assert.ok(!('d' in signer.publicJwk));
  assert.ok(!JSON.stringify(signer).includes(jwk.d), 'the signer does not expose the private key');
});

test('signatures are raw r||s that WebCrypto ECDSA P-256/SHA-256 accepts (RFC 7518 §3.4)', async () => {
  const signer = await createLocalSigner(generateEs256PrivateJwk());
  const data = new TextEncoder().encode('payload');
  const signature = await signer.sign(data);
  assert.equal(signature.length, 64);
  const key = await webcrypto.subtle.importKey('jwk', signer.publicJwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  assert.ok(await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature, data));
  assert.ok(nodeVerify('sha256', data, { key: createPublicKey({ key: { ...signer.publicJwk } as JsonWebKey, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, signature));
});

test('a signer refuses an x5c whose leaf certifies another key', async () => {
  const pki = await createDevPki();
  await assert.rejects(createLocalSigner(generateEs256PrivateJwk(), { x5c: pki.documentSigner.x5c }), /does not certify/);
  const signer = await createLocalSigner(pki.documentSigner.privateJwk, { x5c: pki.documentSigner.x5c });
  assert.deepEqual(signer.x5c, pki.documentSigner.x5c);
  assert.deepEqual(signer.publicJwk.x5c, pki.documentSigner.x5c);
});

test('a private key round-trips through the AES-256-GCM envelope bound to its kid', async () => {
  const jwk = generateEs256PrivateJwk();
  const kek = sealingKeys();
  const envelope = encryptPrivateKey(jwk, kek, 'kid-1');
  assert.match(envelope, /^v2\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
  assert.ok(!envelope.includes(jwk.d));
  assert.deepEqual(decryptPrivateKey(envelope, kek, 'kid-1'), jwk);
  assert.notEqual(encryptPrivateKey(jwk, kek, 'kid-1'), envelope, 'a fresh IV every time');
});

test('a wrong KEK, a swapped kid or a flipped bit fails authentication (NIST SP 800-38D §7.2)', () => {
  const jwk = generateEs256PrivateJwk();
  const kek = sealingKeys();
  const envelope = encryptPrivateKey(jwk, kek, 'kid-1');
  assert.throws(() => decryptPrivateKey(envelope, sealingKeys(), 'kid-1'), KeyDecryptionError);
  assert.throws(() => decryptPrivateKey(envelope, kek, 'kid-2'), KeyDecryptionError);
  const [version, iv, ciphertext, tag] = envelope.split('.') as [string, string, string, string];
  const flipped = Buffer.from(ciphertext, 'base64url');
  flipped[5]! ^= 0x01;
  assert.throws(() => decryptPrivateKey([version, iv, flipped.toString('base64url'), tag].join('.'), kek, 'kid-1'), KeyDecryptionError);
  const badTag = Buffer.from(tag, 'base64url');
  badTag[0]! ^= 0x80;
  assert.throws(() => decryptPrivateKey([version, iv, ciphertext, badTag.toString('base64url')].join('.'), kek, 'kid-1'), KeyDecryptionError);
  assert.throws(() => decryptPrivateKey(`v1.${iv}.${ciphertext}.${tag}`, kek, 'kid-1'), KeyDecryptionError, 'a relabelled version fails');
  assert.throws(() => decryptPrivateKey(`v3.${iv}.${ciphertext}.${tag}`, kek, 'kid-1'), KeyDecryptionError);
  assert.throws(() => decryptPrivateKey('garbage', kek, 'kid-1'), KeyDecryptionError);
  assert.throws(() => encryptPrivateKey(jwk, { current: new Uint8Array(16) as never }, 'kid-1'), TypeError);
});

test('each purpose gets its own HKDF subkey of the KEK, none equal to the KEK (RFC 5869)', () => {
  const kek = generateKek();
  const subkeys = deriveKekSubkeys(kek);
  const hex = [kek, subkeys.keySealing.current, subkeys.offerSecrets, subkeys.pickupSealing].map((k) => Buffer.from(k).toString('hex'));
  assert.equal(new Set(hex).size, 4);
  assert.deepEqual(deriveKekSubkeys(kek).offerSecrets, subkeys.offerSecrets, 'deterministic');
  assert.deepEqual(deriveSubkey(kek, 'pickup-sealing'), subkeys.pickupSealing);
  assert.throws(() => deriveSubkey(new Uint8Array(16), 'offer-secrets'), TypeError);
  // The offer secrets come from their subkey, so they differ from what the KEK itself would give.
  assert.notEqual(createOfferSecrets(subkeys.offerSecrets).preAuthorizedCode('offer-1'), createOfferSecrets(kek).preAuthorizedCode('offer-1'));
});

test('a key sealed under the key-sealing subkey does not open with the KEK itself, nor with another subkey', () => {
  const kek = generateKek();
  const subkeys = deriveKekSubkeys(kek);
  const envelope = encryptPrivateKey(generateEs256PrivateJwk(), subkeys.keySealing, 'kid-1');
  assert.throws(() => decryptPrivateKey(envelope, { current: kek as never }, 'kid-1'), KeyDecryptionError);
  assert.throws(() => decryptPrivateKey(envelope, { current: subkeys.offerSecrets as never }, 'kid-1'), KeyDecryptionError);
});

test('a v1 envelope sealed under the raw KEK still opens where the KEK is held, and not with the subkey alone', () => {
  const kek = generateKek();
  const jwk = generateEs256PrivateJwk();
  const envelope = legacyEnvelope(jwk, kek, 'kid-1');
  const all = deriveKekSubkeys(kek);
  assert.deepEqual(decryptPrivateKey(envelope, all.keySealing, 'kid-1'), jwk);
  assert.throws(() => decryptPrivateKey(envelope, all.keySealing, 'kid-2'), KeyDecryptionError);
  assert.throws(() => decryptPrivateKey(envelope, gatewaySubkeys(all).keySealing, 'kid-1'), (err: unknown) => err instanceof KeyDecryptionError && /needs the KEK/.test(err.message));
});

test('the gateway is given the offer-secret, pickup and key-sealing subkeys but not the KEK', () => {
  const kek = generateKek();
  const gateway = gatewaySubkeys(deriveKekSubkeys(kek));
  assert.equal(gateway.keySealing.legacy, undefined);
  const reachable = [gateway.keySealing.current, gateway.offerSecrets, gateway.pickupSealing].map((k) => Buffer.from(k).toString('hex'));
  assert.ok(!reachable.includes(Buffer.from(kek).toString('hex')));
});

test('a KEK parses from hex, base64 and base64url and is rejected at any other length', () => {
  const kek = generateKek();
  for (const text of [Buffer.from(kek).toString('hex'), Buffer.from(kek).toString('base64'), formatKek(kek), ` ${formatKek(kek)}\n`]) {
    assert.deepEqual(KekTextSchema.parse(text), kek);
  }
  assert.equal(KekTextSchema.safeParse(Buffer.alloc(16).toString('hex')).success, false);
  assert.equal(KekTextSchema.safeParse('not a key').success, false);
});

test('holder keys are reduced to their RFC 7638 members and thumbprinted as jose does', async () => {
  for (const alg of ['ES256', 'ES384', 'EdDSA'] as const) {
    const jwk = await exportJWK((await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519' } : {})).publicKey);
    const holder = parseHolderJwk({ ...jwk, kid: 'k', use: 'sig', alg });
    assert.deepEqual(Object.keys(holder).sort(), jwk.kty === 'EC' ? ['crv', 'kty', 'x', 'y'] : ['crv', 'kty', 'x']);
    assert.equal(holderKeyThumbprint(holder), await calculateJwkThumbprint(jwk));
  }
  const p256 = parseHolderJwk(await exportJWK((await generateKeyPair('ES256')).publicKey));
  assert.deepEqual([...holderJwkToCoseKey(p256).keys()], [1, -1, -2, -3], 'COSE_Key EC2 labels (RFC 9053 §7.1.1)');
});

test('holder keys with private members, wrong curves or short coordinates are refused', async () => {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const refuses = (input: unknown) => assert.throws(() => parseHolderJwk(input), (e: unknown) => e instanceof CredentialInputError && e.code === 'invalid_holder_key');
  refuses(privateJwk);
  const { d: _d, ...publicMembers } = privateJwk;
  refuses({ ...publicMembers, crv: 'secp256k1' });
  refuses({ kty: 'EC', crv: 'P-256', x: 'AAAA', y: privateJwk.y });
  refuses({ kty: 'oct', k: 'c2VjcmV0' });
  refuses('not a key');
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { calculateJwkThumbprint } from 'jose';
import { ethereumAddress, verifyWalletSignature } from '../../src/kyc/wallet-signature';
import { sniffFileType } from '../../src/kyc/file-types';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { ethereumWallet, joseWallet } from '../support/kyc-wallet';

// Seed 004 POST /auth/challenge: the wallet signs the challenge's nonce.
// EIP-191 (personal_sign, version 0x45): https://eips.ethereum.org/EIPS/eip-191
// Compact JWS: RFC 7515 §7.1, jwk header §4.1.3; ES256K: RFC 8812 §3.2; EdDSA: RFC 8037.

const NONCE = 'q2Zk0b7mC0m3HqUuU1p0y2pM8l0kQx5r9m6N0l5b3V4=';

describe('KYC wallet signatures over the challenge nonce (seed 004)', () => {
  test('derives the EIP-55 address of a known key (the web3.js accounts example key)', () => {
    const key = Buffer.from('4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318', 'hex');
    assert.equal(ethereumAddress(secp256k1.getPublicKey(key, false)), '0x2c7536E3605D9C16a7a3D7b1898e529396a65c23');
  });

  test('recovers the signer of a personal_sign signature as its address (EIP-191)', async () => {
    const wallet = ethereumWallet();
    const result = await verifyWalletSignature(wallet.personalSign(NONCE), NONCE);
    assert.deepEqual(result, { success: true, wallet: wallet.address, kind: 'eip191' });
  });

  test('a personal_sign signature over another message recovers another address, not the wallet', async () => {
    const wallet = ethereumWallet();
    const result = await verifyWalletSignature(wallet.personalSign('another nonce'), NONCE);
    assert.ok(!result.success || result.wallet !== wallet.address);
  });

  test('refuses a recovery byte other than 27/28 (or 0/1)', async () => {
    const sig = ethereumWallet().personalSign(NONCE);
    const result = await verifyWalletSignature(`${sig.slice(0, -2)}1d`, NONCE);
    assert.equal(result.success, false);
    assert.equal(!result.success && result.error, 'malformed_signature');
  });

  for (const alg of ['ES256', 'ES256K', 'EdDSA'] as const) {
    test(`accepts a compact JWS over the nonce signed with ${alg}; the wallet is its JWK thumbprint URI (RFC 9278)`, async () => {
      const wallet = await joseWallet(alg);
      const result = await verifyWalletSignature(await wallet.sign(NONCE), NONCE);
      assert.deepEqual(result, { success: true, wallet: `urn:ietf:params:oauth:jwk-thumbprint:sha-256:${await calculateJwkThumbprint(wallet.jwk, 'sha256')}`, kind: 'jws' });
    });

    test(`refuses a ${alg} JWS signed by another key than the jwk in its header`, async () => {
      const [signer, claimed] = [await joseWallet(alg), await joseWallet(alg)];
      const result = await verifyWalletSignature(await signer.sign(NONCE, claimed.jwk), NONCE);
      assert.equal(!result.success && result.error, 'bad_signature');
    });
  }

  test('refuses a JWS whose payload is not the nonce', async () => {
    const result = await verifyWalletSignature(await (await joseWallet('ES256')).sign('other'), NONCE);
    assert.equal(!result.success && result.error, 'wrong_payload');
  });

  test('refuses other algorithms (HS256, none) and private keys in the header', async () => {
    const hs = `${Buffer.from(JSON.stringify({ alg: 'HS256', jwk: { kty: 'oct', k: 'AAAA' } })).toString('base64url')}.${Buffer.from(NONCE).toString('base64url')}.AAAA`;
    assert.equal(((await verifyWalletSignature(hs, NONCE)) as { error: string }).error, 'unsupported_alg');
    const wallet = await joseWallet('ES256');
    const withD = `${Buffer.from(JSON.stringify({ alg: 'ES256', jwk: { ...wallet.jwk, d: 'AAAA' } })).toString('base64url')}.${Buffer.from(NONCE).toString('base64url')}.AAAA`;
    assert.equal(((await verifyWalletSignature(withD, NONCE)) as { error: string }).error, 'private_key_in_header');
    assert.equal(((await verifyWalletSignature('not a signature', NONCE)) as { error: string }).error, 'malformed_signature');
  });
});

describe('KYC file types by content (magic bytes)', () => {
  test('recognises PDF, PNG and JPEG by their signatures and nothing else', () => {
    assert.equal(sniffFileType(Buffer.from('%PDF-1.7\n...')), 'pdf');
    assert.equal(sniffFileType(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0])), 'png');
    assert.equal(sniffFileType(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0])), 'jpeg');
    assert.equal(sniffFileType(Buffer.from('GIF89a')), undefined);
    assert.equal(sniffFileType(Buffer.from('<html>%PDF-')), undefined);
  });
});

import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { calculateJwkThumbprint, compactVerify, decodeProtectedHeader, EmbeddedJWK, type JWK } from 'jose';

/**
 * Proof that the wallet controls a key: its signature over the challenge nonce (seed 004,
 * `POST /auth/challenge`). Two kinds are accepted:
 *
 * 1. An Ethereum `personal_sign` signature (EIP-191 version 0x45): 65 bytes `r || s || v` in hex over
 *    keccak256("\x19Ethereum Signed Message:\n" + len(nonce) + nonce); the signer's key is recovered
 *    from it (secp256k1, @noble/curves) and the wallet is its Ethereum address (EIP-55 checksum).
 * 2. A compact JWS (RFC 7515 §7.1) whose payload is the nonce, signed with ES256, ES256K (RFC 8812)
 *    or EdDSA (RFC 8037), the public key in the protected header's `jwk` (RFC 7515 §4.1.3); the
 *    wallet is that key's RFC 7638 thumbprint as a JWK thumbprint URI (RFC 9278).
 *
 * A result union, as src/oid4vci/proof-jwt.ts: throwing is for programmer errors only.
 */
export type WalletSignatureResult =
  | { success: true; wallet: string; kind: 'eip191' | 'jws' }
  | { success: false; error: 'malformed_signature' | 'unsupported_alg' | 'bad_signature' | 'wrong_payload' | 'private_key_in_header'; message: string };

const ALGS = ['ES256', 'ES256K', 'EdDSA'] as const;
const fail = (error: Extract<WalletSignatureResult, { success: false }>['error'], message: string): WalletSignatureResult => ({ success: false, error, message });

export async function verifyWalletSignature(signature: string, nonce: string): Promise<WalletSignatureResult> {
  if (/^(0x)?[0-9a-fA-F]{130}$/.test(signature)) return verifyPersonalSign(signature, nonce);
  if (/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(signature)) return verifyJws(signature, nonce);
  return fail('malformed_signature', 'signature must be a 65-byte hex personal_sign signature or a compact JWS');
}

/** EIP-191: the message the wallet signed, prefixed as personal_sign prefixes it. */
export function personalSignHash(message: string): Uint8Array {
  const bytes = new TextEncoder().encode(message);
  return keccak_256(new Uint8Array([...new TextEncoder().encode(`\x19Ethereum Signed Message:\n${bytes.length}`), ...bytes]));
}

/** EIP-55 checksummed address of an uncompressed secp256k1 public key: the last 20 bytes of keccak256(x || y). */
export function ethereumAddress(uncompressedPublicKey: Uint8Array): string {
  const hex = Buffer.from(keccak_256(uncompressedPublicKey.slice(1)).slice(-20)).toString('hex');
  const hash = Buffer.from(keccak_256(new TextEncoder().encode(hex))).toString('hex');
  return `0x${[...hex].map((c, i) => (Number.parseInt(hash[i]!, 16) >= 8 ? c.toUpperCase() : c)).join('')}`;
}

function verifyPersonalSign(signature: string, nonce: string): WalletSignatureResult {
  // Step 1: r || s || v, v being 27/28 (or 0/1 from some signers).
  const bytes = Buffer.from(signature.replace(/^0x/, ''), 'hex');
  const v = bytes[64]!;
  const recovery = v >= 27 ? v - 27 : v;
  if (recovery !== 0 && recovery !== 1) return fail('malformed_signature', 'personal_sign recovery byte v must be 27 or 28');
  // Step 2: recover the signer's key from the signature over the EIP-191 hash (noble: recovery byte first).
  try {
    const recovered = new Uint8Array([recovery, ...bytes.subarray(0, 64)]);
    const publicKey = secp256k1.recoverPublicKey(recovered, personalSignHash(nonce), { prehash: false });
    const point = secp256k1.Point.fromBytes(publicKey);
    return { success: true, wallet: ethereumAddress(point.toBytes(false)), kind: 'eip191' };
  } catch {
    return fail('bad_signature', 'the personal_sign signature does not recover to a key');
  }
}

async function verifyJws(jws: string, nonce: string): Promise<WalletSignatureResult> {
  // Step 1: the protected header names a supported alg and carries a public JWK.
  let header;
  try {
    header = decodeProtectedHeader(jws);
  } catch {
    return fail('malformed_signature', 'the JWS protected header is not valid base64url JSON');
  }
  if (!ALGS.includes(header.alg as (typeof ALGS)[number])) return fail('unsupported_alg', `alg must be one of ${ALGS.join(', ')}`);
  const jwk = header.jwk as JWK | undefined;
  if (!jwk || typeof jwk !== 'object') return fail('malformed_signature', 'the JWS protected header must carry the wallet\'s public key as jwk');
  if ('d' in jwk) return fail('private_key_in_header', 'the jwk in the header must be a public key');
  // Step 2: verify the signature with that key.
  let payload: Uint8Array;
  if (header.alg === 'ES256K') {
    const verified = verifyEs256k(jws, jwk);
    if (!verified) return fail('bad_signature', 'the JWS signature does not verify with the jwk in its header');
    payload = verified;
  } else {
    try {
      ({ payload } = await compactVerify(jws, EmbeddedJWK, { algorithms: [header.alg!] }));
    } catch {
      return fail('bad_signature', 'the JWS signature does not verify with the jwk in its header');
    }
  }
  // Step 3: the payload is the challenge's nonce.
  if (new TextDecoder().decode(payload) !== nonce) return fail('wrong_payload', 'the JWS payload must be the challenge nonce');
  return { success: true, wallet: `urn:ietf:params:oauth:jwk-thumbprint:sha-256:${await calculateJwkThumbprint(jwk, 'sha256')}`, kind: 'jws' };
}

/** RFC 8812 §3.2: ECDSA over secp256k1 with SHA-256, signature r || s (jose does not implement ES256K). */
function verifyEs256k(jws: string, jwk: JWK): Uint8Array | undefined {
  if (jwk.kty !== 'EC' || jwk.crv !== 'secp256k1' || !jwk.x || !jwk.y) return undefined;
  const [h, p, s] = jws.split('.') as [string, string, string];
  try {
    const publicKey = new Uint8Array([4, ...Buffer.from(jwk.x, 'base64url'), ...Buffer.from(jwk.y, 'base64url')]);
    const signature = Buffer.from(s, 'base64url');
    if (signature.length !== 64) return undefined;
    if (!secp256k1.verify(signature, new TextEncoder().encode(`${h}.${p}`), publicKey)) return undefined;
    return Buffer.from(p, 'base64url');
  } catch {
    return undefined;
  }
}

import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { randomBytes } from 'node:crypto';
import { CompactSign, exportJWK, generateKeyPair, type JWK } from 'jose';

/**
 * Test wallets for the KYC challenge (seed 004), written from the specifications, without the
 * issuer's code: an Ethereum account signing with personal_sign (EIP-191) and a JOSE wallet
 * signing a compact JWS over the nonce with its public JWK in the header.
 */
export function ethereumWallet(secretKey: Uint8Array = secp256k1.utils.randomSecretKey()) {
  const publicKey = secp256k1.getPublicKey(secretKey, false);
  const hex = Buffer.from(keccak_256(publicKey.slice(1)).slice(-20)).toString('hex');
  const hash = Buffer.from(keccak_256(new TextEncoder().encode(hex))).toString('hex');
  const address = `0x${[...hex].map((c, i) => (Number.parseInt(hash[i]!, 16) >= 8 ? c.toUpperCase() : c)).join('')}`;
  return {
    address,
    /** eth_sign / personal_sign: r || s || v (v = 27 + recovery) over keccak256("\x19Ethereum Signed Message:\n" + len + message). */
    personalSign(message: string): string {
      const bytes = new TextEncoder().encode(message);
      const digest = keccak_256(new Uint8Array([...new TextEncoder().encode(`\x19Ethereum Signed Message:\n${bytes.length}`), ...bytes]));
      const sig = secp256k1.sign(digest, secretKey, { prehash: false, format: 'recovered' });
      return `0x${Buffer.concat([Buffer.from(sig.subarray(1)), Buffer.from([sig[0]! + 27])]).toString('hex')}`;
    },
  };
}

/** A JOSE wallet: ES256 or EdDSA through jose, ES256K (RFC 8812) through noble. */
export async function joseWallet(alg: 'ES256' | 'EdDSA' | 'ES256K') {
  if (alg === 'ES256K') {
    const secretKey = secp256k1.utils.randomSecretKey();
    const pub = secp256k1.getPublicKey(secretKey, false);
    const jwk: JWK = { kty: 'EC', crv: 'secp256k1', x: Buffer.from(pub.subarray(1, 33)).toString('base64url'), y: Buffer.from(pub.subarray(33)).toString('base64url') };
    return {
      jwk,
      async sign(payload: string, headerJwk: JWK = jwk): Promise<string> {
        const h = Buffer.from(JSON.stringify({ alg, jwk: headerJwk })).toString('base64url');
        const p = Buffer.from(payload).toString('base64url');
        const sig = secp256k1.sign(new TextEncoder().encode(`${h}.${p}`), secretKey, { format: 'compact' });
        return `${h}.${p}.${Buffer.from(sig).toString('base64url')}`;
      },
    };
  }
  const { privateKey, publicKey } = await (alg === 'EdDSA' ? generateKeyPair('EdDSA', { crv: 'Ed25519' }) : generateKeyPair('ES256'));
  const jwk = await exportJWK(publicKey);
  return {
    jwk,
    sign: (payload: string, headerJwk: JWK = jwk) => new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg, jwk: headerJwk }).sign(privateKey),
  };
}

/** A multipart/form-data body as seed 004 shows it: an `attributes` part of JSON, then one part per file. */
export function multipart(parts: { name: string; contentType: string; body: Buffer | string; filename?: string }[]) {
  const boundary = `----kyc${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: ${p.contentType}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}\r\n\r\n`));
    chunks.push(Buffer.isBuffer(p.body) ? p.body : Buffer.from(p.body));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}


import { createPrivateKey, createPublicKey, generateKeyPairSync, webcrypto } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { z } from 'zod';

/**
 * The key types the KMS generates and imports, by their walt.id names (`keyType`): `secp256r1`
 * (NIST P-256, ES256), `secp384r1` (NIST P-384, ES384) and `Ed25519` (EdDSA, RFC 8037). These are
 * the curves ISO/IEC 18013-5 Annex B accepts for IACA and Document Signer keys that a verifier can be
 * expected to support. Each type knows its JWK form, its WebCrypto import parameters and the
 * signature algorithm a certificate signed with it uses.
 */
export const KMS_KEY_TYPES = ['secp256r1', 'secp384r1', 'Ed25519'] as const;
export type KmsKeyType = (typeof KMS_KEY_TYPES)[number];

const base64url = z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be base64url');

/** A public JWK of one of the KMS key types, with only the members RFC 7638 hashes (other members are dropped). */
export const KmsPublicJwkSchema = z.union([
  z.object({ kty: z.literal('EC'), crv: z.enum(['P-256', 'P-384']), x: base64url, y: base64url }),
  z.object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: base64url }),
]);
export type KmsPublicJwk = z.infer<typeof KmsPublicJwkSchema>;

/** A private JWK of one of the KMS key types, as it is sealed under the KEK. */
export const KmsPrivateJwkSchema = z.union([
  z.object({ kty: z.literal('EC'), crv: z.enum(['P-256', 'P-384']), x: base64url, y: base64url, d: base64url }),
  z.object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: base64url, d: base64url }),
]);
export type KmsPrivateJwk = z.infer<typeof KmsPrivateJwkSchema>;

interface KeyTypeInfo {
  crv: 'P-256' | 'P-384' | 'Ed25519';
  /** JOSE algorithm (RFC 7518 §3.1, RFC 8037 §3.1). */
  alg: 'ES256' | 'ES384' | 'EdDSA';
  importParams: webcrypto.EcKeyImportParams | webcrypto.Algorithm;
  /** Signature algorithm of a certificate, CSR or CRL signed with the key (ecdsa-with-SHA256/384, RFC 5758 §3.2; Ed25519, RFC 8410 §3). */
  signingAlgorithm: webcrypto.EcdsaParams | webcrypto.Algorithm;
}

const INFO: Record<KmsKeyType, KeyTypeInfo> = {
  secp256r1: { crv: 'P-256', alg: 'ES256', importParams: { name: 'ECDSA', namedCurve: 'P-256' }, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } },
  secp384r1: { crv: 'P-384', alg: 'ES384', importParams: { name: 'ECDSA', namedCurve: 'P-384' }, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' } },
  Ed25519: { crv: 'Ed25519', alg: 'EdDSA', importParams: { name: 'Ed25519' }, signingAlgorithm: { name: 'Ed25519' } },
};

export const keyTypeInfo = (type: KmsKeyType): KeyTypeInfo => INFO[type];

/** The key type of a JWK's curve. */
export function keyTypeOf(jwk: { crv: string }): KmsKeyType {
  const type = KMS_KEY_TYPES.find((t) => INFO[t].crv === jwk.crv);
  if (!type) throw new TypeError(`unsupported curve ${jwk.crv}`);
  return type;
}

/** A fresh private key of `type`, as a JWK (to be sealed before storage). */
export function generatePrivateJwk(type: KmsKeyType): KmsPrivateJwk {
  const { privateKey } = type === 'Ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: INFO[type].crv });
  return KmsPrivateJwkSchema.parse(privateKey.export({ format: 'jwk' }));
}

/** The public half of a JWK, with only the members RFC 7638 hashes. */
export function publicJwkOf(jwk: KmsPublicJwk): KmsPublicJwk {
  return jwk.kty === 'EC' ? { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y } : { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
}

/** RFC 7638 thumbprint (SHA-256, base64url), the `kid` of a KMS key. */
export const thumbprintOf = (jwk: KmsPublicJwk): Promise<string> => calculateJwkThumbprint(publicJwkOf(jwk), 'sha256');

/**
 * Checks that a private JWK is a valid key of its curve (node:crypto refuses a point off the curve
 * or a scalar out of range) and that its public members belong to its private scalar.
 */
export function assertConsistentPrivateJwk(jwk: KmsPrivateJwk): void {
  const derived = createPublicKey(createPrivateKey({ key: jwk, format: 'jwk' })).export({ format: 'jwk' }) as { x?: string; y?: string };
  if (derived.x !== jwk.x || (jwk.kty === 'EC' && derived.y !== jwk.y)) throw new TypeError('the public members (x, y) do not belong to the private key (d)');
}

/** Whether two public JWKs are the same key. */
export function sameKey(a: KmsPublicJwk, b: KmsPublicJwk): boolean {
  return a.kty === b.kty && a.crv === b.crv && a.x === b.x && (a.kty !== 'EC' || b.kty !== 'EC' || a.y === b.y);
}

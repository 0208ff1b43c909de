import { X509Certificate, createPrivateKey, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { calculateJwkThumbprint, SignJWT } from 'jose';
import { z } from 'zod';

/**
 * The signer interface every credential format receives. Formats never touch key material: they hand
 * bytes to `sign` and get a signature back, so a KMS or HSM can replace the local key later without
 * changing any format code (the `Signer` function type of @sd-jwt/core is adapted from this one).
 */
export interface CredentialSigner {
  /** RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key; the `kid` published in the JWKS. */
  readonly kid: string;
  /** JOSE name of the algorithm; the COSE equivalent is -7 (RFC 9053 §2.1). */
  readonly alg: 'ES256';
  /** The public key as published in `/.well-known/jwks.json`. */
  readonly publicJwk: PublishedJwk;
  /** Certificate chain, base64 (not base64url) DER, leaf first (RFC 7515 §4.1.6). Required for mdoc. */
  readonly x5c?: readonly string[];
  /** Signs `data` with ECDSA P-256 / SHA-256 and returns the raw `r || s` form (64 bytes), as JWS and COSE use it. */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

const base64url = z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be base64url');

/** A P-256 private key as stored (decrypted) in the signing-key table. Unknown members are dropped. */
export const Es256PrivateJwkSchema = z.object({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: base64url,
  y: base64url,
  d: base64url,
});
export type Es256PrivateJwk = z.infer<typeof Es256PrivateJwkSchema>;

export interface Es256PublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
}

/** Public JWK as published in a JWKS (RFC 7517 §4): the thumbprint as `kid`, `use: sig`, `alg: ES256`. */
export interface PublishedJwk extends Es256PublicJwk {
  kid: string;
  use: 'sig';
  alg: 'ES256';
  /** Present when the key has a certificate chain (RFC 7517 §4.7). */
  x5c?: string[];
}

export interface LocalSignerOptions {
  /** Certificate chain (base64 DER, leaf first); the leaf must certify this key. */
  x5c?: readonly string[];
}

/** Generates a fresh ES256 key pair and returns its private JWK (to be encrypted before storage). */
export function generateEs256PrivateJwk(): Es256PrivateJwk {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return Es256PrivateJwkSchema.parse(privateKey.export({ format: 'jwk' }));
}

/** The public half of a P-256 JWK, with only the members RFC 7638 hashes. */
export function publicJwkOf(jwk: Es256PublicJwk): Es256PublicJwk {
  return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
}

/** RFC 7638 thumbprint (SHA-256, base64url) of a P-256 key; used as `kid`. */
export function es256Thumbprint(jwk: Es256PublicJwk): Promise<string> {
  return calculateJwkThumbprint(publicJwkOf(jwk), 'sha256');
}

/**
 * A signer over a local private key. Signing uses node:crypto's one-shot ECDSA with
 * `dsaEncoding: 'ieee-p1363'` (raw r||s), which measured about twice the throughput of
 * WebCrypto's `subtle.sign` on this machine; the result is identical in form.
 */
export async function createLocalSigner(privateJwk: Es256PrivateJwk, opts: LocalSignerOptions = {}): Promise<CredentialSigner> {
  const jwk = Es256PrivateJwkSchema.parse(privateJwk);
  const key = createPrivateKey({ key: jwk, format: 'jwk' });
  const publicJwk = publicJwkOf(jwk);
  const kid = await es256Thumbprint(publicJwk);
  const x5c = opts.x5c && opts.x5c.length > 0 ? Object.freeze([...opts.x5c]) : undefined;
  if (x5c) assertLeafCertifiesKey(x5c[0]!, publicJwk);
  const published: PublishedJwk = { ...publicJwk, kid, use: 'sig', alg: 'ES256', ...(x5c ? { x5c: [...x5c] } : {}) };
  return Object.freeze({
    kid,
    alg: 'ES256' as const,
    publicJwk: Object.freeze(published),
    ...(x5c ? { x5c } : {}),
    sign: async (data: Uint8Array) => new Uint8Array(nodeSign('sha256', data, { key, dsaEncoding: 'ieee-p1363' })),
  });
}

function assertLeafCertifiesKey(leafBase64Der: string, publicJwk: Es256PublicJwk): void {
  const leaf = new X509Certificate(Buffer.from(leafBase64Der, 'base64'));
  const certJwk = leaf.publicKey.export({ format: 'jwk' });
  if (certJwk.x !== publicJwk.x || certJwk.y !== publicJwk.y) {
    throw new Error('x5c leaf certificate does not certify the signing key');
  }
}

/**
 * An Ed25519 private key as stored (decrypted) in the signing-key table (RFC 8037 §2: `kty: OKP`,
 * `crv: Ed25519`, `x` the public key, `d` the private key, both 32 bytes base64url).
 */
export const Ed25519PrivateJwkSchema = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: base64url,
  d: base64url,
});
export type Ed25519PrivateJwk = z.infer<typeof Ed25519PrivateJwkSchema>;

export interface Ed25519PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
}

/**
 * A signer over an Ed25519 key (RFC 8032 PureEdDSA), for Data Integrity `eddsa-rdfc-2022` only:
 * no JOSE format signs with it, so it is not in the JWKS.
 */
export interface Ed25519Signer {
  /** RFC 7638 thumbprint of the public key. */
  readonly kid: string;
  readonly alg: 'EdDSA';
  readonly publicJwk: Ed25519PublicJwk;
  /** The 64-byte Ed25519 signature of `data`. */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

export function generateEd25519PrivateJwk(): Ed25519PrivateJwk {
  const { privateKey } = generateKeyPairSync('ed25519');
  return Ed25519PrivateJwkSchema.parse(privateKey.export({ format: 'jwk' }));
}

export function ed25519Thumbprint(jwk: Ed25519PublicJwk): Promise<string> {
  return calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: jwk.x }, 'sha256');
}

export async function createEd25519Signer(privateJwk: Ed25519PrivateJwk): Promise<Ed25519Signer> {
  const jwk = Ed25519PrivateJwkSchema.parse(privateJwk);
  const key = createPrivateKey({ key: jwk, format: 'jwk' });
  const publicJwk: Ed25519PublicJwk = Object.freeze({ kty: 'OKP', crv: 'Ed25519', x: jwk.x });
  const kid = await ed25519Thumbprint(publicJwk);
  return Object.freeze({
    kid,
    alg: 'EdDSA' as const,
    publicJwk,
    sign: async (data: Uint8Array) => new Uint8Array(nodeSign(null, data, key)),
  });
}

/**
 * The signer of outgoing webhooks (issue 18, seed 002 "Authentication Schemas"), over the `webhooks`
 * P-256 key (migration 0016). Like the others it never hands out the private key.
 */
export interface WebhookSigner {
  readonly kid: string;
  readonly alg: 'ES256';
  readonly publicJwk: PublishedJwk;
  /**
   * Seed 002 `X-Body-Signature`: base64 of `crypto.sign('sha3-256', body, key)` over the exact body
   * bytes (ECDSA P-256 with SHA3-256, DER-encoded as node:crypto returns it).
   */
  signBody(body: Uint8Array): string;
  /** A compact JWS (ES256, `kid` in the header) over `claims`: seed 002's Bearer token. */
  signJwt(claims: Record<string, unknown>): Promise<string>;
}

export async function createWebhookSigner(privateJwk: Es256PrivateJwk): Promise<WebhookSigner> {
  const jwk = Es256PrivateJwkSchema.parse(privateJwk);
  const key = createPrivateKey({ key: jwk, format: 'jwk' });
  const publicJwk = publicJwkOf(jwk);
  const kid = await es256Thumbprint(publicJwk);
  const published: PublishedJwk = { ...publicJwk, kid, use: 'sig', alg: 'ES256' };
  return Object.freeze({
    kid,
    alg: 'ES256' as const,
    publicJwk: Object.freeze(published),
    signBody: (body: Uint8Array) => nodeSign('sha3-256', body, key).toString('base64'),
    signJwt: (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid }).sign(key),
  });
}

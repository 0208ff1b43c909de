import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { KeyDecryptionError } from './credential-errors';
import type { KeySealingKeys } from './kek-subkeys';
import { Ed25519PrivateJwkSchema, Es256PrivateJwkSchema, type Ed25519PrivateJwk, type Es256PrivateJwk } from './signer';

/**
 * Envelope encryption of private signing keys at rest.
 *
 * Format (one string, fit for a text column):
 *
 *     v2.<iv>.<ciphertext>.<tag>          each part base64url, iv 12 bytes, tag 16 bytes
 *
 * Cipher AES-256-GCM (NIST SP 800-38D). `v2` is sealed under the key-sealing subkey of the KEK
 * (kek-subkeys.ts); `v1`, written before subkeys existed, under the raw KEK: it still opens where
 * the process holds the KEK (`KeySealingKeys.legacy`), and the key store reseals it as `v2`.
 * The plaintext is the JWK as JSON. The additional authenticated data is `<version>:<kid>`, so a row
 * copied under another kid, a relabelled version, or any flipped bit fails authentication instead of
 * yielding a key. A fresh random IV per encryption; 2^32 encryptions per key is far beyond key counts.
 */
const VERSION = 'v2';
const LEGACY_VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const KEK_BYTES = 32;

function aadFor(kid: string, version: string): Buffer {
  if (kid.length === 0) throw new TypeError('aad (the kid) must not be empty');
  return Buffer.from(`${version}:${kid}`, 'utf8');
}

function assertKek(kek: Uint8Array): void {
  if (!(kek instanceof Uint8Array) || kek.length !== KEK_BYTES) {
    throw new TypeError(`the key-encryption key must be ${KEK_BYTES} bytes`);
  }
}

/** True for an envelope sealed under the raw KEK (`v1`), which the key store reseals. */
export const isLegacyEnvelope = (envelope: string): boolean => envelope.startsWith(`${LEGACY_VERSION}.`);

/** An ES256 (P-256) or Ed25519 private JWK, as the key store seals them. */
const PrivateJwkSchema = z.union([Es256PrivateJwkSchema, Ed25519PrivateJwkSchema]);

/**
 * Encrypts a private JWK under the key-sealing subkey (`v2`), bound to `aad` (the key's kid).
 * `schema` is what the JWK must be: an ES256 or Ed25519 key by default; the KMS (src/kms/) passes its own.
 */
export function encryptPrivateKey<T extends object = Es256PrivateJwk | Ed25519PrivateJwk>(jwk: T, keys: KeySealingKeys, aad: string, schema: z.ZodType<T> = PrivateJwkSchema as unknown as z.ZodType<T>): string {
  const kek = keys.current;
  assertKek(kek);
  const plaintext = Buffer.from(JSON.stringify(schema.parse(jwk)), 'utf8');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aadFor(aad, VERSION));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const tag = cipher.getAuthTag();
  plaintext.fill(0);
  return [VERSION, iv, ciphertext, tag].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
}

/**
 * Decrypts an envelope made by `encryptPrivateKey` (`v2`), or a `v1` one when `keys.legacy` is
 * there. Throws `KeyDecryptionError` when the envelope is malformed, the key is wrong or missing,
 * the row was tampered with, `aad` is not the kid it was sealed under, or the key is not of `schema`.
 */
/** As `decryptPrivateKey`, for a key of either type the key store seals (the Ed25519 Data Integrity key, signer.ts). */
export function decryptAnyPrivateKey(envelope: string, keys: KeySealingKeys, aad: string): Es256PrivateJwk | Ed25519PrivateJwk {
  return decryptPrivateKey<Es256PrivateJwk | Ed25519PrivateJwk>(envelope, keys, aad, PrivateJwkSchema as unknown as z.ZodType<Es256PrivateJwk | Ed25519PrivateJwk>);
}

export function decryptPrivateKey<T extends object = Es256PrivateJwk>(envelope: string, keys: KeySealingKeys, aad: string, schema: z.ZodType<T> = Es256PrivateJwkSchema as unknown as z.ZodType<T>): T {
  const parts = envelope.split('.');
  const version = parts[0];
  if (parts.length !== 4 || (version !== VERSION && version !== LEGACY_VERSION) || !parts.slice(1).every((p) => /^[A-Za-z0-9_-]*$/.test(p))) {
    throw new KeyDecryptionError(`unsupported key envelope (expected ${VERSION}.<iv>.<ciphertext>.<tag>)`);
  }
  const kek = version === VERSION ? keys.current : keys.legacy;
  if (!kek) throw new KeyDecryptionError(`a ${LEGACY_VERSION} key envelope needs the KEK itself, which this process was not given`);
  assertKek(kek);
  const iv = Buffer.from(parts[1]!, 'base64url');
  const ciphertext = Buffer.from(parts[2]!, 'base64url');
  const tag = Buffer.from(parts[3]!, 'base64url');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES || ciphertext.length === 0) {
    throw new KeyDecryptionError('malformed key envelope');
  }
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aadFor(aad, version));
    decipher.setAuthTag(tag);
    plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch (cause) {
    // GCM gives one answer for all of these on purpose: wrong KEK, wrong kid, tampered bytes.
    throw new KeyDecryptionError('private key envelope failed authentication (wrong KEK, wrong kid or tampered)', { cause });
  }
  try {
    return schema.parse(JSON.parse(plaintext.toString('utf8')));
  } catch (cause) {
    throw new KeyDecryptionError('decrypted private key is not a JWK of the expected type', { cause });
  } finally {
    plaintext.fill(0);
  }
}

/** Generates a new random KEK (32 bytes). */
export function generateKek(): Uint8Array {
  return new Uint8Array(randomBytes(KEK_BYTES));
}

/**
 * Parses a KEK given as text (environment variable or dev key file): 64 hex characters, or base64 /
 * base64url of 32 bytes. Surrounding whitespace is ignored.
 */
export const KekTextSchema = z
  .string()
  .trim()
  .transform((text, ctx) => {
    const bytes = /^[0-9a-fA-F]{64}$/.test(text)
      ? Buffer.from(text, 'hex')
      : /^[A-Za-z0-9+/_-]{43}=?$/.test(text)
        ? Buffer.from(text.replace(/\+/g, '-').replace(/\//g, '_').replace(/=$/, ''), 'base64url')
        : undefined;
    if (!bytes || bytes.length !== KEK_BYTES) {
      ctx.addIssue({ code: 'custom', message: `must be ${KEK_BYTES} bytes as 64 hex characters or base64/base64url` });
      return z.NEVER;
    }
    return new Uint8Array(bytes);
  });

/** Formats a KEK as base64url, the form `generateKek` output is written to the dev key file in. */
export function formatKek(kek: Uint8Array): string {
  assertKek(kek);
  return Buffer.from(kek).toString('base64url');
}

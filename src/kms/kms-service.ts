import { webcrypto } from 'node:crypto';
import { decryptPrivateKey, encryptPrivateKey } from '../credentials/key-encryption';
import type { KeySealingKeys } from '../credentials/kek-subkeys';
import type { KmsKeyRecord, KmsKeysRepository } from '../db/kms-keys-repository';
import {
  assertConsistentPrivateJwk,
  generatePrivateJwk,
  keyTypeInfo,
  keyTypeOf,
  KmsPrivateJwkSchema,
  publicJwkOf,
  thumbprintOf,
  type KmsKeyType,
  type KmsPrivateJwk,
  type KmsPublicJwk,
} from './kms-key-types';

/**
 * The KMS service behind `/v1/:keyIdPath/kms-service-api/...` (docs/conventions.md, KMS): keys by
 * walt.id key path `{organization}.{tenant}.{kms}.{keyId}`, per API client, generated here or
 * imported as a JWK. Private parts are sealed under the key-sealing subkey of the KEK at once
 * (key-encryption.ts) and leave this module only as non-extractable WebCrypto keys for the X.509
 * service to sign with; no API answer, log line or error carries one.
 */
export interface KmsKey {
  keyPath: string;
  keyType: KmsKeyType;
  /** RFC 7638 thumbprint of the public key. */
  kid: string;
  publicJwk: KmsPublicJwk;
  origin: 'generated' | 'imported';
  createdAt: Date;
  /** The latest certificate the X.509 service issued for this key as subject. */
  certificatePem: string | null;
}

/** A key opened for signing: the private key cannot be exported from the CryptoKey. */
export interface SigningKey {
  keyType: KmsKeyType;
  publicJwk: KmsPublicJwk;
  publicKey: webcrypto.CryptoKey;
  privateKey: webcrypto.CryptoKey;
}

export interface KmsService {
  /** A new key at `keyPath`; undefined when the client already has a key there. */
  generate(client: string, keyPath: string, keyType: KmsKeyType): Promise<KmsKey | undefined>;
  /** Stores a private JWK (checked to be a consistent key of a supported curve); undefined when the path is taken. */
  importJwk(client: string, keyPath: string, jwk: KmsPrivateJwk): Promise<KmsKey | undefined>;
  get(client: string, keyPath: string): Promise<KmsKey | undefined>;
  /** The key opened for signing, or undefined when the client has no key at `keyPath`. */
  open(client: string, keyPath: string): Promise<SigningKey | undefined>;
  /** Records the certificate just issued for the key (see `KmsKey.certificatePem`). */
  recordCertificate(client: string, keyPath: string, certificatePem: string): Promise<void>;
}

const aadOf = (client: string, keyPath: string) => `kms:${client}:${keyPath}`;

const toKey = (r: KmsKeyRecord): KmsKey => ({
  keyPath: r.keyPath,
  keyType: r.keyType,
  kid: r.kid,
  publicJwk: publicJwkOf(r.publicJwk),
  origin: r.origin,
  createdAt: r.createdAt,
  certificatePem: r.certificatePem,
});

/** Imports a public JWK for verification and as a certificate's subject key. */
export function importPublicJwk(jwk: KmsPublicJwk): Promise<webcrypto.CryptoKey> {
  return webcrypto.subtle.importKey('jwk', publicJwkOf(jwk), keyTypeInfo(keyTypeOf(jwk)).importParams, true, ['verify']);
}

/** Imports a private JWK as a non-extractable signing key, with its public half. */
export async function importSigningJwk(jwk: KmsPrivateJwk): Promise<SigningKey> {
  const keyType = keyTypeOf(jwk);
  const privateKey = await webcrypto.subtle.importKey('jwk', { ...jwk, ext: false }, keyTypeInfo(keyType).importParams, false, ['sign']);
  const publicJwk = publicJwkOf(jwk);
  return { keyType, publicJwk, publicKey: await importPublicJwk(publicJwk), privateKey };
}

export function createKmsService(deps: { keys: KmsKeysRepository; sealing: KeySealingKeys }): KmsService {
  const { keys, sealing } = deps;

  async function store(client: string, keyPath: string, jwk: KmsPrivateJwk, origin: KmsKey['origin']): Promise<KmsKey | undefined> {
    const publicJwk = publicJwkOf(jwk);
    const row = await keys.insert({
      client,
      keyPath,
      keyType: keyTypeOf(jwk),
      kid: await thumbprintOf(publicJwk),
      publicJwk,
      privateKeyEnvelope: encryptPrivateKey(jwk, sealing, aadOf(client, keyPath), KmsPrivateJwkSchema),
      origin,
    });
    return row ? toKey(row) : undefined;
  }

  return {
    generate: (client, keyPath, keyType) => store(client, keyPath, generatePrivateJwk(keyType), 'generated'),
    async importJwk(client, keyPath, jwk) {
      assertConsistentPrivateJwk(jwk);
      return store(client, keyPath, jwk, 'imported');
    },
    async get(client, keyPath) {
      const row = await keys.get(client, keyPath);
      return row ? toKey(row) : undefined;
    },
    async open(client, keyPath) {
      const row = await keys.get(client, keyPath);
      if (!row) return undefined;
      const jwk = decryptPrivateKey(row.privateKeyEnvelope, sealing, aadOf(client, keyPath), KmsPrivateJwkSchema);
      return importSigningJwk(jwk);
    },
    recordCertificate: (client, keyPath, certificatePem) => keys.setCertificate(client, keyPath, certificatePem),
  };
}

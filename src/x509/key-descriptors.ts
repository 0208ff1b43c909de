import type { webcrypto } from 'node:crypto';
import { assertConsistentPrivateJwk, keyTypeOf, KmsPrivateJwkSchema, publicJwkOf, type KmsKeyType, type KmsPublicJwk } from '../kms/kms-key-types';
import { importPublicJwk, importSigningJwk, type KmsService, type SigningKey } from '../kms/kms-service';
import { X509RequestError } from './x509-support';

/**
 * walt.id key descriptors (docs/conventions.md, X.509 service): a key in our KMS by its key path, or
 * a JWK carried in the request. A signing key must be private: a KMS key, or a JWK with `d`.
 */
export type KeyDescriptor =
  | { type: 'kms-hosted-key-descriptor'; keyIdPath: string }
  | { type: 'jwk-encoded-key-descriptor'; jwk: KmsPublicJwk & { d?: string } };

/** A resolved subject key: what goes into a certificate's subjectPublicKeyInfo. */
export interface SubjectKey {
  keyType: KmsKeyType;
  publicJwk: KmsPublicJwk;
  publicKey: webcrypto.CryptoKey;
  /** The KMS key path, when the key lives in the KMS (its certificate is recorded there). */
  keyIdPath?: string;
}

export interface Resolved extends SigningKey {
  keyIdPath?: string;
}

/** Who is asking: KMS keys are looked up among this client's keys only. */
export interface KeyContext {
  kms: KmsService;
  client: string;
}

const unknownKey = (path: string) => new X509RequestError(`${path}.keyIdPath`, 'no key at this key path (generate or import it with the KMS service first)');

/** A key to sign with. `path` names the descriptor in the request, for the error. */
export async function resolveSigningKey(descriptor: KeyDescriptor, ctx: KeyContext, path: string): Promise<Resolved> {
  if (descriptor.type === 'kms-hosted-key-descriptor') {
    const key = await ctx.kms.open(ctx.client, descriptor.keyIdPath);
    if (!key) throw unknownKey(path);
    return { ...key, keyIdPath: descriptor.keyIdPath };
  }
  if (descriptor.jwk.d === undefined) throw new X509RequestError(`${path}.jwk.d`, 'a signing key needs its private part (d)');
  const jwk = KmsPrivateJwkSchema.parse(descriptor.jwk);
  try {
    assertConsistentPrivateJwk(jwk);
  } catch (cause) {
    throw new X509RequestError(`${path}.jwk`, 'not a valid private key of its curve, or x/y do not belong to d', { cause });
  }
  return importSigningJwk(jwk);
}

/** A key to certify: its public half is enough. */
export async function resolveSubjectKey(descriptor: KeyDescriptor, ctx: KeyContext, path: string): Promise<SubjectKey> {
  if (descriptor.type === 'kms-hosted-key-descriptor') {
    const key = await ctx.kms.get(ctx.client, descriptor.keyIdPath);
    if (!key) throw unknownKey(path);
    return { keyType: key.keyType, publicJwk: key.publicJwk, publicKey: await importPublicJwk(key.publicJwk), keyIdPath: descriptor.keyIdPath };
  }
  const publicJwk = publicJwkOf(descriptor.jwk);
  try {
    return { keyType: keyTypeOf(publicJwk), publicJwk, publicKey: await importPublicJwk(publicJwk) };
  } catch (cause) {
    throw new X509RequestError(`${path}.jwk`, 'not a valid public key of its curve', { cause });
  }
}

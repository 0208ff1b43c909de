import { z } from 'zod';
import { KMS_KEY_TYPES, type KmsPrivateJwk, type KmsPublicJwk } from '../../kms/kms-key-types';
import { KEY_ID_PATH } from '../../kms/resource-paths';

const base64url = z.string().min(1).max(256).regex(/^[A-Za-z0-9_-]+$/, 'must be base64url');

/** The members of a JWK this API reads (RFC 7517 §4, RFC 7518 §6.2, RFC 8037 §2); others are ignored. */
const JwkMembers = z.object({
  kty: z.enum(['EC', 'OKP']).meta({ description: 'EC for secp256r1/secp384r1, OKP for Ed25519' }),
  crv: z.enum(['P-256', 'P-384', 'Ed25519']),
  x: base64url,
  y: base64url.optional(),
  d: base64url.optional(),
});

/** kty, crv and y must agree: EC keys are P-256 or P-384 with y, OKP keys Ed25519 without. */
function checkShape(jwk: z.infer<typeof JwkMembers>, ctx: z.RefinementCtx): void {
  if (jwk.kty === 'EC' && jwk.crv === 'Ed25519') ctx.addIssue({ code: 'custom', path: ['crv'], message: 'an EC key is P-256 or P-384' });
  if (jwk.kty === 'OKP' && jwk.crv !== 'Ed25519') ctx.addIssue({ code: 'custom', path: ['crv'], message: 'an OKP key is Ed25519' });
  if (jwk.kty === 'EC' && jwk.y === undefined) ctx.addIssue({ code: 'custom', path: ['y'], message: 'an EC key needs y' });
  if (jwk.kty === 'OKP' && jwk.y !== undefined) ctx.addIssue({ code: 'custom', path: ['y'], message: 'an OKP key has no y' });
}

const toPublic = (j: z.infer<typeof JwkMembers>): KmsPublicJwk =>
  j.kty === 'EC' ? { kty: 'EC', crv: j.crv as 'P-256' | 'P-384', x: j.x, y: j.y! } : { kty: 'OKP', crv: 'Ed25519', x: j.x };

/** A JWK, public or private; `d` is kept when present. */
export const JwkInput = JwkMembers.superRefine(checkShape)
  .transform((j): KmsPublicJwk & { d?: string } => ({ ...toPublic(j), ...(j.d !== undefined ? { d: j.d } : {}) }))
  .meta({ id: 'Jwk', description: 'A JWK of a secp256r1 (EC P-256), secp384r1 (EC P-384) or Ed25519 (OKP) key' });

/** POST .../keys/import/jwk: a private JWK, which the KMS seals and keeps. */
export const ImportJwkRequest = JwkMembers.superRefine((jwk, ctx) => {
  checkShape(jwk, ctx);
  if (jwk.d === undefined) ctx.addIssue({ code: 'custom', path: ['d'], message: 'a private JWK (with d) is required: the KMS signs with the keys it holds' });
})
  .transform((j): KmsPrivateJwk => ({ ...toPublic(j), d: j.d! }) as KmsPrivateJwk)
  .meta({ id: 'ImportJwkRequest', description: 'A private JWK (RFC 7517) of a secp256r1, secp384r1 or Ed25519 key; members other than kty, crv, x, y, d are ignored' });

export const GenerateKeyRequest = z
  .object({ keyType: z.enum(KMS_KEY_TYPES).meta({ description: 'secp256r1 (ES256), secp384r1 (ES384) or Ed25519 (EdDSA)' }) })
  .meta({ id: 'GenerateKeyRequest' });

export const KeyIdPathParams = z.object({
  keyIdPath: z.string().regex(KEY_ID_PATH).meta({ description: '{organization}.{tenant}.{kms}.{keyId}, e.g. test.tenant1.kms1.secp256r1' }),
});

const PublicJwkOutput = z
  .object({ kty: z.enum(['EC', 'OKP']), crv: z.enum(['P-256', 'P-384', 'Ed25519']), x: z.string(), y: z.string().optional(), kid: z.string(), alg: z.enum(['ES256', 'ES384', 'EdDSA']) })
  .meta({ id: 'PublicJwk', description: 'The public key; kid is its RFC 7638 thumbprint. Never a private member' });

export const KmsKeyResponse = z
  .object({
    _id: z.string().meta({ description: 'The key path' }),
    keyType: z.enum(KMS_KEY_TYPES),
    kid: z.string(),
    publicKey: PublicJwkOutput,
    origin: z.enum(['generated', 'imported']),
    createdAt: z.string(),
  })
  .meta({ id: 'KmsKey' });

export { PublicJwkOutput };

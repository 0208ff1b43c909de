import { createHash } from 'node:crypto';
import { z } from 'zod';
import { CredentialInputError } from './credential-errors';

/**
 * The holder's public key, bound into credentials: `cnf.jwk` of an SD-JWT VC (RFC 7800 §3.2) and the
 * `deviceKey` COSE_Key of an mdoc MSO (ISO/IEC 18013-5 §9.1.2.4). It comes from the wallet (the `jwk`
 * header of an OpenID4VCI proof), so it is validated like any external input.
 */
const base64url = z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be base64url');

/** Members that only a private (or symmetric) JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4.1). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** Coordinate length in bytes per curve (RFC 7518 §6.2.1.2). */
const EC_COORDINATE_BYTES = { 'P-256': 32, 'P-384': 48, 'P-521': 66 } as const;

export const HolderJwkSchema = z
  .discriminatedUnion('kty', [
    z.object({ kty: z.literal('EC'), crv: z.enum(['P-256', 'P-384', 'P-521']), x: base64url, y: base64url }).loose(),
    z.object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: base64url }).loose(),
  ])
  .superRefine((jwk, ctx) => {
    for (const member of PRIVATE_MEMBERS) {
      if (member in jwk) ctx.addIssue({ code: 'custom', path: [member], message: 'a holder key must be a public key' });
    }
    const expected = jwk.kty === 'EC' ? EC_COORDINATE_BYTES[jwk.crv] : 32;
    const coordinates = jwk.kty === 'EC' ? { x: jwk.x, y: jwk.y } : { x: jwk.x };
    for (const [name, value] of Object.entries(coordinates)) {
      if (Buffer.from(value, 'base64url').length !== expected) {
        ctx.addIssue({ code: 'custom', path: [name], message: `must be ${expected} bytes` });
      }
    }
  });

/** The holder key reduced to its RFC 7638 required members (no `kid`, `alg`, `use`, or anything else). */
export type HolderJwk =
  | { kty: 'EC'; crv: 'P-256' | 'P-384' | 'P-521'; x: string; y: string }
  | { kty: 'OKP'; crv: 'Ed25519'; x: string };

/** Parses and reduces a holder key; throws `CredentialInputError('invalid_holder_key')` when unusable. */
export function parseHolderJwk(input: unknown): HolderJwk {
  const result = HolderJwkSchema.safeParse(input);
  if (!result.success) {
    const first = result.error.issues[0];
    const at = first && first.path.length > 0 ? `holderJwk.${first.path.join('.')}` : 'holderJwk';
    throw new CredentialInputError('invalid_holder_key', first?.message ?? 'invalid JWK', at);
  }
  const jwk = result.data;
  return jwk.kty === 'EC' ? { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y } : { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
}

/**
 * RFC 7638 thumbprint (SHA-256, base64url) of the holder key, stored with issued-credential records.
 * Computed synchronously: the required members in lexicographic order, no whitespace (RFC 7638 §3.2);
 * jose's `calculateJwkThumbprint` gives the same value but goes through async WebCrypto, which showed
 * up in the per-credential profile.
 */
export function holderKeyThumbprint(jwk: HolderJwk): string {
  const canonical =
    jwk.kty === 'EC'
      ? JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })
      : JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
  return createHash('sha256').update(canonical).digest('base64url');
}

/**
 * The holder key as a `did:jwk` (did:jwk method §2: the UTF-8 JSON of the JWK, base64url): how a
 * Data Integrity credential (`ldp_vc`), which has no `cnf`, names the key it is bound to, as its
 * `credentialSubject.id`. The JWK is reduced to its required members first, so one key is one DID.
 */
export function holderDidJwk(jwk: HolderJwk): string {
  return `did:jwk:${Buffer.from(JSON.stringify(jwk)).toString('base64url')}`;
}

/** COSE key labels and values (RFC 9052 §7, RFC 9053 §7.1, IANA COSE registries). */
const COSE_KTY_OKP = 1;
const COSE_KTY_EC2 = 2;
const COSE_CRV = { 'P-256': 1, 'P-384': 2, 'P-521': 3, Ed25519: 6 } as const;

/**
 * The holder key as a COSE_Key with integer labels (a CBOR map, hence a `Map`):
 * EC2 `{1: 2, -1: crv, -2: x, -3: y}`, OKP `{1: 1, -1: 6, -2: x}`.
 */
export function holderJwkToCoseKey(jwk: HolderJwk): Map<number, number | Uint8Array> {
  if (jwk.kty === 'EC') {
    return new Map<number, number | Uint8Array>([
      [1, COSE_KTY_EC2],
      [-1, COSE_CRV[jwk.crv]],
      [-2, new Uint8Array(Buffer.from(jwk.x, 'base64url'))],
      [-3, new Uint8Array(Buffer.from(jwk.y, 'base64url'))],
    ]);
  }
  return new Map<number, number | Uint8Array>([
    [1, COSE_KTY_OKP],
    [-1, COSE_CRV.Ed25519],
    [-2, new Uint8Array(Buffer.from(jwk.x, 'base64url'))],
  ]);
}

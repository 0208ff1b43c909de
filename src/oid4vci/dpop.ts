import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, importJWK, type JWK, jwtVerify } from 'jose';
import { z } from 'zod';
import type { Db } from '../db/knex';
import { preparedQuery } from '../db/knex';

/** DPoP proof algorithms accepted (RFC 9449 §5.1 `dpop_signing_alg_values_supported`). */
export const DPOP_SIGNING_ALGS = ['ES256', 'ES384', 'ES512', 'EdDSA'];
const MAX_AGE_SECONDS = 300;
const SKEW_SECONDS = 60;

/**
 * The `jwk` header of a DPoP proof (RFC 9449 §4.2: "the public key chosen by the client, in JSON
 * Web Key format"): an object, an asymmetric key type of the accepted algorithms, and no private
 * members. Anything else (a string, an array, a symmetric or private key) is `invalid_dpop_proof`.
 */
const B64url = z.string().min(1).max(1024).regex(/^[A-Za-z0-9_-]+$/);
const DpopPublicJwk = z.union([
  z.looseObject({ kty: z.literal('EC'), crv: z.enum(['P-256', 'P-384', 'P-521']), x: B64url, y: B64url }),
  z.looseObject({ kty: z.literal('OKP'), crv: z.enum(['Ed25519', 'Ed448']), x: B64url }),
]).refine((jwk) => !('d' in jwk) && !('p' in jwk) && !('k' in jwk), 'must not contain private key members');

export type DpopResult = { success: true; jkt: string } | { success: false; description: string };

/**
 * Verifies a DPoP proof JWT (RFC 9449 §4.3): `typ` dpop+jwt, an asymmetric `alg`, a public `jwk`
 * header, `htm` and `htu` matching the request, a fresh `iat`, `ath` over the access token when
 * one is presented, and a `jti` never seen before (kept until the proof could no longer be fresh).
 */
export async function verifyDpopProof(db: Db, proof: string, expect: { htm: string; htu: string; accessToken?: string }): Promise<DpopResult> {
  let header;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    return { success: false, description: 'DPoP proof is not a JWT' };
  }
  if (header.typ !== 'dpop+jwt') return { success: false, description: 'DPoP proof typ must be dpop+jwt (RFC 9449 §4.2)' };
  if (!header.alg || !DPOP_SIGNING_ALGS.includes(header.alg)) return { success: false, description: `DPoP alg must be one of ${DPOP_SIGNING_ALGS.join(', ')}` };
  const parsedJwk = DpopPublicJwk.safeParse(header.jwk);
  if (!parsedJwk.success) return { success: false, description: 'DPoP proof needs a jwk header holding a public EC or OKP key (RFC 9449 §4.2)' };
  const jwk = parsedJwk.data as JWK;
  let payload;
  let jkt: string;
  try {
    ({ payload } = await jwtVerify(proof, await importJWK(jwk, header.alg), { typ: 'dpop+jwt', maxTokenAge: MAX_AGE_SECONDS, clockTolerance: SKEW_SECONDS }));
    jkt = await calculateJwkThumbprint(jwk);
  } catch (err) {
    return { success: false, description: `DPoP proof does not verify: ${(err as Error).message}` };
  }
  const stripped = (url: string) => url.split('#')[0]!.split('?')[0]!;
  if (payload.htm !== expect.htm) return { success: false, description: 'DPoP htm does not match the request method' };
  if (typeof payload.htu !== 'string' || stripped(payload.htu) !== stripped(expect.htu)) return { success: false, description: 'DPoP htu does not match the request URL' };
  if (typeof payload.jti !== 'string' || payload.jti.length < 8 || payload.jti.length > 256) return { success: false, description: 'DPoP proof needs a jti' };
  if (expect.accessToken !== undefined) {
    const ath = createHash('sha256').update(expect.accessToken, 'ascii').digest('base64url');
    if (payload.ath !== ath) return { success: false, description: 'DPoP ath does not match the access token' };
  }
  // A proof is single use: remember its jti for as long as it could be replayed.
  const jtiHash = createHash('sha256').update(payload.jti).digest('hex');
  const fresh = await preparedQuery<{ jti_hash: string }>(db, 'dpop_jti_insert', `insert into dpop_jtis (jti_hash, expires_at) values ($1, now() + make_interval(secs => $2)) on conflict do nothing returning jti_hash`, [jtiHash, MAX_AGE_SECONDS + 2 * SKEW_SECONDS]);
  if (fresh.length === 0) return { success: false, description: 'DPoP proof was already used (jti replay)' };
  return { success: true, jkt };
}

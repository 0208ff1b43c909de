import { compactVerify, type CryptoKey, decodeProtectedHeader, exportJWK, importJWK, importX509, type JWK, type ProtectedHeaderParameters } from 'jose';
import { z } from 'zod';

/**
 * Verification of a key proof of `proof_type` `jwt`: OpenID for Verifiable Credential Issuance 1.0,
 * Appendix F.1 (https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html#name-jwt-proof-type).
 * The proof shows that the wallet holds the private key the credential will be bound to; the
 * caller gets that key's public JWK back. Consuming the nonce (single use) is the caller's step.
 */

/** `typ` of a key proof JWT (§F.1: "MUST be openid4vci-proof+jwt"). */
export const PROOF_JWT_TYP = 'openid4vci-proof+jwt';

/** Asymmetric algorithms accepted for proofs; `none` and MAC algorithms never are (§F.1 `alg`). */
/** Algorithms whose keys the issuer can bind credentials to (EC P-256/384/521, Ed25519; src/credentials/holder-key.ts). */
export const PROOF_SIGNING_ALGS = ['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

export interface ProofExpectations {
  /** The Credential Issuer Identifier, which `aud` must equal. */
  audience: string;
  /** The c_nonce the issuer handed out; required when the issuer has a Nonce Endpoint (§7). */
  nonce?: string;
  now?: Date;
  /** How old `iat` may be. Default 300. */
  maxAgeSeconds?: number;
  /** Tolerance for clocks that differ, both ways. Default 60. */
  clockSkewSeconds?: number;
}

export type ProofVerification =
  | { success: true; holderJwk: JWK; nonce?: string; iss?: string }
  | { success: false; error: 'invalid_proof' | 'invalid_nonce'; description: string };

/** The claims of §F.1 that the issuer checks; other claims are ignored. */
const ProofClaims = z.object({
  /** OPTIONAL: the client_id of the wallet; omitted under anonymous pre-authorized access. */
  iss: z.string().optional(),
  /** REQUIRED: the Credential Issuer Identifier (RFC 7519 allows an array; we accept one containing it). */
  aud: z.union([z.string(), z.array(z.string())]),
  /** REQUIRED: issuance time, seconds since the epoch. */
  iat: z.number().finite(),
  /** OPTIONAL: the c_nonce from the Nonce Endpoint; REQUIRED when the issuer has one. */
  nonce: z.string().optional(),
});

/** Members that only a private (or symmetric) JWK has. */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

const invalidProof = (description: string): ProofVerification => ({ success: false, error: 'invalid_proof', description });
const invalidNonce = (description: string): ProofVerification => ({ success: false, error: 'invalid_nonce', description });

export async function verifyProofJwt(jwt: string, expect: ProofExpectations): Promise<ProofVerification> {
  // Step 1: the header.
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(jwt);
    if (jwt.split('.').length !== 3) throw new Error('not a JWS in compact serialization');
  } catch {
    return invalidProof('the proof is not a JWT');
  }
  if (header.typ !== PROOF_JWT_TYP) return invalidProof(`typ must be ${PROOF_JWT_TYP} (OpenID4VCI 1.0 §F.1)`);
  const alg = header.alg;
  if (!alg || !(PROOF_SIGNING_ALGS as readonly string[]).includes(alg)) {
    return invalidProof(`alg must be one of ${PROOF_SIGNING_ALGS.join(', ')}; none and symmetric algorithms are not accepted (OpenID4VCI 1.0 §F.1)`);
  }

  // Step 2: the key the proof is signed with.
  const key = await proofKey(header, alg);
  if ('error' in key) return invalidProof(key.error);

  // Step 3: the signature.
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(jwt, key.key, { algorithms: [alg] }));
  } catch {
    return invalidProof('the proof signature does not verify with the key in its header');
  }

  // Step 4: the claims.
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return invalidProof('the proof payload is not JSON');
  }
  const claims = ProofClaims.safeParse(json);
  if (!claims.success) return invalidProof(`the proof claims are malformed: ${claims.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const { aud, iat, nonce, iss } = claims.data;
  if (!(Array.isArray(aud) ? aud.includes(expect.audience) : aud === expect.audience)) return invalidProof('aud must be the Credential Issuer Identifier (OpenID4VCI 1.0 §F.1)');
  const now = Math.floor((expect.now ?? new Date()).getTime() / 1000);
  const skew = expect.clockSkewSeconds ?? 60;
  const maxAge = expect.maxAgeSeconds ?? 300;
  if (iat > now + skew) return invalidProof('iat is in the future (OpenID4VCI 1.0 §F.1)');
  if (now - iat > maxAge + skew) return invalidProof(`iat is older than ${maxAge} seconds (OpenID4VCI 1.0 §F.1)`);

  // Step 5: the nonce (§F.1 `nonce`; the error code is §8.3.1.2 invalid_nonce).
  if (expect.nonce !== undefined) {
    if (nonce === undefined) return invalidNonce('the proof has no nonce; fetch one from the Nonce Endpoint');
    if (nonce !== expect.nonce) return invalidNonce('the proof nonce is not the expected c_nonce');
  }

  return { success: true, holderJwk: key.publicJwk, ...(nonce !== undefined ? { nonce } : {}), ...(iss !== undefined ? { iss } : {}) };
}

/** Finds the proof's key: exactly one of `jwk`, `kid` or `x5c` (§F.1). */
async function proofKey(header: ProtectedHeaderParameters, alg: string): Promise<{ key: CryptoKey; publicJwk: JWK } | { error: string }> {
  const present = (['jwk', 'kid', 'x5c'] as const).filter((name) => header[name] != null);
  if (present.length !== 1) return { error: `the proof header must carry exactly one of jwk, kid or x5c (it has ${present.length ? present.join(', ') : 'none'})` };
  try {
    if (header.jwk) {
      const jwk = header.jwk as JWK;
      if (typeof jwk !== 'object' || Array.isArray(jwk)) return { error: 'jwk must be a JSON object' };
      if (PRIVATE_JWK_MEMBERS.some((m) => m in jwk)) return { error: 'jwk must be a public key: it carries private key material' };
      const key = await importJWK({ ...jwk, ext: true }, alg);
      if (!isCryptoKey(key) || key.type !== 'public') return { error: 'jwk must be a public key' };
      return { key, publicJwk: await exportJWK(key) };
    }
    if (header.x5c) {
      // The leaf certificate carries the holder's key. Trust in the chain is not evaluated here:
      // the proof binds the credential to a key, it does not authenticate the holder.
      const leaf = Array.isArray(header.x5c) ? header.x5c[0] : undefined;
      if (typeof leaf !== 'string' || !leaf) return { error: 'x5c must be a non-empty array of base64 certificates' };
      const pem = `-----BEGIN CERTIFICATE-----\n${leaf.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----`;
      const key = await importX509(pem, alg, { extractable: true });
      return { key, publicJwk: await exportJWK(key) };
    }
    return { error: 'kid (DID URL) key references are not supported: send the key as jwk or x5c' };
  } catch {
    return { error: `the key in the proof header cannot be used with alg ${alg}` };
  }
}

const isCryptoKey = (key: unknown): key is CryptoKey => typeof key === 'object' && key !== null && 'type' in key && 'algorithm' in key;

import { hkdfSync, randomBytes } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';

/**
 * The issuer's KYC tokens (seed 004): the challenge JWT (C-JWT: `sub` the client's IP, `nbf`, `exp`,
 * `nonce`), the wallet JWT (W-JWT: `sub` the wallet's public key) and the user token. All are
 * HS256 (RFC 7518 §3.2) under one key derived from the offer-secrets subkey of the KEK with HKDF
 * (`durable-issuer/kyc-tokens`), so gateways share it without a new secret. Each kind has its own
 * `typ` (RFC 8725 §3.11: explicit typing), so one kind is never accepted as another.
 */
export const TOKEN_TYPES = { challenge: 'kyc-challenge+jwt', wallet: 'kyc-wallet+jwt', user: 'kyc-user+jwt' } as const;
export type KycTokenKind = keyof typeof TOKEN_TYPES;

export interface KycTokenClaims {
  sub: string;
  nonce?: string;
}

export type KycTokenResult = { success: true; claims: KycTokenClaims } | { success: false; message: string };

export function deriveKycTokenKey(offerSecretsKey: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', offerSecretsKey, Buffer.alloc(0), 'durable-issuer/kyc-tokens', 32));
}

export function createKycTokens(key: Uint8Array, issuer: string, now: () => number = () => Math.floor(Date.now() / 1000)) {
  return {
    /** A fresh challenge: 32 random bytes, base64. */
    newNonce: () => randomBytes(32).toString('base64'),
    async sign(kind: KycTokenKind, claims: KycTokenClaims, ttlSeconds: number): Promise<string> {
      const t = now();
      return new SignJWT({ ...claims })
        .setProtectedHeader({ alg: 'HS256', typ: TOKEN_TYPES[kind] })
        .setIssuer(issuer)
        .setAudience(`${issuer}/kyc`)
        .setIssuedAt(t)
        .setNotBefore(t)
        .setExpirationTime(t + ttlSeconds)
        .sign(key);
    },
    async verify(kind: KycTokenKind, token: string): Promise<KycTokenResult> {
      try {
        const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], typ: TOKEN_TYPES[kind], issuer, audience: `${issuer}/kyc`, currentDate: new Date(now() * 1000), requiredClaims: ['sub', 'exp', 'nbf'] });
        return { success: true, claims: { sub: String(payload.sub), ...(typeof payload.nonce === 'string' ? { nonce: payload.nonce } : {}) } };
      } catch (err) {
        const code = (err as { code?: string }).code;
        return { success: false, message: code === 'ERR_JWT_EXPIRED' ? 'the token has expired' : 'the token is invalid' };
      }
    },
  };
}

export type KycTokens = ReturnType<typeof createKycTokens>;

import { createHash, randomBytes } from 'node:crypto';
import { SDJwtVcInstance, type SdJwtVcPayload } from '@sd-jwt/sd-jwt-vc';
import { z } from 'zod';
import { CredentialInputError } from './credential-errors';
import { holderKeyThumbprint, parseHolderJwk, type HolderJwk } from './holder-key';
import { assertJsonObject, isPlainObject } from './json-claims';
import type { CredentialSigner } from './signer';
import type { ClaimPath, LoadedVctm, SdPolicy, VctmClaim } from './vctm';

/**
 * SD-JWT VC issuance (`dc+sd-jwt`), draft-ietf-oauth-sd-jwt-vc over SD-JWT (RFC 9901),
 * built on @sd-jwt/sd-jwt-vc with the signer injected.
 *
 * Selective disclosure follows the VCTM claim metadata:
 * - `sd: "always"`  → the claim is selectively disclosable.
 * - `sd: "never"`   → the claim stays in the signed payload in plain text.
 * - `sd: "allowed"` (and claims the VCTM does not describe, for which `allowed` is the default) →
 *   selectively disclosable by default (`allowedClaims: 'disclose'`). Rationale: the type metadata
 *   leaves the choice to the issuer, and making a claim disclosable only gives the holder the choice
 *   of what to reveal (data minimisation, RFC 9901 §10); a type that needs a claim always visible
 *   says `never`. Deployments can flip this with `allowedClaims: 'plain'`.
 * Nested objects and array elements are handled recursively (RFC 9901 §4.2.4.1, §4.2.4.2), matching
 * VCTM paths whose `null` selects every array element and an integer one element.
 */

/** The Token Status List reference (draft-ietf-oauth-status-list, "Referenced Token"): `status.status_list`. */
export const SdJwtVcStatusSchema = z.object({
  status_list: z.object({
    /** Index of this credential in the status list. */
    idx: z.number().int().nonnegative(),
    /** URI of the Status List Token. */
    uri: z.string().min(1),
  }),
});
export type SdJwtVcStatus = z.infer<typeof SdJwtVcStatusSchema>;

export interface SdJwtVcIssuerDeps {
  signer: CredentialSigner;
  /**
   * How verifiers find the issuer key (draft-ietf-oauth-sd-jwt-vc "Issuer Signature Mechanisms"):
   * `kid` for JWT VC Issuer Metadata (`/.well-known/jwt-vc-issuer`, default), or `x5c` to embed the
   * signer's certificate chain (its leaf must then name `iss` in a SAN).
   */
  keyReference?: 'kid' | 'x5c';
  /** What `sd: "allowed"` (and undescribed claims) become: disclosable (`disclose`, default) or `plain`. */
  allowedClaims?: 'disclose' | 'plain';
  /** Current time in unix seconds; injected for tests. */
  now?: () => number;
}

export interface SdJwtVcIssueRequest {
  /** `iss`: the issuer identifier (an HTTPS URL for JWT VC Issuer Metadata resolution). */
  issuer: string;
  /** The type metadata; gives `vct`, `vct#integrity` and the claim policies. */
  vctm: LoadedVctm;
  /** The document's claims (`document_data`), a JSON object. */
  claims: Record<string, unknown>;
  /** The holder's public JWK, bound as `cnf.jwk` (RFC 7800 §3.2). */
  holderJwk: unknown;
  /** `nbf`, unix seconds (the document's `credential_valid_from`). */
  validFrom?: number;
  /** `exp`, unix seconds (the document's `credential_valid_to`). */
  validUntil?: number;
  /** The status-list hook: set by the status-list allocation step. */
  status?: SdJwtVcStatus;
}

export interface IssuedSdJwtVc {
  format: 'dc+sd-jwt';
  /** The SD-JWT in compact form: `<jwt>~<disclosure>~...~` (no key binding JWT). */
  credential: string;
  /** kid of the signing key. */
  kid: string;
  /** RFC 7638 thumbprint of the bound holder key. */
  holderKeyThumbprint: string;
  disclosureCount: number;
  issuedAt: number;
  validFrom?: number;
  validUntil?: number;
}

export interface SdJwtVcIssuer {
  issue(request: SdJwtVcIssueRequest): Promise<IssuedSdJwtVc>;
}

/**
 * Claims the issuer sets itself; the document must not carry them. `iss`, `nbf`, `exp`, `cnf`, `vct`,
 * `vct#integrity` and `status` must never be disclosable (draft-ietf-oauth-sd-jwt-vc "Registered JWT Claims").
 */
const REGISTERED_CLAIMS = new Set(['iss', 'iat', 'nbf', 'exp', 'cnf', 'vct', 'vct#integrity', 'status', '_sd_alg']);
/** Keys with a meaning inside an SD-JWT payload at any depth (RFC 9901 §4.2.4.1, §4.2.4.2). */
const DIGEST_KEYS = new Set(['_sd', '...']);

/** 128 bits of salt per disclosure (RFC 9901 §9.3 recommends at least 128). */
const SALT_BYTES = 16;

export function createSdJwtVcIssuer(deps: SdJwtVcIssuerDeps): SdJwtVcIssuer {
  const { signer } = deps;
  const keyReference = deps.keyReference ?? 'kid';
  const allowedClaims = deps.allowedClaims ?? 'disclose';
  const now = deps.now ?? (() => Math.floor(Date.now() / 1000));
  if (signer.alg !== 'ES256') throw new Error(`unsupported signing algorithm ${String(signer.alg)}`);
  if (keyReference === 'x5c' && !signer.x5c?.length) throw new Error('keyReference x5c needs a signer with a certificate chain');
  const header = keyReference === 'x5c' ? { x5c: [...signer.x5c!] } : { kid: signer.kid };

  const sdjwt = new SDJwtVcInstance({
    signAlg: signer.alg,
    hashAlg: 'sha-256',
    hasher: (data) => new Uint8Array(createHash('sha256').update(typeof data === 'string' ? data : Buffer.from(data)).digest()),
    saltGenerator: createSaltGenerator(),
    signer: async (signingInput) => Buffer.from(await signer.sign(Buffer.from(signingInput, 'ascii'))).toString('base64url'),
  });

  return {
    async issue(request) {
      const holderJwk: HolderJwk = parseHolderJwk(request.holderJwk);
      const claims = request.claims;
      assertJsonObject(claims, 'claims', DIGEST_KEYS);
      for (const key of Object.keys(claims)) {
        if (REGISTERED_CLAIMS.has(key)) {
          throw new CredentialInputError('reserved_claim', `"${key}" is set by the issuer`, `claims.${key}`);
        }
      }
      const metadataClaims = request.vctm.metadata.claims ?? [];
      assertMandatoryClaims(claims, metadataClaims);
      const status = request.status === undefined ? undefined : SdJwtVcStatusSchema.parse(request.status);

      const iat = now();
      const { validFrom, validUntil } = request;
      for (const [name, value] of [['validFrom', validFrom], ['validUntil', validUntil]] as const) {
        if (value !== undefined && !Number.isSafeInteger(value)) {
          throw new CredentialInputError('invalid_validity', 'must be unix seconds', name);
        }
      }
      if (validUntil !== undefined && validUntil <= iat) {
        throw new CredentialInputError('invalid_validity', 'the credential would already be expired', 'validUntil');
      }
      if (validFrom !== undefined && validUntil !== undefined && validUntil <= validFrom) {
        throw new CredentialInputError('invalid_validity', 'must be after validFrom', 'validUntil');
      }

      const frame = buildDisclosureFrame(claims, metadataClaims, allowedClaims);
      const payload: SdJwtVcPayload = {
        ...claims,
        iss: request.issuer,
        iat,
        ...(validFrom !== undefined ? { nbf: validFrom } : {}),
        ...(validUntil !== undefined ? { exp: validUntil } : {}),
        vct: request.vctm.metadata.vct,
        'vct#integrity': request.vctm.integrity,
        cnf: { jwk: holderJwk },
        ...(status ? { status } : {}),
      };
      const credential = await sdjwt.issue(payload, frame as Parameters<SDJwtVcInstance['issue']>[1], { header });
      return {
        format: 'dc+sd-jwt',
        credential,
        kid: signer.kid,
        holderKeyThumbprint: holderKeyThumbprint(holderJwk),
        disclosureCount: credential.split('~').length - 2,
        issuedAt: iat,
        ...(validFrom !== undefined ? { validFrom } : {}),
        ...(validUntil !== undefined ? { validUntil } : {}),
      };
    },
  };
}

/**
 * Salts from a pooled CSPRNG buffer: one `randomBytes` call per 256 salts instead of one per disclosure
 * (per-call overhead showed up in the issuance profile). Each salt is 16 fresh bytes, never reused.
 */
function createSaltGenerator(): () => string {
  const POOL_SALTS = 256;
  let pool = Buffer.alloc(0);
  let offset = 0;
  return () => {
    if (offset + SALT_BYTES > pool.length) {
      pool = randomBytes(SALT_BYTES * POOL_SALTS);
      offset = 0;
    }
    const salt = pool.toString('base64url', offset, offset + SALT_BYTES);
    offset += SALT_BYTES;
    return salt;
  };
}

type ConcretePath = readonly (string | number)[];

/** Does a VCTM claim path (with `null` wildcards) select this concrete path? */
function pathMatches(pattern: ClaimPath, path: ConcretePath): boolean {
  if (pattern.length !== path.length) return false;
  return pattern.every((p, i) => (p === null ? typeof path[i] === 'number' : p === path[i]));
}

/** Policy of one concrete claim: the most specific matching entry (fewest wildcards) wins; `allowed` by default. */
export function sdPolicyFor(path: ConcretePath, metadataClaims: readonly VctmClaim[]): SdPolicy {
  let best: { policy: SdPolicy; wildcards: number } | undefined;
  for (const claim of metadataClaims) {
    if (!pathMatches(claim.path, path)) continue;
    const wildcards = claim.path.filter((p) => p === null).length;
    if (!best || wildcards < best.wildcards) best = { policy: claim.sd ?? 'allowed', wildcards };
  }
  return best?.policy ?? 'allowed';
}

type Frame = { _sd?: (string | number)[]; [key: string]: Frame | (string | number)[] | undefined };

/**
 * The @sd-jwt disclosure frame for `claims` under the VCTM policies. Exported for tests and for
 * operators who want to see what a type makes disclosable.
 */
export function buildDisclosureFrame(
  claims: Record<string, unknown>,
  metadataClaims: readonly VctmClaim[],
  allowedClaims: 'disclose' | 'plain' = 'disclose',
): Frame | undefined {
  const disclosable = (path: ConcretePath): boolean => {
    const policy = sdPolicyFor(path, metadataClaims);
    return policy === 'always' || (policy === 'allowed' && allowedClaims === 'disclose');
  };
  const frameOf = (value: unknown, path: ConcretePath): Frame | undefined => {
    const entries: [string | number, unknown][] = Array.isArray(value)
      ? value.map((v, i) => [i, v])
      : isPlainObject(value)
        ? Object.entries(value)
        : [];
    const frame: Frame = {};
    const sd: (string | number)[] = [];
    for (const [key, child] of entries) {
      const childPath = [...path, key];
      if (disclosable(childPath)) sd.push(key);
      const childFrame = frameOf(child, childPath);
      if (childFrame) frame[String(key)] = childFrame;
    }
    if (sd.length > 0) frame._sd = sd;
    return Object.keys(frame).length > 0 ? frame : undefined;
  };
  return frameOf(claims, []);
}

/** Values a claim path selects (draft-ietf-oauth-sd-jwt-vc "Claim Path" processing). */
function selectPath(root: unknown, path: ClaimPath): unknown[] {
  let selected: unknown[] = [root];
  for (const component of path) {
    const next: unknown[] = [];
    for (const value of selected) {
      if (typeof component === 'string' && isPlainObject(value) && component in value) next.push(value[component]);
      else if (component === null && Array.isArray(value)) next.push(...value);
      else if (typeof component === 'number' && Array.isArray(value) && component < value.length) next.push(value[component]);
    }
    selected = next;
  }
  return selected;
}

/** `mandatory: true` claims must be in every credential of the type. */
function assertMandatoryClaims(claims: Record<string, unknown>, metadataClaims: readonly VctmClaim[]): void {
  const missing = metadataClaims.filter((c) => c.mandatory && selectPath(claims, c.path).length === 0);
  if (missing.length > 0) {
    const paths = missing.map((c) => c.path.map((p) => (p === null ? '*' : String(p))).join('.'));
    throw new CredentialInputError('missing_mandatory_claim', `missing mandatory claim(s) ${paths.join(', ')}`, 'claims');
  }
}

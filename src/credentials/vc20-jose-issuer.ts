import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { CredentialInputError } from './credential-errors';
import { assertJsonObject } from './json-claims';
import type { CredentialSigner } from './signer';

/**
 * W3C Verifiable Credentials Data Model 2.0 secured with JOSE (VC-JOSE-COSE §3.1.1,
 * https://www.w3.org/TR/vc-jose-cose/#securing-with-jose): media type `application/vc+jwt`, a compact
 * JWS whose protected header is `{alg, kid, typ: "vc+jwt", cty: "vc"}` and whose payload IS the
 * credential (no `vc` wrapper claim, unlike the VC 1.1 JWT encoding).
 */

export const VC_V2_CONTEXT = 'https://www.w3.org/ns/credentials/v2';

/** Bitstring Status List v1.0 §2.1 BitstringStatusListEntry. */
export const BitstringStatusListEntrySchema = z.object({
  id: z.string().min(1).optional(),
  type: z.literal('BitstringStatusListEntry'),
  statusPurpose: z.enum(['revocation', 'suspension', 'refresh', 'message']),
  /** The bit index, as a string of a non-negative integer. */
  statusListIndex: z.string().regex(/^\d+$/),
  /** URL of the BitstringStatusListCredential. */
  statusListCredential: z.string().min(1),
});
export type BitstringStatusListEntry = z.infer<typeof BitstringStatusListEntrySchema>;
/** VC DM 2.0 §4.10: `credentialStatus` is one status entry or several (a W3C credential of ours: revocation and suspension). */
export const CredentialStatusSchema = z.union([BitstringStatusListEntrySchema, z.array(BitstringStatusListEntrySchema).min(1)]);
export type CredentialStatus = z.infer<typeof CredentialStatusSchema>;

/** Builds the `credentialStatus` entry for an allocated index (the status-list hook). */
export function bitstringStatusListEntry(input: {
  statusListCredential: string;
  statusListIndex: number;
  statusPurpose?: BitstringStatusListEntry['statusPurpose'];
}): BitstringStatusListEntry {
  if (!Number.isSafeInteger(input.statusListIndex) || input.statusListIndex < 0) {
    throw new TypeError('statusListIndex must be a non-negative integer');
  }
  return {
    id: `${input.statusListCredential}#${input.statusListIndex}`,
    type: 'BitstringStatusListEntry',
    statusPurpose: input.statusPurpose ?? 'revocation',
    statusListIndex: String(input.statusListIndex),
    statusListCredential: input.statusListCredential,
  };
}

export interface Vc20IssuerDeps {
  signer: CredentialSigner;
  now?: () => Date;
}

export interface Vc20IssueRequest {
  /** `id`; a `urn:uuid:` is generated when absent. */
  id?: string;
  /** Types after `VerifiableCredential` (which is always first), e.g. `IdentityCredential`. */
  type: string | readonly string[];
  /** Extra `@context` entries after the VC 2.0 context. */
  contexts?: readonly (string | Record<string, unknown>)[];
  /** `issuer`: a URL/DID, or an object with `id`. */
  issuer: string | { id: string; [key: string]: unknown };
  /** `validFrom`; default now. May be in the future. */
  validFrom?: Date | string;
  /** `validUntil`. */
  validUntil?: Date | string;
  credentialSubject: Record<string, unknown> | readonly Record<string, unknown>[];
  /** The status hook: a BitstringStatusListEntry, or several (see `bitstringStatusListEntry`). */
  credentialStatus?: CredentialStatus;
  /** Other VC properties (`name`, `description`, `credentialSchema`, ...). Must not repeat the ones above. */
  extra?: Record<string, unknown>;
}

export interface IssuedVc20 {
  format: 'vc+jwt';
  mediaType: 'application/vc+jwt';
  /** The compact JWS. */
  credential: string;
  /** The credential as signed (the JWS payload). */
  payload: Record<string, unknown>;
  id: string;
  kid: string;
  validFrom: string;
  validUntil?: string;
}

export interface Vc20JoseIssuer {
  issue(request: Vc20IssueRequest): Promise<IssuedVc20>;
}

const MANAGED = new Set(['@context', 'id', 'type', 'issuer', 'validFrom', 'validUntil', 'credentialSubject', 'credentialStatus', 'proof']);

export function createVc20JoseIssuer(deps: Vc20IssuerDeps): Vc20JoseIssuer {
  const { signer } = deps;
  const now = deps.now ?? (() => new Date());
  if (signer.alg !== 'ES256') throw new Error(`unsupported signing algorithm ${String(signer.alg)}`);
  const header = { alg: signer.alg, kid: signer.kid, typ: 'vc+jwt', cty: 'vc' };
  const encodedHeader = base64urlJson(header);

  return {
    async issue(request) {
      const { payload, id, validFrom, validUntil } = buildVc20Credential(request, now);
      const signingInput = `${encodedHeader}.${base64urlJson(payload)}`;
      const signature = await signer.sign(Buffer.from(signingInput, 'ascii'));
      return {
        format: 'vc+jwt',
        mediaType: 'application/vc+jwt',
        credential: `${signingInput}.${Buffer.from(signature).toString('base64url')}`,
        payload,
        id,
        kid: signer.kid,
        validFrom,
        ...(validUntil ? { validUntil } : {}),
      };
    },
  };
}

/** A VC 2.0 credential built from a request and checked, before any securing mechanism (JOSE, Data Integrity) is applied. */
export interface BuiltVc20 {
  payload: Record<string, unknown>;
  id: string;
  validFrom: string;
  validUntil?: string;
}

/** Builds and checks the unsecured credential (VC DM 2.0 §4); shared by the JOSE and Data Integrity issuers. */
export function buildVc20Credential(request: Vc20IssueRequest, now: () => Date): BuiltVc20 {
  const types = typeof request.type === 'string' ? [request.type] : [...request.type];
  if (types.some((t) => typeof t !== 'string' || t.length === 0)) throw new CredentialInputError('invalid_claims', 'types must be non-empty strings', 'type');
  const issuerId = typeof request.issuer === 'string' ? request.issuer : request.issuer?.id;
  if (!issuerId || !isUrl(issuerId)) throw new CredentialInputError('invalid_claims', 'must be a URL or DID', 'issuer');
  const id = request.id ?? `urn:uuid:${randomUUID()}`;
  if (!isUrl(id)) throw new CredentialInputError('invalid_claims', 'must be a URL', 'id');

  const validFrom = dateTimeStamp(request.validFrom ?? now(), 'validFrom');
  const validUntil = request.validUntil === undefined ? undefined : dateTimeStamp(request.validUntil, 'validUntil');
  if (validUntil && Date.parse(validUntil) <= Date.parse(validFrom)) {
    throw new CredentialInputError('invalid_validity', 'must be after validFrom', 'validUntil');
  }

  const subjects = Array.isArray(request.credentialSubject) ? request.credentialSubject : [request.credentialSubject];
  if (subjects.length === 0) throw new CredentialInputError('invalid_claims', 'must not be empty', 'credentialSubject');
  subjects.forEach((s, i) => assertJsonObject(s, subjects.length === 1 ? 'credentialSubject' : `credentialSubject.${i}`));
  const extra = request.extra ?? {};
  assertJsonObject(extra, 'extra');
  for (const key of Object.keys(extra)) {
    if (MANAGED.has(key)) throw new CredentialInputError('reserved_claim', `"${key}" is set by the issuer`, `extra.${key}`);
  }
  const credentialStatus = request.credentialStatus && CredentialStatusSchema.parse(request.credentialStatus);
  if (request.issuer !== undefined && typeof request.issuer !== 'string') assertJsonObject(request.issuer, 'issuer');

  // VC DM 2.0 §4.3: the first @context is the v2 context; §4.5: the type list includes VerifiableCredential.
  const payload: Record<string, unknown> = {
    '@context': [VC_V2_CONTEXT, ...(request.contexts ?? []).filter((c) => c !== VC_V2_CONTEXT)],
    id,
    type: ['VerifiableCredential', ...types.filter((t) => t !== 'VerifiableCredential')],
    issuer: request.issuer,
    validFrom,
    ...(validUntil ? { validUntil } : {}),
    credentialSubject: Array.isArray(request.credentialSubject) ? [...subjects] : subjects[0],
    ...(credentialStatus ? { credentialStatus } : {}),
    ...extra,
  };
  return { payload, id, validFrom, ...(validUntil ? { validUntil } : {}) };
}

function base64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** A URL or DID (RFC 3986 absolute URI: a scheme followed by ':'). */
function isUrl(value: unknown): value is string {
  return typeof value === 'string' && /^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$/.test(value);
}

/** XML Schema dateTimeStamp in UTC without fractional seconds (VC DM 2.0 §4.9). */
function dateTimeStamp(value: Date | string, path: string): string {
  const date = value instanceof Date ? value : typeof value === 'string' && /(Z|[+-]\d{2}:\d{2})$/.test(value) ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    throw new CredentialInputError('invalid_validity', 'must be a date-time with a time zone', path);
  }
  return `${date.toISOString().slice(0, 19)}Z`;
}


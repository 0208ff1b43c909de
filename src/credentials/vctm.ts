import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * SD-JWT VC Type Metadata (VCTM), draft-ietf-oauth-sd-jwt-vc "SD-JWT VC Type Metadata".
 * https://datatracker.ietf.org/doc/draft-ietf-oauth-sd-jwt-vc/
 *
 * Objects are `loose`: members this issuer does not interpret (rendering, svg_id, extensions) are kept,
 * because the metadata is published verbatim and its integrity hash covers every byte.
 */

/** Display members carry a language tag: `locale` in current drafts, `lang` in earlier ones. */
const localeShape = {
  /** RFC 5646 language tag (current drafts). */
  locale: z.string().min(1).optional(),
  /** RFC 5646 language tag (earlier drafts; still accepted by wallets). */
  lang: z.string().min(1).optional(),
};

/** Type display metadata ("Display Metadata"): one entry per language. */
export const VctmDisplaySchema = z
  .object({
    ...localeShape,
    /** REQUIRED. Human-readable name of the type for end users. */
    name: z.string().min(1),
    /** OPTIONAL. Human-readable description of the type. */
    description: z.string().optional(),
    /** OPTIONAL. Rendering (simple or SVG templates); passed through unchanged. */
    rendering: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();

/** Claim display metadata ("Claim Display Metadata"). */
export const VctmClaimDisplaySchema = z
  .object({
    ...localeShape,
    /** REQUIRED. Label of the claim for end users. */
    label: z.string().min(1),
    /** OPTIONAL. Description of the claim for end users. */
    description: z.string().optional(),
  })
  .loose();

/**
 * Claim path ("Claim Path"): a non-empty array whose elements select an object member (string),
 * every element of an array (null), or one array element (non-negative integer).
 */
export const ClaimPathSchema = z.array(z.union([z.string().min(1), z.null(), z.number().int().nonnegative()])).min(1);
export type ClaimPath = z.infer<typeof ClaimPathSchema>;

/**
 * Claim selective-disclosure metadata ("Claim Selective Disclosure Metadata"):
 * `always` the issuer MUST make the claim selectively disclosable, `never` it MUST NOT,
 * `allowed` it MAY (the default when `sd` is absent). This issuer's choice for `allowed` is
 * documented in sd-jwt-vc-issuer.ts.
 */
export const SdPolicySchema = z.enum(['always', 'allowed', 'never']);
export type SdPolicy = z.infer<typeof SdPolicySchema>;

/** Claim metadata ("Claim Metadata"). */
export const VctmClaimSchema = z
  .object({
    /** REQUIRED. Which claim(s) in the credential this entry describes. */
    path: ClaimPathSchema,
    /** OPTIONAL. Display metadata, one entry per language. */
    display: z.array(VctmClaimDisplaySchema).optional(),
    /** OPTIONAL. Selective disclosure policy; `allowed` when absent. */
    sd: SdPolicySchema.optional(),
    /** OPTIONAL. When true the issuer MUST include the claim in every credential of this type. */
    mandatory: z.boolean().optional(),
    /** OPTIONAL. Identifier of the claim in SVG templates. */
    svg_id: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional(),
  })
  .loose();
export type VctmClaim = z.infer<typeof VctmClaimSchema>;

const integrityString = z.string().regex(/^(sha256|sha384|sha512)-[A-Za-z0-9+/]+={0,2}( .*)?$/, 'must be W3C SRI integrity metadata');

/** The Type Metadata document ("Type Metadata Format"). */
export const VctmSchema = z
  .object({
    /** REQUIRED. The type this document describes; equals the credential's `vct` claim. */
    vct: z.string().min(1),
    /** OPTIONAL. Developer-facing name of the type. */
    name: z.string().optional(),
    /** OPTIONAL. Developer-facing description of the type. */
    description: z.string().optional(),
    /** OPTIONAL. vct of a type this one extends, with its integrity. */
    extends: z.string().min(1).optional(),
    'extends#integrity': integrityString.optional(),
    /** OPTIONAL. End-user display metadata per language. */
    display: z.array(VctmDisplaySchema).optional(),
    /** OPTIONAL. Metadata of individual claims. */
    claims: z.array(VctmClaimSchema).optional(),
    /** OPTIONAL (earlier drafts). Embedded JSON Schema of the claims. */
    schema: z.record(z.string(), z.unknown()).optional(),
    /** OPTIONAL (earlier drafts). URL of a JSON Schema of the claims, with its integrity. */
    schema_uri: z.url().optional(),
    'schema_uri#integrity': integrityString.optional(),
  })
  .loose()
  .refine((m) => !(m.schema && m.schema_uri), { message: 'schema and schema_uri must not both be present', path: ['schema_uri'] })
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    m.claims?.forEach((claim, i) => {
      const key = JSON.stringify(claim.path);
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['claims', i, 'path'], message: `duplicate claim path ${key}` });
      seen.add(key);
    });
  });
export type Vctm = z.infer<typeof VctmSchema>;

/**
 * A VCTM as the issuer uses it: the parsed document, the exact bytes served at the vct URL, and the
 * `vct#integrity` value over those bytes. Parse once at boot; issue many times.
 */
export interface LoadedVctm {
  readonly metadata: Vctm;
  readonly bytes: Uint8Array;
  readonly integrity: string;
}

/**
 * W3C Subresource Integrity metadata (`sha256-<base64>`, SRI §3.1) over the exact document bytes;
 * the value of `vct#integrity` (draft-ietf-oauth-sd-jwt-vc "Document Integrity"). Strings are hashed as UTF-8.
 */
export function vctIntegrity(bytes: Uint8Array | string): string {
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  return `sha256-${createHash('sha256').update(data).digest('base64')}`;
}

export type LoadVctmResult = { success: true; data: LoadedVctm } | { success: false; errors: string[] };

/** Parses VCTM bytes (JSON) and computes their integrity. Errors carry the key path, e.g. `claims.2.sd: ...`. */
export function loadVctm(bytes: Uint8Array | string): LoadVctmResult {
  const raw = typeof bytes === 'string' ? new Uint8Array(Buffer.from(bytes, 'utf8')) : bytes;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch (e) {
    return { success: false, errors: [`not JSON: ${(e as Error).message}`] };
  }
  const parsed = VctmSchema.safeParse(json);
  if (!parsed.success) {
    return {
      success: false,
      errors: parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`),
    };
  }
  return { success: true, data: Object.freeze({ metadata: parsed.data, bytes: raw, integrity: vctIntegrity(raw) }) };
}

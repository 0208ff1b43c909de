import { z } from 'zod';
import { DATA_INTEGRITY_CRYPTOSUITES } from '../../credentials/vc20-data-integrity-issuer';

/**
 * Seed 001 (Spherity CARO) Create Credential API payloads. Per-type required fields follow the
 * seed's "Credential Data" table, including the conditional ones.
 */

const Text = z.string().trim().min(1).max(1024);

/** W3C DID Core §3.1 DID syntax: `did:<method-name>:<method-specific-id>`. */
export const Did = z
  .string()
  .max(2048)
  .regex(/^did:[a-z0-9]+:(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2}|:)*(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})$/, 'must be a DID (did:<method>:<method-specific-id>, W3C DID Core §3.1)');

const IsoDateTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time, e.g. 2025-06-01T09:17:17.038Z' });

export const CredentialType = z.enum(['IdentityCredential', 'DSCSAATPCredential']);

const CommonData = {
  issuerName: Text,
  legalName: Text,
  streetAddress: Text,
  addressLocality: Text,
  addressRegion: Text,
  postalCode: Text,
  addressCountry: Text,
};

/** Credential data; `parentOrganization` is required for IdentityCredential, `organizationType` and `identifier` for DSCSAATPCredential. */
export const CredentialData = z.strictObject({
  ...CommonData,
  parentOrganization: Text.optional(),
  organizationType: Text.optional(),
  identifier: Text.optional(),
});

export const CreateCredentialRequest = z
  .strictObject({
    credentialId: z
      .string()
      .regex(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a urn:uuid: URN')
      .optional()
      .meta({ description: 'Id of the issued credential; a urn:uuid: is generated when absent' }),
    credentialType: CredentialType,
    credentialStatusId: z.url().max(2048).optional().meta({ description: 'Status list URL to use instead of the issuer-managed revocation list' }),
    recipientDid: Did.meta({ description: 'The DID that will receive and hold the credential' }),
    data: CredentialData,
    expirationDate: IsoDateTime.optional().meta({ description: 'Default: one year after the issuance date' }),
    issuanceDate: IsoDateTime.optional().meta({ description: 'Default: now. A future date issues a credential that becomes valid then' }),
    onboardingId: Text.optional(),
    format: z
      .enum(['ldp_vc', 'vc+jwt'])
      .optional()
      .meta({
        description:
          'How `data` is secured. `ldp_vc` (default): the credential document with an embedded Data Integrity proof (W3C VC Data Integrity 1.0). `vc+jwt`: secured with JOSE (VC-JOSE-COSE §3.1.1), `data` an EnvelopedVerifiableCredential; also chosen by `Accept: application/vc+jwt` when the body names neither `format` nor `cryptosuite`',
      }),
    cryptosuite: z
      .enum(DATA_INTEGRITY_CRYPTOSUITES)
      .optional()
      .meta({ description: 'Data Integrity cryptosuite of an `ldp_vc` credential; default ecdsa-rdfc-2019 (P-256). ecdsa-sd-2023 (P-256): a base proof from which the holder derives selective disclosures; issuer, validFrom, validUntil and credentialStatus are always disclosed' }),
  })
  .superRefine((req, ctx) => {
    if (req.format === 'vc+jwt' && req.cryptosuite !== undefined) ctx.addIssue({ code: 'custom', path: ['cryptosuite'], message: 'applies to format ldp_vc only' });
    const need = (field: keyof typeof req.data) => {
      if (req.data[field] === undefined) ctx.addIssue({ code: 'custom', path: ['data', field], message: `is required for ${req.credentialType}` });
    };
    if (req.credentialType === 'IdentityCredential') need('parentOrganization');
    if (req.credentialType === 'DSCSAATPCredential') {
      need('organizationType');
      need('identifier');
    }
    if (req.issuanceDate && req.expirationDate && Date.parse(req.expirationDate) <= Date.parse(req.issuanceDate)) {
      ctx.addIssue({ code: 'custom', path: ['expirationDate'], message: 'must be after issuanceDate' });
    }
  })
  .meta({ id: 'CreateCredentialRequest' });
export type CreateCredentialRequest = z.infer<typeof CreateCredentialRequest>;

/** VC 2.0 §4.13 EnvelopedVerifiableCredential: the JOSE-secured credential (`application/vc+jwt`) as a data: URL. */
export const EnvelopedCredential = z.object({
  '@context': z.literal('https://www.w3.org/ns/credentials/v2'),
  id: z.string().startsWith('data:application/vc+jwt,'),
  type: z.literal('EnvelopedVerifiableCredential'),
});

/** VC Data Integrity 1.0 §2.1: the proof a Data Integrity credential embeds. */
const DataIntegrityProof = z.looseObject({
  type: z.literal('DataIntegrityProof'),
  cryptosuite: z.enum(DATA_INTEGRITY_CRYPTOSUITES),
  created: z.string(),
  proofPurpose: z.literal('assertionMethod'),
  verificationMethod: z.string().meta({ description: 'A key of the issuer\'s DID document (`<did>#<kid>`, /.well-known/did.json)' }),
  proofValue: z.string().meta({ description: 'Multibase: base58btc (z) signature for the rdfc suites; base64url (u) base proof for ecdsa-sd-2023' }),
});

/** The seed 001 credential as a document: VC DM 2.0 with a Data Integrity proof. */
export const DataIntegrityCredential = z
  .looseObject({
    '@context': z.array(z.string()),
    id: z.string(),
    type: z.array(z.string()),
    issuer: z.string().meta({ description: 'The issuer\'s did:web' }),
    validFrom: z.string(),
    validUntil: z.string().optional(),
    onboardingId: z.string().optional(),
    credentialSubject: z.looseObject({ id: z.string(), type: CredentialType }),
    credentialStatus: z.looseObject({ type: z.literal('BitstringStatusListEntry') }).optional(),
    proof: DataIntegrityProof,
  })
  .meta({ id: 'DataIntegrityCredential' });

export const CredentialResponse = z
  .object({
    id: z.uuid(),
    createdAt: z.string(),
    updatedAt: z.string(),
    type: CredentialType,
    data: z.union([DataIntegrityCredential, EnvelopedCredential]).meta({
      description: 'The signed W3C VC 2.0 credential: by default the document with a Data Integrity proof (`format: ldp_vc`); secured with JOSE as an EnvelopedVerifiableCredential when asked (`format: vc+jwt`, or `Accept: application/vc+jwt`)',
    }),
  })
  .meta({ id: 'CredentialResponse' });

export const CredentialIdParams = z.object({ id: z.uuid() });

/** `POST /api/v1/credentials/:id/revoke` (seed 001: "revocable by default"): an optional reason, kept in the audit log only. */
export const RevokeCredentialRequest = z
  .strictObject({ reason: z.string().min(1).max(500).optional().meta({ description: 'Why the credential is revoked; recorded in the audit log, never published' }) })
  .meta({ id: 'RevokeCredentialRequest' });

export const RevokeCredentialResponse = z
  .object({
    id: z.uuid(),
    status: z.literal('revoked'),
    revokedAt: z.string(),
    statusListCredential: z.string().meta({ description: 'The BitstringStatusListCredential whose bit flipped, in the credential\'s proof format (the `/di` URL for a Data Integrity credential)' }),
    statusListIndex: z.string(),
  })
  .meta({ id: 'RevokeCredentialResponse' });

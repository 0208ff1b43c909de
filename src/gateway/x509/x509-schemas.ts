import { z } from 'zod';
import { CHILD_ID, KEY_ID_PATH, SERVICE_PATH } from '../../kms/resource-paths';
import { JwkInput } from '../kms/kms-schemas';
import { REVOCATION_REASONS } from '../../x509/crl-service';

/** Request and response schemas of the X.509 service API (docs/conventions.md, X.509 service). */

const text = z.string().trim().min(1).max(256);
const country = z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code (two capital letters)');
const instant = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
const uri = z.url().max(2048);

const JwkField = z.union([JwkInput, z.string().max(4096).transform((s, ctx) => {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not a JSON JWK' });
    return z.NEVER;
  }
}).pipe(JwkInput)]);

export const KeyDescriptor = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('kms-hosted-key-descriptor'), keyIdPath: z.string().regex(KEY_ID_PATH, 'must be {organization}.{tenant}.{kms}.{keyId}') }),
    z.object({ type: z.literal('jwk-encoded-key-descriptor'), jwk: JwkField.meta({ description: 'The JWK (object, or its JSON text); a signing key needs d' }) }),
  ])
  .meta({ id: 'KeyDescriptor' });

export const IssuerAlternativeNameConf = z
  .object({ uri: uri.optional(), email: z.email().max(256).optional() })
  .refine((v) => v.uri !== undefined || v.email !== undefined, { message: 'needs a uri or an email' })
  .meta({ id: 'IssuerAlternativeNameConf' });

export const IacaCertificateData = z
  .object({
    country,
    commonName: text,
    stateOrProvinceName: text.optional(),
    organizationName: text.optional(),
    notBefore: instant.optional(),
    notAfter: instant.optional(),
    issuerAlternativeNameConf: IssuerAlternativeNameConf,
    crlDistributionPointUri: uri.optional(),
  })
  .meta({ id: 'IacaCertificateData', description: 'Defaults: notBefore now, notAfter 15 years later (at most 20, ISO/IEC 18013-5 Annex B)' });

export const DocumentSignerCertificateData = z
  .object({
    country,
    commonName: text,
    stateOrProvinceName: text.optional(),
    organizationName: text.optional(),
    localityName: text.optional(),
    notBefore: instant.optional(),
    notAfter: instant.optional(),
    crlDistributionPointUri: uri.optional().meta({ description: 'Required unless the IACA was issued by this service with a kms-hosted key: then it defaults to that IACA\'s CRL, $ISSUER_URL/x509/crls/<iaca id>.crl' }),
  })
  .meta({ id: 'DocumentSignerCertificateData', description: 'Defaults: notBefore now, notAfter 365 days later or the IACA\'s notAfter if sooner (at most 457 days, ISO/IEC 18013-5 Annex B)' });

export const VicalEntryComplementaryMetadata = z
  .looseObject({ docType: z.array(text).max(64).optional(), certificateProfile: z.array(text).max(64).optional() })
  .meta({ id: 'VicalEntryComplementaryMetadata' });

const storedCertificateId = z.string().regex(CHILD_ID, 'must be 1-64 characters of [A-Za-z0-9_-]').optional();

export const CreateIacaRequest = z
  .object({
    storedCertificateId,
    certificateData: IacaCertificateData,
    vicalEntryComplementaryMetadata: VicalEntryComplementaryMetadata.optional(),
    iacaKeyDesc: KeyDescriptor,
  })
  .meta({ id: 'CreateIacaRequest' });

export const IacaSignerDescriptor = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('iaca-cert-data-descriptor'), iacaKeyDesc: KeyDescriptor, certificateData: IacaCertificateData }),
    z.object({ type: z.literal('iaca-pem-cert-descriptor'), iacaPemEncodedCertificate: z.string().max(16_384), iacaKeyDesc: KeyDescriptor }),
  ])
  .meta({ id: 'IacaSigner' });

export const PublicKeySource = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('key-descriptor'), keyDescriptor: KeyDescriptor }),
    z.object({ type: z.literal('csr'), csr: z.string().max(16_384).meta({ description: 'PKCS #10 certificate request, PEM; its signature is verified' }) }),
  ])
  .meta({ id: 'PublicKeySource' });

export const CreateDocumentSignerRequest = z
  .object({
    storedCertificateId,
    iacaSigner: IacaSignerDescriptor,
    certificateData: DocumentSignerCertificateData,
    dsPublicKeySource: PublicKeySource.optional(),
    dsKeyDescriptor: KeyDescriptor.optional().meta({ description: 'Legacy: the same as dsPublicKeySource {type: key-descriptor}' }),
  })
  .refine((b) => (b.dsPublicKeySource === undefined) !== (b.dsKeyDescriptor === undefined), { message: 'give exactly one of dsPublicKeySource and dsKeyDescriptor', path: ['dsPublicKeySource'] })
  .meta({ id: 'CreateDocumentSignerRequest' });

export const TargetParams = z.object({
  target: z.string().regex(SERVICE_PATH).meta({ description: 'The X.509 service path {organization}.{tenant}.{x509Service}, e.g. test.tenant1.x509-service-1' }),
});

const outInstant = z.string().meta({ description: 'ISO 8601, whole seconds' });
const outName = { country: z.string(), commonName: z.string(), stateOrProvinceName: z.string().optional(), organizationName: z.string().optional() };

/** The seed's answer: the PEM, the stored paths (only with an attached store), and the request's data with the validity it got. */
const certificateResponse = <T extends z.ZodRawShape>(id: string, data: T) =>
  z.object({ certificatePEM: z.string(), storedCertificateIds: z.array(z.string()).optional(), certificateData: z.object({ ...outName, notBefore: outInstant, notAfter: outInstant, ...data }) }).meta({ id });

export const IacaResponse = certificateResponse('IacaResponse', {
  issuerAlternativeNameConf: z.object({ uri: z.string().optional(), email: z.string().optional() }),
  crlDistributionPointUri: z.string().optional(),
}).extend({ crlUri: z.string().optional().meta({ description: 'Addition to seed 003: where this service serves the IACA\'s CRL (only for an IACA with a kms-hosted key)' }) });

export const DocumentSignerResponse = certificateResponse('DocumentSignerResponse', { localityName: z.string().optional(), crlDistributionPointUri: z.string() });

export const RevokeDocumentSignerRequest = z
  .object({
    serialNumber: z.string().regex(/^(?:[0-9A-Fa-f]{2}:?){1,20}$/, 'must be the certificate serial in hex (colons allowed)').optional(),
    certificatePEM: z.string().max(16_384).optional(),
    reason: z.enum(REVOCATION_REASONS).default('unspecified').meta({ description: 'RFC 5280 §5.3.1 reason code' }),
  })
  .refine((b) => (b.serialNumber === undefined) !== (b.certificatePEM === undefined), { message: 'give exactly one of serialNumber and certificatePEM', path: ['serialNumber'] })
  .meta({ id: 'RevokeDocumentSignerRequest' });

export const RevokeDocumentSignerResponse = z
  .object({ serialNumber: z.string(), revokedAt: outInstant, reason: z.string(), crlUri: z.string(), crlNumber: z.string() })
  .meta({ id: 'RevokeDocumentSignerResponse' });

export const RevokeIssuerDocumentSignerResponse = RevokeDocumentSignerResponse.extend({
  replacedBy: z.object({ kid: z.string(), serialNumber: z.string() }).optional().meta({ description: 'The new active Document Signer, when the revoked one was active' }),
}).meta({ id: 'RevokeIssuerDocumentSignerResponse' });

export const CrlParams = z.object({ iacaId: z.string().regex(/^[A-Za-z0-9_-]{22}$/) });

import { z } from 'zod';
import { KEY_USAGES } from '../../x509/generic-certificate';
import { CHILD_ID } from '../../kms/resource-paths';
import { KeyDescriptor, PublicKeySource } from './x509-schemas';

/** Schemas of seed 003 "Create a generic certificate" (docs/conventions.md, X.509 service). */

const text = z.string().trim().min(1).max(256);
const instant = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
const list = <T extends z.ZodType>(item: T) => z.array(item).min(1).max(32);

export const NameFields = z
  .object({
    commonName: text.optional(),
    country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code (two capital letters)').optional(),
    stateOrProvinceName: text.optional(),
    localityName: text.optional(),
    organizationName: text.optional(),
    organizationalUnitName: text.optional(),
  })
  .refine((n) => Object.values(n).some((v) => v !== undefined), { message: 'needs at least one field (commonName, country, organizationName, ...)' })
  .meta({ id: 'DistinguishedName' });

const dnsName = z.string().max(253).regex(/^(\*\.)?([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/, 'must be a DNS name');
const oid = z.string().max(128).regex(/^[0-2](\.(0|[1-9][0-9]*))+$/, 'must be a dotted OID such as 1.3.6.1.5.5.7.3.2');

export const GenericCertificateData = z
  .object({
    subjectName: NameFields,
    issuerName: NameFields.optional().meta({ description: 'Default: the subject name (self-signed), or the subject of the certificate this service issued for the issuer key (ca-signed)' }),
    notBefore: instant.optional(),
    notAfter: instant.optional(),
    isCertificateAuthority: z.boolean().default(false),
    pathLengthConstraint: z.number().int().min(0).max(32).optional(),
    keyUsage: z
      .array(z.enum(KEY_USAGES))
      .max(KEY_USAGES.length * 2)
      .default([])
      .transform((u) => [...new Set(u)]),
    extendedKeyUsageOids: list(oid).optional(),
    subjectAlternativeNames: z
      .object({ dnsNames: list(dnsName).optional(), uris: list(z.url().max(2048)).optional(), emails: list(z.email().max(256)).optional(), ipAddresses: list(z.string().max(45)).optional() })
      .optional(),
    crlDistributionPointUri: z.url().max(2048).optional(),
  })
  .meta({ id: 'GenericCertificateData', description: 'Defaults: notBefore now, notAfter 365 days later' });

export const CertificateIssuer = z
  .discriminatedUnion('type', [z.object({ type: z.literal('self-signed') }), z.object({ type: z.literal('ca-signed'), issuerKeyDescriptor: KeyDescriptor })])
  .meta({ id: 'CertificateIssuer' });

export const CreateCertificateRequest = z
  .object({
    storedCertificateId: z.string().regex(CHILD_ID, 'must be 1-64 characters of [A-Za-z0-9_-]').optional(),
    certificateData: GenericCertificateData,
    subjectPublicKeySource: PublicKeySource,
    issuer: CertificateIssuer,
  })
  .meta({ id: 'CreateCertificateRequest' });

const outName = z.object({
  commonName: z.string().optional(),
  country: z.string().optional(),
  stateOrProvinceName: z.string().optional(),
  localityName: z.string().optional(),
  organizationName: z.string().optional(),
  organizationalUnitName: z.string().optional(),
});

export const CertificateResponse = z
  .object({
    storedCertificateIds: z.array(z.string()).optional(),
    certificatePEM: z.string(),
    certificateData: z.object({
      subjectName: outName,
      issuerName: outName,
      notBefore: z.string(),
      notAfter: z.string(),
      isCertificateAuthority: z.boolean(),
      pathLengthConstraint: z.number().optional(),
      keyUsage: z.array(z.enum(KEY_USAGES)),
      extendedKeyUsageOids: z.array(z.string()).optional(),
      subjectAlternativeNames: z.record(z.string(), z.array(z.string())).optional(),
      crlDistributionPointUri: z.string().optional(),
      publicKeyJwk: z.record(z.string(), z.string()),
    }),
  })
  .meta({ id: 'CertificateResponse' });

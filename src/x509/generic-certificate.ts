import { isIP } from 'node:net';
import { keyTypeInfo } from '../kms/kms-key-types';
import type { SigningKey } from '../kms/kms-service';
import type { SubjectKey } from './key-descriptors';
import { DAY_MS, distinguishedName, keyIdentifierOf, type NameFields, randomSerial, startOfValidity, wholeSeconds, x509, x509Crypto, X509RequestError } from './x509-support';

/**
 * Generic certificates (seed 003 "Create a generic certificate"): the caller chooses subject,
 * issuer name, validity, CA constraints, key usage, extended key usage, subject alternative names
 * and the CRL distribution point; the service enforces RFC 5280's rules between them:
 *
 * - basicConstraints is always present and critical for a CA (§4.2.1.9); `pathLengthConstraint`
 *   only with `isCertificateAuthority` (§4.2.1.9); keyCertSign only for a CA (§4.2.1.3);
 * - keyUsage, when given, is critical (§4.2.1.3); extendedKeyUsage is not (§4.2.1.12);
 * - subjectKeyIdentifier always (§4.2.1.2); authorityKeyIdentifier on CA-signed certificates
 *   (§4.2.1.1), the issuer certificate's SKI when the service knows it;
 * - validity defaults to now and 365 days later.
 */
export const KEY_USAGES = ['DigitalSignature', 'NonRepudiation', 'KeyEncipherment', 'DataEncipherment', 'KeyAgreement', 'KeyCertSign', 'CRLSign', 'EncipherOnly', 'DecipherOnly'] as const;
export type KeyUsageName = (typeof KEY_USAGES)[number];

const FLAGS: Record<KeyUsageName, x509.KeyUsageFlags> = {
  DigitalSignature: x509.KeyUsageFlags.digitalSignature,
  NonRepudiation: x509.KeyUsageFlags.nonRepudiation,
  KeyEncipherment: x509.KeyUsageFlags.keyEncipherment,
  DataEncipherment: x509.KeyUsageFlags.dataEncipherment,
  KeyAgreement: x509.KeyUsageFlags.keyAgreement,
  KeyCertSign: x509.KeyUsageFlags.keyCertSign,
  CRLSign: x509.KeyUsageFlags.cRLSign,
  EncipherOnly: x509.KeyUsageFlags.encipherOnly,
  DecipherOnly: x509.KeyUsageFlags.decipherOnly,
};

export const GENERIC_DEFAULT_VALIDITY_DAYS = 365;

export interface SubjectAlternativeNames {
  dnsNames?: string[] | undefined;
  uris?: string[] | undefined;
  emails?: string[] | undefined;
  ipAddresses?: string[] | undefined;
}

export interface GenericCertificateData {
  subjectName: NameFields;
  issuerName?: NameFields | undefined;
  notBefore?: Date | undefined;
  notAfter?: Date | undefined;
  isCertificateAuthority: boolean;
  pathLengthConstraint?: number | undefined;
  keyUsage: KeyUsageName[];
  extendedKeyUsageOids?: string[] | undefined;
  subjectAlternativeNames?: SubjectAlternativeNames | undefined;
  crlDistributionPointUri?: string | undefined;
}

/** Who signs: the subject key itself, or a CA key with (optionally) the certificate the service issued for it. */
export type GenericIssuer =
  | { type: 'self-signed'; key: SigningKey }
  | { type: 'ca-signed'; key: SigningKey; certificatePem?: string | null | undefined };

export interface IssuedGenericCertificate {
  certificatePem: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  issuerName: NameFields;
}

const FIELD_OF: Record<string, keyof NameFields> = { C: 'country', ST: 'stateOrProvinceName', L: 'localityName', O: 'organizationName', OU: 'organizationalUnitName', CN: 'commonName' };

/** The fields of a certificate name the service knows (others are kept in the certificate but not reported). */
function nameFieldsOf(name: x509.Name): NameFields {
  const fields: NameFields = {};
  for (const rdn of name.toJSON()) for (const [type, values] of Object.entries(rdn)) if (FIELD_OF[type] && values[0] !== undefined) fields[FIELD_OF[type]] = values[0];
  return fields;
}

function subjectAltNames(san: SubjectAlternativeNames): x509.JsonGeneralNames {
  for (const [i, ip] of (san.ipAddresses ?? []).entries()) if (isIP(ip) === 0) throw new X509RequestError(`certificateData.subjectAlternativeNames.ipAddresses.${i}`, 'is not an IPv4 or IPv6 address');
  return [
    ...(san.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(san.uris ?? []).map((value) => ({ type: 'url' as const, value })),
    ...(san.emails ?? []).map((value) => ({ type: 'email' as const, value })),
    ...(san.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
}

/** The issuer's name and key identifier: from the request, else from the issuer's certificate, else (self-signed) the subject's. */
async function issuerOf(data: GenericCertificateData, issuer: GenericIssuer): Promise<{ name: x509.JsonName; fields: NameFields; keyIdentifier: string }> {
  const computed = () => keyIdentifierOf(issuer.key.publicKey);
  if (issuer.type === 'self-signed') {
    const fields = data.issuerName ?? data.subjectName;
    return { name: distinguishedName(fields), fields, keyIdentifier: await computed() };
  }
  const certificate = issuer.certificatePem ? new x509.X509Certificate(issuer.certificatePem) : undefined;
  const keyIdentifier = certificate?.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId ?? (await computed());
  if (data.issuerName) return { name: distinguishedName(data.issuerName), fields: data.issuerName, keyIdentifier };
  if (!certificate) throw new X509RequestError('certificateData.issuerName', 'is required when the issuer key has no certificate issued by this service');
  return { name: certificate.subjectName.toJSON(), fields: nameFieldsOf(certificate.subjectName), keyIdentifier };
}

export async function issueGenericCertificate(data: GenericCertificateData, subject: SubjectKey, issuer: GenericIssuer, now: Date = new Date()): Promise<IssuedGenericCertificate> {
  if (data.pathLengthConstraint !== undefined && !data.isCertificateAuthority) throw new X509RequestError('certificateData.pathLengthConstraint', 'only a CA certificate has a path length constraint (RFC 5280 §4.2.1.9)');
  if (data.keyUsage.includes('KeyCertSign') && !data.isCertificateAuthority) throw new X509RequestError('certificateData.keyUsage', 'KeyCertSign needs isCertificateAuthority (RFC 5280 §4.2.1.3)');
  if ((data.keyUsage.includes('EncipherOnly') || data.keyUsage.includes('DecipherOnly')) && !data.keyUsage.includes('KeyAgreement')) {
    throw new X509RequestError('certificateData.keyUsage', 'EncipherOnly and DecipherOnly need KeyAgreement (RFC 5280 §4.2.1.3)');
  }
  const notBefore = data.notBefore ? wholeSeconds(data.notBefore) : startOfValidity(now);
  const notAfter = data.notAfter ? wholeSeconds(data.notAfter) : new Date(notBefore.getTime() + GENERIC_DEFAULT_VALIDITY_DAYS * DAY_MS);
  if (notAfter <= notBefore) throw new X509RequestError('certificateData.notAfter', 'must be after notBefore');
  const san = data.subjectAlternativeNames ? subjectAltNames(data.subjectAlternativeNames) : [];
  const { name: issuerName, fields, keyIdentifier } = await issuerOf(data, issuer);
  const usage = data.keyUsage.reduce((flags, u) => flags | FLAGS[u], 0);
  const serialNumber = randomSerial();
  const certificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber,
      subject: distinguishedName(data.subjectName),
      issuer: issuerName,
      notBefore,
      notAfter,
      publicKey: subject.publicKey,
      signingKey: issuer.key.privateKey,
      signingAlgorithm: keyTypeInfo(issuer.key.keyType).signingAlgorithm,
      extensions: [
        new x509.BasicConstraintsExtension(data.isCertificateAuthority, data.pathLengthConstraint, true),
        ...(usage ? [new x509.KeyUsagesExtension(usage, true)] : []),
        ...(data.extendedKeyUsageOids?.length ? [new x509.ExtendedKeyUsageExtension(data.extendedKeyUsageOids, false)] : []),
        await x509.SubjectKeyIdentifierExtension.create(subject.publicKey, false, x509Crypto),
        ...(issuer.type === 'ca-signed' ? [new x509.AuthorityKeyIdentifierExtension(keyIdentifier, false)] : []),
        ...(san.length ? [new x509.SubjectAlternativeNameExtension(san, false)] : []),
        ...(data.crlDistributionPointUri ? [new x509.CRLDistributionPointsExtension([data.crlDistributionPointUri], false)] : []),
      ],
    },
    x509Crypto,
  );
  return { certificatePem: certificate.toString('pem'), serialNumber, notBefore, notAfter, issuerName: fields };
}

import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { keyTypeInfo, KmsPublicJwkSchema, sameKey } from '../kms/kms-key-types';
import type { SigningKey } from '../kms/kms-service';
import type { SubjectKey } from './key-descriptors';
import { DAY_MS, distinguishedName, keyIdentifierOf, randomSerial, startOfValidity, wholeSeconds, x509, x509Crypto, X509RequestError } from './x509-support';

/**
 * The certificate profiles of ISO/IEC 18013-5:2021 Annex B for mdoc issuers, enforced:
 *
 * - IACA root (B.1.2): self-signed; subject with C (ISO 3166-1 alpha-2) and CN; basicConstraints
 *   CA:TRUE pathLen 0 and keyUsage keyCertSign + cRLSign, both critical; subjectKeyIdentifier;
 *   issuerAltName (URI or e-mail); validity at most 20 years.
 * - Document Signer (B.1.4): issued by the IACA; C (and ST, if the IACA has one) equal to the IACA's;
 *   keyUsage digitalSignature and extendedKeyUsage 1.0.18013.5.1.2 (id-mdl-kp-mdlDS), both critical;
 *   authorityKeyIdentifier = the IACA's subjectKeyIdentifier; subjectKeyIdentifier; issuerAltName as
 *   the IACA's; cRLDistributionPoints; validity at most 457 days and inside the IACA's.
 *
 * Both get a positive serial of 126 random bits. Everything is built with @peculiar/x509; no DER by hand.
 */
export const MDL_DS_EXTENDED_KEY_USAGE = '1.0.18013.5.1.2';
export const IACA_MAX_VALIDITY_YEARS = 20;
export const DS_MAX_VALIDITY_DAYS = 457;
/** Defaults when the request gives no notAfter. */
export const IACA_DEFAULT_VALIDITY_YEARS = 15;
export const DS_DEFAULT_VALIDITY_DAYS = 365;

export interface IssuerAlternativeName {
  uri?: string | undefined;
  email?: string | undefined;
}

export interface IacaCertificateData {
  country: string;
  commonName: string;
  stateOrProvinceName?: string | undefined;
  organizationName?: string | undefined;
  notBefore?: Date | undefined;
  notAfter?: Date | undefined;
  issuerAlternativeNameConf: IssuerAlternativeName;
  crlDistributionPointUri?: string | undefined;
}

export interface DocumentSignerCertificateData {
  country: string;
  commonName: string;
  stateOrProvinceName?: string | undefined;
  organizationName?: string | undefined;
  localityName?: string | undefined;
  notBefore?: Date | undefined;
  notAfter?: Date | undefined;
  crlDistributionPointUri: string;
}

export interface IssuedCertificate {
  certificatePem: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
}

/** The IACA a Document Signer is issued under: its name, key, validity and what the DS copies from it. */
export interface IacaSigner {
  name: x509.Name;
  country: string;
  stateOrProvinceName: string | undefined;
  notBefore: Date | undefined;
  notAfter: Date | undefined;
  issuerAltName: x509.JsonGeneralNames;
  /** Hex subjectKeyIdentifier of the IACA, the DS's authorityKeyIdentifier. */
  keyIdentifier: string;
  key: SigningKey;
}

const addYears = (date: Date, years: number) => {
  const d = new Date(date);
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d;
};


const generalNames = (alt: IssuerAlternativeName): x509.JsonGeneralNames => [
  ...(alt.uri ? [{ type: 'url' as const, value: alt.uri }] : []),
  ...(alt.email ? [{ type: 'email' as const, value: alt.email }] : []),
];

/** notBefore/notAfter from the request or the defaults, checked against the profile's limit. */
function validity(path: string, requested: { notBefore?: Date | undefined; notAfter?: Date | undefined }, now: Date, defaultEnd: (from: Date) => Date, maxEnd: (from: Date) => Date, limit: string) {
  const notBefore = requested.notBefore ? wholeSeconds(requested.notBefore) : startOfValidity(now);
  const notAfter = requested.notAfter ? wholeSeconds(requested.notAfter) : defaultEnd(notBefore);
  if (notAfter <= notBefore) throw new X509RequestError(`${path}.notAfter`, 'must be after notBefore');
  if (notAfter > maxEnd(notBefore)) throw new X509RequestError(`${path}.notAfter`, `the validity exceeds ${limit} (ISO/IEC 18013-5 Annex B)`);
  if (notAfter <= now) throw new X509RequestError(`${path}.notAfter`, 'is already in the past');
  return { notBefore, notAfter };
}

const iacaLimit = (from: Date) => addYears(from, IACA_MAX_VALIDITY_YEARS);

/** Issues a self-signed IACA root certificate with the key `key`. */
export async function issueIaca(data: IacaCertificateData, key: SigningKey, now: Date = new Date()): Promise<IssuedCertificate> {
  const { notBefore, notAfter } = validity('certificateData', data, now, (from) => addYears(from, IACA_DEFAULT_VALIDITY_YEARS), iacaLimit, `${IACA_MAX_VALIDITY_YEARS} years`);
  const altNames = generalNames(data.issuerAlternativeNameConf);
  if (altNames.length === 0) throw new X509RequestError('certificateData.issuerAlternativeNameConf', 'needs a uri or an email (the IACA issuerAltName is mandatory)');
  const serialNumber = randomSerial();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber,
      name: distinguishedName(data),
      notBefore,
      notAfter,
      keys: { publicKey: key.publicKey, privateKey: key.privateKey },
      signingAlgorithm: keyTypeInfo(key.keyType).signingAlgorithm,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(key.publicKey, false, x509Crypto),
        new x509.IssuerAlternativeNameExtension(altNames, false),
        ...(data.crlDistributionPointUri ? [new x509.CRLDistributionPointsExtension([data.crlDistributionPointUri], false)] : []),
      ],
    },
    x509Crypto,
  );
  return { certificatePem: certificate.toString('pem'), serialNumber, notBefore, notAfter };
}

/** The IACA of an `iaca-cert-data-descriptor`: its name and issuerAltName rebuilt from the data it was issued with. */
export async function iacaSignerFromData(data: IacaCertificateData, key: SigningKey): Promise<IacaSigner> {
  const issuerAltName = generalNames(data.issuerAlternativeNameConf);
  if (issuerAltName.length === 0) throw new X509RequestError('iacaSigner.certificateData.issuerAlternativeNameConf', 'needs a uri or an email');
  return {
    name: new x509.Name(distinguishedName(data)),
    country: data.country,
    stateOrProvinceName: data.stateOrProvinceName,
    notBefore: data.notBefore && wholeSeconds(data.notBefore),
    notAfter: data.notAfter && wholeSeconds(data.notAfter),
    issuerAltName,
    keyIdentifier: await keyIdentifierOf(key.publicKey),
    key,
  };
}

/**
 * The IACA of an `iaca-pem-cert-descriptor`: read from its certificate, which must be a CA allowed
 * to sign certificates (basicConstraints cA, keyUsage keyCertSign) and certify `key`.
 */
export async function iacaSignerFromPem(pem: string, key: SigningKey): Promise<IacaSigner> {
  const path = 'iacaSigner.iacaPemEncodedCertificate';
  let certificate: x509.X509Certificate;
  let certifiedJwk: unknown;
  try {
    certificate = new x509.X509Certificate(pem);
    certifiedJwk = new NodeX509Certificate(pem).publicKey.export({ format: 'jwk' });
  } catch (cause) {
    throw new X509RequestError(path, 'is not a PEM X.509 certificate', { cause });
  }
  const certified = KmsPublicJwkSchema.safeParse(certifiedJwk);
  if (!certified.success || !sameKey(certified.data, key.publicJwk)) throw new X509RequestError('iacaSigner.iacaKeyDesc', 'the key does not match the IACA certificate\'s public key');
  const basic = certificate.getExtension(x509.BasicConstraintsExtension);
  const usage = certificate.getExtension(x509.KeyUsagesExtension);
  if (!basic?.ca || !usage || (usage.usages & x509.KeyUsageFlags.keyCertSign) === 0) throw new X509RequestError(path, 'is not a CA certificate with keyUsage keyCertSign (an IACA, ISO/IEC 18013-5 Annex B)');
  const country = certificate.subjectName.getField('C')[0];
  if (!country) throw new X509RequestError(path, 'has no country (C) in its subject');
  const ski = certificate.getExtension(x509.SubjectKeyIdentifierExtension);
  const ian = certificate.getExtension(x509.IssuerAlternativeNameExtension);
  if (!ian) throw new X509RequestError(path, 'has no issuerAltName (mandatory for an IACA)');
  return {
    name: certificate.subjectName,
    country,
    stateOrProvinceName: certificate.subjectName.getField('ST')[0],
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    issuerAltName: ian.names.toJSON(),
    keyIdentifier: ski?.keyId ?? (await keyIdentifierOf(key.publicKey)),
    key,
  };
}

/** Issues a Document Signer certificate for `subject` under `iaca`. */
export async function issueDocumentSigner(iaca: IacaSigner, data: DocumentSignerCertificateData, subject: SubjectKey, now: Date = new Date()): Promise<IssuedCertificate> {
  if (data.country !== iaca.country) throw new X509RequestError('certificateData.country', `must be the IACA's country (${iaca.country}), ISO/IEC 18013-5 Annex B`);
  if (iaca.stateOrProvinceName && data.stateOrProvinceName !== iaca.stateOrProvinceName) throw new X509RequestError('certificateData.stateOrProvinceName', `must be the IACA's (${iaca.stateOrProvinceName})`);
  const dsLimit = (from: Date) => new Date(from.getTime() + DS_MAX_VALIDITY_DAYS * DAY_MS);
  const defaultEnd = (from: Date) => {
    const end = new Date(from.getTime() + DS_DEFAULT_VALIDITY_DAYS * DAY_MS);
    return iaca.notAfter && end > iaca.notAfter ? iaca.notAfter : end;
  };
  const { notBefore, notAfter } = validity('certificateData', data, now, defaultEnd, dsLimit, `${DS_MAX_VALIDITY_DAYS} days`);
  if (iaca.notBefore && notBefore < iaca.notBefore) throw new X509RequestError('certificateData.notBefore', 'is before the IACA\'s notBefore');
  if (iaca.notAfter && notAfter > iaca.notAfter) throw new X509RequestError('certificateData.notAfter', 'is after the IACA\'s notAfter');
  const serialNumber = randomSerial();
  const certificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber,
      subject: distinguishedName(data),
      issuer: iaca.name,
      notBefore,
      notAfter,
      publicKey: subject.publicKey,
      signingKey: iaca.key.privateKey,
      signingAlgorithm: keyTypeInfo(iaca.key.keyType).signingAlgorithm,
      extensions: [
        new x509.AuthorityKeyIdentifierExtension(iaca.keyIdentifier, false),
        await x509.SubjectKeyIdentifierExtension.create(subject.publicKey, false, x509Crypto),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([MDL_DS_EXTENDED_KEY_USAGE], true),
        new x509.IssuerAlternativeNameExtension(iaca.issuerAltName, false),
        new x509.CRLDistributionPointsExtension([data.crlDistributionPointUri], false),
      ],
    },
    x509Crypto,
  );
  return { certificatePem: certificate.toString('pem'), serialNumber, notBefore, notAfter };
}

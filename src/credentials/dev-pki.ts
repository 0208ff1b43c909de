// @peculiar/x509 2.x resolves its algorithm providers through tsyringe, which needs the Reflect
// metadata polyfill loaded first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { crlPath, issuerIacaId, randomSerial, startOfValidity } from '../x509/x509-support';
import { Es256PrivateJwkSchema, es256Thumbprint, type Es256PrivateJwk } from './signer';

/**
 * Development PKI for mdoc: an IACA (the root verifiers trust) and a Document Signer (the key that
 * signs MSOs), following the certificate profiles of ISO/IEC 18013-5:2021 Annex B as far as a
 * development setup can: ECDSA P-256 with SHA-256, C=SE on both (an mDL's `issuing_country` must equal
 * the DS country), IACA basicConstraints CA pathLen 0 and keyUsage keyCertSign+cRLSign (both critical),
 * DS keyUsage digitalSignature and extKeyUsage 1.0.18013.5.1.2 (both critical), subject/authority key
 * identifiers, issuerAltName and cRLDistributionPoints (the IACA's CRL at
 * `$ISSUER_URL/x509/crls/<first 22 characters of the IACA kid>.crl`, which the X.509 service serves once
 * the key store has recorded the pair there). Creation only: storing them (private keys encrypted with
 * key-encryption.ts) is the caller's job. Development only: the key store never creates one for a production
 * configuration (key-store.ts `devPki`), where mso_mdoc types need an IACA provisioned from a real PKI.
 */

/** id-mdl-kp-mdlDS, ISO/IEC 18013-5 Annex B.1.4. */
export const MDL_DS_EXTENDED_KEY_USAGE = '1.0.18013.5.1.2';

export interface DevPkiOptions {
  /** ISO 3166-1 alpha-2 country of both certificates; default `SE` (the dev authentic source's country). */
  country?: string;
  /** Organisation name in both subjects. */
  organization?: string;
  /** Base URL used for issuerAltName (URI) and the CRL distribution point; default http://localhost:8080. */
  issuerUrl?: string;
  /** Start of validity; default now. */
  now?: Date;
  /** IACA validity in days; default 5 years (Annex B allows up to 20 years). */
  iacaValidityDays?: number;
  /** Document Signer validity in days; default 365 (Annex B allows up to 457 days). */
  documentSignerValidityDays?: number;
}

export interface CertifiedKey {
  certificatePem: string;
  /** The private key, for encrypted storage. Never log or return it. */
  privateJwk: Es256PrivateJwk;
  /** RFC 7638 thumbprint of the public key. */
  kid: string;
  notBefore: Date;
  notAfter: Date;
}

export interface DocumentSignerKey extends CertifiedKey {
  /** The `x5c` / `x5chain` to sign with: base64 DER of the DS certificate only (the IACA is the verifier's trust anchor). */
  x5c: string[];
}

export interface DevPki {
  iaca: CertifiedKey;
  documentSigner: DocumentSignerKey;
}

const DAY_MS = 86_400_000;
const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
// @peculiar/x509 types its provider as the DOM `Crypto`; Node's webcrypto implements it.
const crypto = webcrypto as unknown as Parameters<typeof x509.X509CertificateGenerator.create>[1] & webcrypto.Crypto;

/** Creates an IACA and a Document Signer issued by it. */
export async function createDevPki(opts: DevPkiOptions = {}): Promise<DevPki> {
  const country = opts.country ?? 'SE';
  const organization = opts.organization ?? 'Durable Issuer (development)';
  const issuerUrl = (opts.issuerUrl ?? 'http://localhost:8080').replace(/\/+$/, '');
  const notBefore = startOfValidity(opts.now);
  const notAfter = new Date(notBefore.getTime() + (opts.iacaValidityDays ?? 5 * 365) * DAY_MS);

  const keys = (await crypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const privateJwk = Es256PrivateJwkSchema.parse(await crypto.subtle.exportKey('jwk', keys.privateKey));
  const kid = await es256Thumbprint({ kty: 'EC', crv: 'P-256', x: privateJwk.x, y: privateJwk.y });
  const name: x509.JsonName = [{ C: [country] }, { O: [organization] }, { CN: [`${organization} IACA`] }];
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name,
      notBefore,
      notAfter,
      keys,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        new x509.IssuerAlternativeNameExtension([{ type: 'url', value: issuerUrl }], false),
        // The CRL the X.509 service serves for this IACA (it records the issuer's IACAs at start).
        new x509.CRLDistributionPointsExtension([`${issuerUrl}${crlPath(issuerIacaId(kid))}`], false),
      ],
    },
    crypto,
  );
  const iaca: CertifiedKey = {
    certificatePem: certificate.toString('pem'),
    privateJwk,
    kid,
    notBefore,
    notAfter,
  };
  const documentSigner = await createDocumentSigner(iaca, {
    issuerUrl,
    now: notBefore,
    ...(opts.documentSignerValidityDays !== undefined ? { validityDays: opts.documentSignerValidityDays } : {}),
  });
  return { iaca, documentSigner };
}

export interface DocumentSignerOptions {
  /** Base URL for issuerAltName and the CRL distribution point; default http://localhost:8080. */
  issuerUrl?: string;
  /** Common name; default "<IACA organisation> Document Signer". */
  commonName?: string;
  now?: Date;
  /** Default 365 days; capped at the IACA's notAfter. */
  validityDays?: number;
}

/** Issues a new Document Signer under an existing IACA (rotation keeps the IACA, verifiers' trust anchor). */
export async function createDocumentSigner(
  iaca: Pick<CertifiedKey, 'certificatePem' | 'privateJwk'>,
  opts: DocumentSignerOptions = {},
): Promise<DocumentSignerKey> {
  const issuerUrl = (opts.issuerUrl ?? 'http://localhost:8080').replace(/\/+$/, '');
  const iacaCertificate = new x509.X509Certificate(iaca.certificatePem);
  const country = iacaCertificate.subjectName.getField('C')[0];
  const organization = iacaCertificate.subjectName.getField('O')[0] ?? 'Durable Issuer (development)';
  if (!country) throw new Error('the IACA certificate has no country (C) in its subject');
  const notBefore = startOfValidity(opts.now);
  const requested = new Date(notBefore.getTime() + (opts.validityDays ?? 365) * DAY_MS);
  const notAfter = requested > iacaCertificate.notAfter ? iacaCertificate.notAfter : requested;

  const iacaKey = await crypto.subtle.importKey('jwk', { ...iaca.privateJwk, ext: true }, ECDSA_P256, false, ['sign']);
  const iacaKid = await es256Thumbprint({ kty: 'EC', crv: 'P-256', x: iaca.privateJwk.x, y: iaca.privateJwk.y });
  const keys = (await crypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: [{ C: [country] }, { O: [organization] }, { CN: [opts.commonName ?? `${organization} Document Signer`] }],
      issuer: iacaCertificate.subjectName,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: iacaKey,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        await x509.AuthorityKeyIdentifierExtension.create(iacaCertificate.publicKey, false, crypto),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([MDL_DS_EXTENDED_KEY_USAGE], true),
        new x509.IssuerAlternativeNameExtension([{ type: 'url', value: issuerUrl }], false),
        new x509.CRLDistributionPointsExtension([`${issuerUrl}${crlPath(issuerIacaId(iacaKid))}`], false),
      ],
    },
    crypto,
  );
  const privateJwk = Es256PrivateJwkSchema.parse(await crypto.subtle.exportKey('jwk', keys.privateKey));
  return {
    certificatePem: certificate.toString('pem'),
    privateJwk,
    kid: await es256Thumbprint({ kty: 'EC', crv: 'P-256', x: privateJwk.x, y: privateJwk.y }),
    notBefore,
    notAfter,
    x5c: [Buffer.from(certificate.rawData).toString('base64')],
  };
}

/** PEM certificate → base64 DER (the `x5c` element form). */
export function pemToBase64Der(pem: string): string {
  return Buffer.from(new x509.X509Certificate(pem).rawData).toString('base64');
}

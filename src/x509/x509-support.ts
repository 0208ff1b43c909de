// @peculiar/x509 2.x resolves its algorithm providers through tsyringe, which needs the Reflect
// metadata polyfill loaded first.
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/** @peculiar/x509 types its provider as the DOM `Crypto`; Node's webcrypto implements it. */
export const x509Crypto = webcrypto as unknown as Parameters<typeof x509.X509CertificateGenerator.create>[1] & webcrypto.Crypto;

/**
 * A positive, non-sequential serial of 16 random bytes: 126 random bits, more than the 63 that
 * ISO/IEC 18013-5 Annex B asks for, and under RFC 5280 §4.1.2.2's 20 octets.
 */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('hex');
}

/** A serial as the service stores it: lower-case hex, no separators, no leading zero octets beyond what keeps it positive. */
export function normaliseSerialHex(hex: string): string {
  let s = hex.toLowerCase().replace(/[^0-9a-f]/g, '');
  if (s.length % 2) s = `0${s}`;
  while (s.length > 2 && s.startsWith('00') && parseInt(s.slice(2, 4), 16) < 0x80) s = s.slice(2);
  return s;
}

/** Whole seconds (certificates carry no fractions), one minute in the past to tolerate verifier clock skew. */
export function startOfValidity(now: Date = new Date()): Date {
  return new Date(Math.floor(now.getTime() / 1000) * 1000 - 60_000);
}

/** A date cut to whole seconds, as a certificate stores it. */
export const wholeSeconds = (date: Date): Date => new Date(Math.floor(date.getTime() / 1000) * 1000);

/** `2025-05-28T12:23:01Z`: the timestamp form of the X.509 service's answers (no fraction, as a certificate has none). */
export const isoSeconds = (date: Date): string => wholeSeconds(date).toISOString().replace('.000Z', 'Z');

export const DAY_MS = 86_400_000;

/** The path of an IACA's CRL on the issuer's host (docs/conventions.md, X.509 service: CRLs). */
export const crlPath = (iacaId: string): string => `/x509/crls/${iacaId}.crl`;

/** The X.509 service's id of the issuer's own IACA whose `signing_keys` kid is `kid`: its first 22 characters (132 bits of the RFC 7638 thumbprint). */
export const issuerIacaId = (kid: string): string => kid.slice(0, 22);

/** The name fields the X.509 service reads (walt.id names), in the order they appear in a certificate's name. */
export interface NameFields {
  country?: string | undefined;
  stateOrProvinceName?: string | undefined;
  localityName?: string | undefined;
  organizationName?: string | undefined;
  organizationalUnitName?: string | undefined;
  commonName?: string | undefined;
}

const ATTRIBUTES: [keyof NameFields, string][] = [
  ['country', 'C'],
  ['stateOrProvinceName', 'ST'],
  ['localityName', 'L'],
  ['organizationName', 'O'],
  ['organizationalUnitName', 'OU'],
  ['commonName', 'CN'],
];

/** A distinguished name (RFC 5280 §4.1.2.4) of the given fields, one RDN each, country first. */
export const distinguishedName = (fields: NameFields): x509.JsonName => ATTRIBUTES.flatMap(([field, type]) => (fields[field] ? [{ [type]: [fields[field]] }] : []));

/** The subject key identifier of a key (RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey), hex, as @peculiar/x509 derives it. */
export async function keyIdentifierOf(publicKey: webcrypto.CryptoKey): Promise<string> {
  return (await x509.SubjectKeyIdentifierExtension.create(publicKey, false, x509Crypto)).keyId;
}

/** A request the X.509 service cannot fulfil as asked: the gateway answers 400 with `path` as the offending field. */
export class X509RequestError extends Error {
  override readonly name = 'X509RequestError';
  constructor(
    readonly path: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export { x509 };

import { deflateSync, gzipSync } from 'node:zlib';
import { Encoder, Tag } from 'cbor-x';
import type { CredentialSigner } from './signer';
import { createVc20JoseIssuer } from './vc20-jose-issuer';

/**
 * Status List encodings and their signed forms:
 * - IETF Token Status List (draft-ietf-oauth-status-list, §4 "Status List", §5 "Status List Token"):
 *   entries of `bits` bits packed from the least significant bit of byte 0 (§4.1: "the status of
 *   index 0 is in the least significant bits of the first byte"), ZLIB-compressed (RFC 1950 with
 *   DEFLATE, RFC 1951), as a JWT (`typ: statuslist+jwt`, §5.1, `lst` base64url) or as a CWT
 *   (`application/statuslist+cwt`, §5.2, `lst` a byte string).
 * - W3C Bitstring Status List v1.0 (§2.2, §3.1): one bit per entry, index 0 the most significant bit
 *   of the first byte, GZIP-compressed (RFC 1952), Multibase base64url without padding (`u` prefix),
 *   in a BitstringStatusListCredential secured with JOSE like our VC 2.0 credentials.
 */

/** Packs statuses as draft-ietf-oauth-status-list §4.1 does (LSB first within each byte). */
export function packTokenStatusList(size: number, bits: 1 | 2 | 4 | 8, entries: Iterable<{ idx: number; status: number }>): Uint8Array {
  const bytes = new Uint8Array(Math.ceil((size * bits) / 8));
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  for (const { idx, status } of entries) {
    const byte = Math.floor(idx / perByte);
    const shift = (idx % perByte) * bits;
    bytes[byte] = (bytes[byte]! & ~(mask << shift)) | ((status & mask) << shift);
  }
  return bytes;
}

/** Packs a Bitstring Status List (W3C v1.0 §3.1: index 0 is the left-most, most significant, bit of byte 0). */
export function packBitstring(size: number, entries: Iterable<{ idx: number; status: number }>): Uint8Array {
  const bytes = new Uint8Array(Math.ceil(size / 8));
  for (const { idx, status } of entries) if (status) bytes[idx >> 3]! |= 0x80 >> (idx & 7);
  return bytes;
}

/**
 * ZLIB (RFC 1950) compression of a packed list. The default level: level 9 (the draft's examples)
 * takes ~9x as long on a 1,000,000-entry list for a list ~3% smaller (bench/status-bench.ts), and any
 * level decodes the same.
 */
export const zlibStatusList = (packed: Uint8Array): Buffer => deflateSync(packed);

/** Bitstring Status List §3.1 `encodedList`: Multibase base64url (no padding) of the GZIP-compressed bitstring. */
export const encodeBitstring = (packed: Uint8Array): string => `u${gzipSync(packed).toString('base64url')}`;

export interface StatusListTokenClaims {
  /** §5.1 `sub`: the URI of this Status List Token (the `uri` in the Referenced Tokens). */
  sub: string;
  iat: number;
  exp: number;
  /** §5.1 `ttl`: seconds a relying party may cache the token before fetching it again. */
  ttl: number;
  bits: 1 | 2 | 4 | 8;
  /** The ZLIB-compressed list. */
  lst: Uint8Array;
  /** §9: where all Status List Tokens of this issuer are listed. */
  aggregationUri?: string;
}

const b64urlJson = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The Status List Token as a JWT (draft §5.1): header `typ: statuslist+jwt` and the signer's `kid`, which /.well-known/jwks.json publishes. */
export async function signStatusListJwt(signer: CredentialSigner, claims: StatusListTokenClaims): Promise<string> {
  const header = { alg: signer.alg, kid: signer.kid, typ: 'statuslist+jwt' };
  const payload = {
    sub: claims.sub,
    iat: claims.iat,
    exp: claims.exp,
    ttl: claims.ttl,
    status_list: { bits: claims.bits, lst: Buffer.from(claims.lst).toString('base64url'), ...(claims.aggregationUri ? { aggregation_uri: claims.aggregationUri } : {}) },
  };
  const signingInput = `${b64urlJson(header)}.${b64urlJson(payload)}`;
  const signature = await signer.sign(Buffer.from(signingInput, 'ascii'));
  return `${signingInput}.${Buffer.from(signature).toString('base64url')}`;
}

/** COSE header labels (RFC 9052 §3.1: 1 alg, 16 typ (RFC 9596); RFC 9360: 33 x5chain) and CWT claim keys (RFC 8392; draft §5.2). */
const COSE_ALG = 1;
const COSE_TYP = 16;
const COSE_X5CHAIN = 33;
const COSE_ES256 = -7;
const COSE_SIGN1_TAG = 18;
const CWT_SUB = 2;
const CWT_EXP = 4;
const CWT_IAT = 6;
const CWT_STATUS_LIST = 65533;
const CWT_TTL = 65534;

const cbor = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false, variableMapSize: true });

/**
 * The Status List Token as a CWT (draft §5.2): a COSE_Sign1_Tagged (RFC 9052 §4.2) with protected
 * header {1: -7, 16: "application/statuslist+cwt"}, unprotected {33: x5chain}, signed by the key of
 * the Document Signer, whose chain ends at the same IACA as the mdoc's (ISO/IEC 18013-5 trust model).
 */
export async function signStatusListCwt(signer: CredentialSigner, claims: StatusListTokenClaims): Promise<Uint8Array> {
  if (!signer.x5c?.length) throw new Error('the CWT Status List Token needs a signer with a certificate chain (x5c)');
  const chain = signer.x5c.map((b64) => new Uint8Array(Buffer.from(b64, 'base64')));
  const protectedHeader = cbor.encode(new Map<number, unknown>([[COSE_ALG, COSE_ES256], [COSE_TYP, 'application/statuslist+cwt']]));
  const statusList = new Map<string, unknown>([['bits', claims.bits], ['lst', new Uint8Array(claims.lst)]]);
  if (claims.aggregationUri) statusList.set('aggregation_uri', claims.aggregationUri);
  const payload = cbor.encode(
    new Map<number, unknown>([
      [CWT_SUB, claims.sub],
      [CWT_IAT, claims.iat],
      [CWT_EXP, claims.exp],
      [CWT_TTL, claims.ttl],
      [CWT_STATUS_LIST, statusList],
    ]),
  );
  // Sig_structure for COSE_Sign1 (RFC 9052 §4.4).
  const signature = await signer.sign(cbor.encode(['Signature1', protectedHeader, new Uint8Array(0), payload]));
  return cbor.encode(new Tag([protectedHeader, new Map([[COSE_X5CHAIN, chain.length === 1 ? chain[0] : chain]]), payload, signature], COSE_SIGN1_TAG));
}

export interface BitstringStatusListCredentialInput {
  /** The URL it is served at: the `statusListCredential` of the entries. */
  url: string;
  issuer: string;
  purpose: string;
  encodedList: string;
  validFrom: Date;
  validUntil: Date;
  /** Bitstring Status List §2.2 `ttl`, in milliseconds. */
  ttlMs: number;
}

/** The unsecured BitstringStatusListCredential (W3C v1.0 §2.2), the same for every securing mechanism. */
export function bitstringStatusListCredential(input: BitstringStatusListCredentialInput) {
  return {
    id: input.url,
    type: 'BitstringStatusListCredential',
    issuer: input.issuer,
    validFrom: input.validFrom,
    validUntil: input.validUntil,
    credentialSubject: { id: `${input.url}#list`, type: 'BitstringStatusList', statusPurpose: input.purpose, encodedList: input.encodedList, ttl: input.ttlMs },
  };
}

/** A BitstringStatusListCredential (W3C v1.0 §2.2) secured as `application/vc+jwt`, like our VC 2.0 credentials. */
export async function signBitstringStatusListCredential(signer: CredentialSigner, input: BitstringStatusListCredentialInput, now: () => Date): Promise<string> {
  const issued = await createVc20JoseIssuer({ signer, now }).issue(bitstringStatusListCredential(input));
  return issued.credential;
}

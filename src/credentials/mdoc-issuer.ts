import { X509Certificate, createHash, randomBytes, randomInt } from 'node:crypto';
import { Encoder, Tag } from 'cbor-x';
import { CredentialInputError } from './credential-errors';
import { holderJwkToCoseKey, holderKeyThumbprint, parseHolderJwk } from './holder-key';
import { isPlainObject } from './json-claims';
import type { CredentialSigner } from './signer';

/**
 * mdoc issuance (`mso_mdoc`), ISO/IEC 18013-5:2021 §9.1.2 and OpenID4VCI 1.0 Appendix A.2.
 *
 * Output is the IssuerSigned structure, CBOR-encoded and base64url'd as OpenID4VCI returns it:
 *
 *     IssuerSigned = { "nameSpaces": { ns: [ #6.24(bstr .cbor IssuerSignedItem) ] }, "issuerAuth": COSE_Sign1 }
 *     IssuerSignedItem = { "digestID": uint, "random": bstr (32 bytes), "elementIdentifier": tstr, "elementValue": any }
 *     issuerAuth = [ bstr .cbor {1: -7}, {33: x5chain}, bstr .cbor #6.24(bstr .cbor MSO), signature ]   (untagged COSE_Sign1, RFC 9052 §4.2)
 *     MSO = { version "1.0", digestAlgorithm "SHA-256", valueDigests { ns: { digestID: SHA-256(IssuerSignedItemBytes) } },
 *             deviceKeyInfo { deviceKey: COSE_Key }, docType, validityInfo { signed, validFrom, validUntil: tdate } }
 *
 * Every CBOR map is built as a `Map` (text keys where ISO names members, integer keys in COSE), and
 * the encoder never tags Uint8Arrays (cbor-x would otherwise emit tag 64 under Node), uses preferred
 * (shortest) length headers, and emits tdate as #6.0 without fractional seconds and full-date as #6.1004.
 */

export const MDL_DOCTYPE = 'org.iso.18013.5.1.mDL';
export const MDL_NAMESPACE = 'org.iso.18013.5.1';

/** How a data element's JSON input becomes CBOR. Elements without an entry are converted generically. */
export type MdocElementEncoding =
  /** `full-date = #6.1004(tstr)` (RFC 8943), from "YYYY-MM-DD" or an ISO date-time (date part kept). */
  | 'full-date'
  /** `tdate = #6.0(tstr)` (RFC 8949 §3.4.1), "YYYY-MM-DDTHH:MM:SSZ". */
  | 'tdate'
  /** `bstr`, from base64 or base64url text. */
  | 'bytes'
  /** `uint`, from a number or a decimal string. */
  | 'uint'
  /** ISO/IEC 18013-5 §7.2.4 DrivingPrivileges: array of { vehicle_category_code, issue_date?, expiry_date?, codes? }. */
  | 'driving-privileges';

export interface MdocDocTypeSpec {
  docType: string;
  /** The namespace the document's (flat) data elements are issued in. */
  nameSpace: string;
  /** Encodings of data elements that are not plain JSON types in CBOR. */
  elements?: Readonly<Record<string, MdocElementEncoding>>;
}

/** The mDL data elements of ISO/IEC 18013-5:2021 Table 5 that need more than a JSON-to-CBOR mapping. */
export const MDL_DOCTYPE_SPEC: MdocDocTypeSpec = Object.freeze({
  docType: MDL_DOCTYPE,
  nameSpace: MDL_NAMESPACE,
  elements: Object.freeze({
    birth_date: 'full-date',
    issue_date: 'full-date',
    expiry_date: 'full-date',
    portrait: 'bytes',
    portrait_capture_date: 'tdate',
    driving_privileges: 'driving-privileges',
    signature_usual_mark: 'bytes',
    biometric_template_face: 'bytes',
    biometric_template_finger: 'bytes',
    biometric_template_signature_sign: 'bytes',
    biometric_template_iris: 'bytes',
    sex: 'uint',
    height: 'uint',
    weight: 'uint',
    age_in_years: 'uint',
    age_birth_year: 'uint',
  } satisfies Record<string, MdocElementEncoding>),
});

export interface MdocIssuerDeps {
  /** Must carry the Document Signer certificate chain (`x5c`, leaf first). */
  signer: CredentialSigner;
  /** Additional doctypes (the mDL is always known); a spec for the mDL doctype replaces the built-in one. */
  docTypes?: readonly MdocDocTypeSpec[];
  /** Current time; injected for tests. */
  now?: () => Date;
}

export interface MdocIssueRequest {
  docType: string;
  /** The document's data elements by identifier (`document_data`), issued in the doctype's namespace. */
  claims: Record<string, unknown>;
  /** The holder's public JWK, bound as the MSO deviceKey. */
  holderJwk: unknown;
  /** Start of validity (Date or unix seconds); never earlier than `signed` (ISO/IEC 18013-5 §9.1.2.4). Default: now. */
  validFrom?: Date | number;
  /** End of validity (Date or unix seconds). */
  validUntil: Date | number;
  /**
   * The MSO `status` (ISO/IEC 18013-5 second edition; draft-ietf-oauth-status-list §6.3, the CBOR
   * Referenced Token): `{status_list: {idx, uri}}`, `uri` naming a CWT Status List Token.
   */
  status?: { status_list: { idx: number; uri: string } };
}

export interface IssuedMdoc {
  format: 'mso_mdoc';
  /** base64url of the CBOR IssuerSigned structure (OpenID4VCI 1.0 Appendix A.2.4). */
  credential: string;
  issuerSigned: Uint8Array;
  docType: string;
  kid: string;
  holderKeyThumbprint: string;
  signed: Date;
  validFrom: Date;
  validUntil: Date;
}

export interface MdocIssuer {
  issue(request: MdocIssueRequest): Promise<IssuedMdoc>;
}

/** COSE header labels and algorithm (RFC 9052 §3.1, RFC 9360 §2, RFC 9053 §2.1). */
const COSE_HEADER_ALG = 1;
const COSE_HEADER_X5CHAIN = 33;
const COSE_ALG_ES256 = -7;
const RANDOM_BYTES = 32; // ISO/IEC 18013-5 §9.1.2.5: at least 16

const cbor = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false, variableMapSize: true });
const encode = (value: unknown): Uint8Array => cbor.encode(value);

export function createMdocIssuer(deps: MdocIssuerDeps): MdocIssuer {
  const { signer } = deps;
  const now = deps.now ?? (() => new Date());
  if (signer.alg !== 'ES256') throw new Error(`unsupported signing algorithm ${String(signer.alg)}`);
  if (!signer.x5c?.length) throw new Error('mdoc issuance needs a signer with the Document Signer certificate chain (x5c)');
  const chain = signer.x5c.map((b64) => new Uint8Array(Buffer.from(b64, 'base64')));
  const documentSigner = new X509Certificate(Buffer.from(chain[0]!));
  const dsCountry = /^C=(.*)$/m.exec(documentSigner.subject)?.[1];
  const dsValidFrom = new Date(documentSigner.validFrom);
  const dsValidTo = new Date(documentSigner.validTo);

  const specs = new Map<string, MdocDocTypeSpec>([[MDL_DOCTYPE, MDL_DOCTYPE_SPEC]]);
  for (const spec of deps.docTypes ?? []) specs.set(spec.docType, spec);

  // The header buckets are the same for every credential: encode them once.
  const protectedHeader = encode(new Map([[COSE_HEADER_ALG, COSE_ALG_ES256]]));
  const unprotectedHeader = new Map<number, unknown>([[COSE_HEADER_X5CHAIN, chain.length === 1 ? chain[0] : chain]]);

  return {
    async issue(request) {
      const spec = specs.get(request.docType);
      if (!spec) throw new CredentialInputError('unknown_doctype', `doctype ${request.docType} is not configured`, 'docType');
      const holderJwk = parseHolderJwk(request.holderJwk);
      if (!isPlainObject(request.claims)) throw new CredentialInputError('invalid_claims', 'must be an object', 'claims');

      const signed = wholeSeconds(now());
      if (signed < dsValidFrom || signed > dsValidTo) {
        throw new Error('the Document Signer certificate is not valid now; rotate it before issuing mdocs');
      }
      const requestedFrom = request.validFrom === undefined ? signed : toDate(request.validFrom, 'validFrom');
      const validFrom = requestedFrom < signed ? signed : requestedFrom;
      const validUntil = toDate(request.validUntil, 'validUntil');
      if (validUntil <= validFrom) throw new CredentialInputError('invalid_validity', 'must be after validFrom and now', 'validUntil');

      const elements = new Map<string, unknown>();
      for (const [identifier, value] of Object.entries(request.claims)) {
        if (value === undefined) continue;
        elements.set(identifier, toElementValue(value, spec.elements?.[identifier], `claims.${identifier}`));
      }
      if (spec.nameSpace === MDL_NAMESPACE && dsCountry) {
        const issuingCountry = elements.get('issuing_country');
        // ISO/IEC 18013-5 §7.2.1 / Annex B: issuing_country equals the countryName of the DS certificate.
        if (issuingCountry === undefined) elements.set('issuing_country', dsCountry);
        else if (issuingCountry !== dsCountry) {
          throw new CredentialInputError(
            'issuing_country_mismatch',
            `must equal the Document Signer country ${dsCountry}`,
            'claims.issuing_country',
          );
        }
      }
      if (elements.size === 0) throw new CredentialInputError('invalid_claims', 'no data elements', 'claims');

      // digestIDs are a random permutation so they reveal nothing about element order (ISO/IEC 18013-5 §9.1.2.5).
      const digestIds = shuffle([...elements.keys()].map((_, i) => i));
      const items: Tag[] = [];
      const digests = new Map<number, Uint8Array>();
      [...elements].forEach(([elementIdentifier, elementValue], i) => {
        const digestID = digestIds[i]!;
        const item = new Map<string, unknown>([
          ['digestID', digestID],
          ['random', new Uint8Array(randomBytes(RANDOM_BYTES))],
          ['elementIdentifier', elementIdentifier],
          ['elementValue', elementValue],
        ]);
        const itemBytes = new Tag(encode(item), 24);
        items.push(itemBytes);
        digests.set(digestID, sha256(encode(itemBytes)));
      });

      const mso = new Map<string, unknown>([
        ['version', '1.0'],
        ['digestAlgorithm', 'SHA-256'],
        ['valueDigests', new Map([[spec.nameSpace, digests]])],
        ['deviceKeyInfo', new Map([['deviceKey', holderJwkToCoseKey(holderJwk)]])],
        ['docType', spec.docType],
        [
          'validityInfo',
          new Map([
            ['signed', tdate(signed)],
            ['validFrom', tdate(validFrom)],
            ['validUntil', tdate(validUntil)],
          ]),
        ],
      ]);
      if (request.status) {
        const { idx, uri } = request.status.status_list;
        if (!Number.isSafeInteger(idx) || idx < 0 || typeof uri !== 'string' || uri.length === 0) throw new TypeError('status.status_list needs a non-negative idx and a uri');
        mso.set('status', new Map([['status_list', new Map<string, unknown>([['idx', idx], ['uri', uri]])]]));
      }
      const payload = encode(new Tag(encode(mso), 24));
      // Sig_structure for COSE_Sign1 (RFC 9052 §4.4): ["Signature1", body_protected, external_aad, payload].
      const toBeSigned = encode(['Signature1', protectedHeader, new Uint8Array(0), payload]);
      const signature = await signer.sign(toBeSigned);
      const issuerAuth = [protectedHeader, unprotectedHeader, payload, signature];

      const issuerSigned = encode(
        new Map<string, unknown>([
          ['nameSpaces', new Map([[spec.nameSpace, items]])],
          ['issuerAuth', issuerAuth],
        ]),
      );
      return {
        format: 'mso_mdoc',
        credential: Buffer.from(issuerSigned).toString('base64url'),
        issuerSigned,
        docType: spec.docType,
        kid: signer.kid,
        holderKeyThumbprint: holderKeyThumbprint(holderJwk),
        signed,
        validFrom,
        validUntil,
      };
    },
  };
}

function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

function shuffle<T>(values: T[]): T[] {
  for (let i = values.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return values;
}

function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

function toDate(value: Date | number, path: string): Date {
  const date = typeof value === 'number' ? new Date(value * 1000) : value;
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new CredentialInputError('invalid_validity', 'must be a Date or unix seconds', path);
  }
  return wholeSeconds(date);
}

/** tdate (RFC 8949 §3.4.1) without fractional seconds, as ISO/IEC 18013-5 §9.1.2.4 requires. */
function tdate(date: Date): Tag {
  return new Tag(`${date.toISOString().slice(0, 19)}Z`, 0);
}

const FULL_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:$|T)/;

function fullDate(value: unknown, path: string): Tag {
  const match = typeof value === 'string' ? FULL_DATE.exec(value) : null;
  const date = match ? new Date(`${match[1]}-${match[2]}-${match[3]}T00:00:00Z`) : undefined;
  if (!match || !date || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== `${match[1]}-${match[2]}-${match[3]}`) {
    throw new CredentialInputError('invalid_element_value', 'must be a date "YYYY-MM-DD"', path);
  }
  return new Tag(`${match[1]}-${match[2]}-${match[3]}`, 1004);
}

function toElementValue(value: unknown, encoding: MdocElementEncoding | undefined, path: string): unknown {
  switch (encoding) {
    case 'full-date':
      return fullDate(value, path);
    case 'tdate': {
      const date = typeof value === 'string' ? new Date(value) : undefined;
      if (!date || Number.isNaN(date.getTime())) throw new CredentialInputError('invalid_element_value', 'must be an ISO 8601 date-time', path);
      return tdate(date);
    }
    case 'bytes': {
      if (typeof value !== 'string' || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(value.replace(/\s+/g, ''))) {
        throw new CredentialInputError('invalid_element_value', 'must be base64 or base64url', path);
      }
      const normalized = value.replace(/\s+/g, '').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      return new Uint8Array(Buffer.from(normalized, 'base64url'));
    }
    case 'uint': {
      const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
        throw new CredentialInputError('invalid_element_value', 'must be a non-negative integer', path);
      }
      return n;
    }
    case 'driving-privileges':
      return drivingPrivileges(value, path);
    default:
      return genericValue(value, path);
  }
}

/** ISO/IEC 18013-5 §7.2.4: DrivingPrivilege = { vehicle_category_code: tstr, ? issue_date: full-date, ? expiry_date: full-date, ? codes: [+ Code] }. */
function drivingPrivileges(value: unknown, path: string): unknown {
  if (!Array.isArray(value)) throw new CredentialInputError('invalid_element_value', 'must be an array of driving privileges', path);
  return value.map((privilege, i) => {
    const at = `${path}.${i}`;
    if (!isPlainObject(privilege) || typeof privilege.vehicle_category_code !== 'string') {
      throw new CredentialInputError('invalid_element_value', 'must be an object with vehicle_category_code', at);
    }
    const out = new Map<string, unknown>();
    for (const [key, v] of Object.entries(privilege)) {
      if (v === undefined) continue;
      if (key === 'issue_date' || key === 'expiry_date') out.set(key, fullDate(v, `${at}.${key}`));
      else out.set(key, genericValue(v, `${at}.${key}`));
    }
    return out;
  });
}

/** JSON → CBOR: objects become text-keyed maps, integers beyond 32 bits are encoded as CBOR integers (not floats). */
function genericValue(value: unknown, path: string): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new CredentialInputError('invalid_element_value', 'numbers must be finite', path);
    return Number.isSafeInteger(value) && Math.abs(value) > 0xffffffff ? BigInt(value) : value;
  }
  if (Array.isArray(value)) return value.map((v, i) => genericValue(v, `${path}.${i}`));
  if (isPlainObject(value)) {
    return new Map(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, genericValue(v, `${path}.${k}`)]));
  }
  throw new CredentialInputError('invalid_element_value', `a ${typeof value} cannot be encoded`, path);
}

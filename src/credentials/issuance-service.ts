import { X509Certificate, createHash } from 'node:crypto';
import { Decoder } from 'cbor-x';
import type { Config } from '../config/config';
import { CredentialInputError } from './credential-errors';
import { parseHolderJwk } from './holder-key';
import { isPlainObject } from './json-claims';
import type { KeyStore } from './key-store';
import { MDL_DOCTYPE, createMdocIssuer, type IssuedMdoc, type MdocDocTypeSpec, type MdocIssuer } from './mdoc-issuer';
import { createSdJwtVcIssuer, type IssuedSdJwtVc, type SdJwtVcIssuer, type SdJwtVcStatus } from './sd-jwt-vc-issuer';
import type { CredentialSigner, PublishedJwk } from './signer';
import { didWebFromUrl } from './did-web';
import {
  DEFAULT_CRYPTOSUITE,
  createVc20DataIntegrityIssuer,
  DATA_INTEGRITY_CRYPTOSUITES,
  isDataIntegrityCryptosuite,
  type DataIntegrityCryptosuite,
  type IssuedVc20DataIntegrity,
} from './vc20-data-integrity-issuer';
import { createVc20JoseIssuer, type CredentialStatus, type IssuedVc20, type Vc20IssueRequest, type Vc20JoseIssuer } from './vc20-jose-issuer';
import { loadVctm, vctIntegrity, type LoadedVctm } from './vctm';

/**
 * The one place credentials are signed: the gRPC handlers and the Temporal activities both call this
 * service, so a credential looks the same whichever way it was asked for. It resolves the credential
 * type from the configuration (by vct or scope), picks the active key from the key store, and hands
 * both to the format issuers (sd-jwt-vc-issuer.ts, mdoc-issuer.ts, vc20-jose-issuer.ts), which it does
 * not re-implement. `iss` / `issuer` is always `config.issuerUrl`.
 *
 * Validity: when a request gives no end, the credential ends `defaultValidityDays` (365) after its
 * start. A credential that never expired would outlive the window in which the key store keeps a
 * retired key published (KeyStoreOptions.maxCredentialValidityDays), so every credential gets an end.
 *
 * Caller-supplied type metadata (the gRPC `vctm` and `integrity` fields, seed 000): in the seed's
 * architecture the caller (SUNET's API gateway) supplies the VCTM so the issuer fetches nothing. A
 * supplied VCTM is used for the credential when it is valid type metadata whose `vct` is the type's
 * and, when `integrity` is given, its bytes match that integrity (W3C SRI, draft-ietf-oauth-sd-jwt-vc
 * §6.3 "Document Integrity"); its claim display and `sd` rules then apply, and `vct#integrity` is its
 * own. Without one, the configured VCTM is used, else the minimal document `{"vct":"<vct>"}`; an
 * `integrity` given alone must match that. Anything else is a CredentialInputError naming the field.
 */

/** A point in time: a Date, or unix seconds (as documents store `credential_valid_from/to`). */
export type Instant = Date | number;

export interface MakeSdJwtRequest {
  /** The type by vct; or `scope`: a scope name in the configuration, or a credential configuration id (the vct). */
  vct?: string;
  scope?: string;
  /** The claims (`document_data`), a JSON object. */
  documentData: Record<string, unknown>;
  /** The holder's public JWK, bound as `cnf.jwk`. */
  holderJwk: unknown;
  validFrom?: Instant;
  validUntil?: Instant;
  /** The Token Status List reference (status-list hook). */
  status?: SdJwtVcStatus;
  /** Type metadata supplied by the caller (see the header). */
  vctm?: Uint8Array;
  /** `vct#integrity` the caller expects (see the header). */
  integrity?: string;
}

export interface MakeMdocRequest {
  /** The doctype; or `scope` naming an `mso_mdoc` type. The mDL doctype is always known. */
  docType?: string;
  scope?: string;
  /** Data elements by identifier, issued in the doctype's namespace. */
  documentData: Record<string, unknown>;
  /** The holder's device key, as a public JWK or as COSE_Key bytes (RFC 9052 §7); exactly one. */
  holderJwk?: unknown;
  deviceKey?: Uint8Array;
  validFrom?: Instant;
  validUntil?: Instant;
  /** The MSO status reference (status-list hook). */
  status?: { status_list: { idx: number; uri: string } };
}

export interface MakeVc20Request {
  /** Types after `VerifiableCredential`; when empty, the vct of the `scope`'s `jwt_vc_json` type. */
  types?: readonly string[];
  scope?: string;
  /** The credentialSubject claims. */
  documentData: Record<string, unknown>;
  /** The holder's DID, set as `credentialSubject.id`. */
  subjectDid?: string;
  /** The holder's public JWK, bound as `cnf.jwk` when the holder has no DID. */
  holderJwk?: unknown;
  validFrom?: Instant;
  validUntil?: Instant;
  /** `id`; a `urn:uuid:` is generated when absent. */
  id?: string;
  credentialStatus?: CredentialStatus;
  /** Extra `@context` entries after the VC 2.0 context. */
  contexts?: readonly string[];
  /** Further top-level credential properties (seed 001's `onboardingId`, say). */
  extra?: Record<string, unknown>;
}

export interface MakeVc20DataIntegrityRequest extends MakeVc20Request {
  /** `ecdsa-rdfc-2019` (default), `eddsa-rdfc-2022` or `ecdsa-sd-2023`; anything else is a CredentialInputError on `cryptosuite`. */
  cryptosuite?: string;
  /** `ecdsa-sd-2023` only: JSON Pointers a holder must always disclose, beside the issuer, validity and status (vc20-data-integrity-issuer.ts). */
  mandatoryPointers?: string[];
  /** Free-form claims: terms no context defines expand under the VC 2.0 undefined-terms context (vc20-data-integrity-issuer.ts). */
  undefinedTerms?: boolean;
}

export interface MadeSdJwt extends IssuedSdJwtVc {
  vct: string;
  /** The disclosures of `credential`, each base64url (RFC 9901 §4.2). */
  disclosures: string[];
}

export interface SignMetadataRequest {
  /** Credential Issuer Metadata parameters (OpenID4VCI 1.0 §12.2.3), a JSON object. */
  metadata: Record<string, unknown>;
  /** `iss`: the party attesting to the metadata; default the issuer. */
  iss?: string;
  /** `sub`: must be the Credential Issuer identifier (the default). */
  sub?: string;
}

export interface IssuanceService {
  makeSdJwt(request: MakeSdJwtRequest): Promise<MadeSdJwt>;
  makeMdoc(request: MakeMdocRequest): Promise<IssuedMdoc>;
  makeVc20(request: MakeVc20Request): Promise<IssuedVc20>;
  /** A VC 2.0 credential secured with Data Integrity (issuer: the issuer's did:web, docs/conventions.md). */
  makeVc20DataIntegrity(request: MakeVc20DataIntegrityRequest): Promise<IssuedVc20DataIntegrity>;
  /** The issuer identifier and the public keys verifiers need (the key store's JWKS). */
  jwks(): Promise<{ issuer: string; keys: PublishedJwk[] }>;
  /** `signed_metadata` (OpenID4VCI 1.0 §12.2.3): a JWT signed with the active credential key, which JWKS publishes. */
  signMetadata(request: SignMetadataRequest): Promise<string>;
  /** DER certificates of the IACAs current Document Signers chain to (what /.well-known/iacas publishes as PEM). */
  iacaCertificates(): Promise<Uint8Array[]>;
}

export interface IssuanceServiceDeps {
  config: Pick<Config, 'issuerUrl' | 'credentialTypes'>;
  /** `iacaCertificatesPem` is optional: without it there are no IACAs to report. */
  keyStore: Pick<KeyStore, 'signer' | 'jwks'> & Partial<Pick<KeyStore, 'iacaCertificatesPem' | 'ed25519Signer'>>;
  now?: () => Date;
  /** Validity of a credential whose request gives no end. Default 365 days. */
  defaultValidityDays?: number;
}

interface CredentialType {
  vct: string;
  scope: string;
  source: string;
  format: string;
  /** Parsed at construction from `vctm_path`; absent when the type has none. */
  vctm?: LoadedVctm;
}

const DAY_MS = 86_400_000;
const DID = /^did:[a-z0-9]+:\S+$/;

export function createIssuanceService(deps: IssuanceServiceDeps): IssuanceService {
  const { config, keyStore } = deps;
  const now = deps.now ?? (() => new Date());
  const defaultValidityMs = (deps.defaultValidityDays ?? 365) * DAY_MS;
  const types = indexTypes(config.credentialTypes);
  const mdocDocTypes: MdocDocTypeSpec[] = [...types.byVct.values()]
    .filter((t) => t.format === 'mso_mdoc' && t.vct !== MDL_DOCTYPE)
    // A configured doctype issues its elements in the namespace of the same name (as the EUDI PID does).
    .map((t) => ({ docType: t.vct, nameSpace: t.vct }));
  const minimalVctms = new Map<string, LoadedVctm>();

  // Format issuers are built once per signing key (they precompute headers); a rotation brings a new kid.
  const perKid = <T>(create: (signer: CredentialSigner) => T) => {
    const byKid = new Map<string, T>();
    return (signer: CredentialSigner): T => {
      let issuer = byKid.get(signer.kid);
      if (!issuer) byKid.set(signer.kid, (issuer = create(signer)));
      return issuer;
    };
  };
  const unixNow = () => Math.floor(now().getTime() / 1000);
  const sdJwtIssuer = perKid<SdJwtVcIssuer>((signer) => createSdJwtVcIssuer({ signer, now: unixNow }));
  const mdocIssuer = perKid<MdocIssuer>((signer) => createMdocIssuer({ signer, docTypes: mdocDocTypes, now }));
  const vc20Issuer = perKid<Vc20JoseIssuer>((signer) => createVc20JoseIssuer({ signer, now }));
  const vc20DiIssuer = createVc20DataIntegrityIssuer({ issuerUrl: config.issuerUrl, issuerDid: didWebFromUrl(config.issuerUrl), now });

  /** The VC 2.0 request both securing mechanisms share: types, subject (with the holder DID or key), validity. */
  function vc20Request(request: MakeVc20Request): Omit<Vc20IssueRequest, 'issuer'> {
    const credentialTypes = request.types?.length ? [...request.types] : request.scope ? [types.resolve({ scope: request.scope }, 'jwt_vc_json').vct] : [];
    if (credentialTypes.length === 0) throw new CredentialInputError('invalid_claims', 'credential types or a scope with a jwt_vc_json type are required', 'types');
    if (!isPlainObject(request.documentData)) throw new CredentialInputError('invalid_claims', 'must be a JSON object', 'credentialSubject');
    const subject: Record<string, unknown> = { ...request.documentData };
    if (request.subjectDid !== undefined) {
      if (!DID.test(request.subjectDid)) throw new CredentialInputError('invalid_claims', 'must be a DID (did:<method>:<id>)', 'subjectDid');
      if (subject.id !== undefined && subject.id !== request.subjectDid) {
        throw new CredentialInputError('invalid_claims', 'differs from subjectDid', 'credentialSubject.id');
      }
      subject.id = request.subjectDid;
    }
    // No DID: the holder is bound by key, `cnf.jwk` as in RFC 7800 §3.2 (the proto's MakeVC20Request.jwk).
    const cnf = request.holderJwk !== undefined ? { cnf: { jwk: parseHolderJwk(request.holderJwk) } } : undefined;
    const { validFrom, validUntil } = validity(request.validFrom, request.validUntil);
    return {
      type: credentialTypes,
      credentialSubject: subject,
      ...(validFrom ? { validFrom } : {}),
      validUntil,
      ...(request.id ? { id: request.id } : {}),
      ...(request.credentialStatus ? { credentialStatus: request.credentialStatus } : {}),
      ...(request.contexts ? { contexts: request.contexts } : {}),
      ...(cnf || request.extra ? { extra: { ...request.extra, ...cnf } } : {}),
    };
  }

  /** Validity window in Dates; the end defaults to start + defaultValidityDays. */
  const validity = (from: Instant | undefined, until: Instant | undefined) => {
    const validFrom = from === undefined ? undefined : toDate(from, 'validFrom');
    const validUntil = until === undefined ? new Date((validFrom ?? now()).getTime() + defaultValidityMs) : toDate(until, 'validUntil');
    return { validFrom, validUntil };
  };

  function vctmFor(type: CredentialType, supplied: Uint8Array | undefined, integrity: string | undefined): LoadedVctm {
    if (supplied && supplied.length > 0) {
      // The configured metadata byte for byte: already parsed.
      if (type.vctm && vctIntegrity(supplied) === type.vctm.integrity) {
        if (integrity && !matchesIntegrity(supplied, integrity)) throw integrityMismatch('the supplied vctm');
        return type.vctm;
      }
      const loaded = loadVctm(supplied);
      if (!loaded.success) throw new CredentialInputError('invalid_claims', `not valid type metadata: ${loaded.errors.join('; ')}`, 'vctm');
      if (loaded.data.metadata.vct !== type.vct) throw new CredentialInputError('invalid_claims', `describes vct "${loaded.data.metadata.vct}", but the scope's type is "${type.vct}"`, 'vctm');
      if (integrity && !matchesIntegrity(supplied, integrity)) throw integrityMismatch('the supplied vctm');
      return loaded.data;
    }
    const vctm = type.vctm ?? minimalVctm(type.vct);
    if (integrity && !matchesIntegrity(vctm.bytes, integrity)) throw integrityMismatch(`the type metadata of ${type.vct} (${vctm.integrity})`);
    return vctm;
  }

  function minimalVctm(vct: string): LoadedVctm {
    let vctm = minimalVctms.get(vct);
    if (!vctm) {
      const loaded = loadVctm(JSON.stringify({ vct }));
      if (!loaded.success) throw new Error(`minimal type metadata for ${vct}: ${loaded.errors.join('; ')}`);
      minimalVctms.set(vct, (vctm = loaded.data));
    }
    return vctm;
  }

  return {
    async makeSdJwt(request) {
      const type = types.resolve(request, 'dc+sd-jwt');
      const vctm = vctmFor(type, request.vctm, request.integrity);
      const { validFrom, validUntil } = validity(request.validFrom, request.validUntil);
      const issuer = sdJwtIssuer(await keyStore.signer('credential'));
      const issued = await issuer.issue({
        issuer: config.issuerUrl,
        vctm,
        claims: request.documentData,
        holderJwk: request.holderJwk,
        ...(validFrom ? { validFrom: unixSeconds(validFrom) } : {}),
        validUntil: unixSeconds(validUntil),
        ...(request.status ? { status: request.status } : {}),
      });
      return { ...issued, vct: type.vct, disclosures: issued.credential.split('~').slice(1, -1) };
    },

    async makeMdoc(request) {
      const docType = request.docType || (request.scope ? types.resolve({ scope: request.scope }, 'mso_mdoc').vct : undefined);
      if (!docType) throw new CredentialInputError('unknown_doctype', 'a doctype or a scope is required', 'docType');
      if ((request.holderJwk === undefined) === (request.deviceKey === undefined)) {
        throw new CredentialInputError('invalid_holder_key', 'exactly one of a JWK and a COSE_Key is required', 'deviceKey');
      }
      const holderJwk = request.deviceKey !== undefined ? coseKeyToJwk(request.deviceKey) : request.holderJwk;
      const { validFrom, validUntil } = validity(request.validFrom, request.validUntil);
      const issuer = mdocIssuer(await keyStore.signer('document_signer'));
      return issuer.issue({ docType, claims: request.documentData, holderJwk, ...(validFrom ? { validFrom } : {}), validUntil, ...(request.status ? { status: request.status } : {}) });
    },

    async makeVc20(request) {
      const vc = vc20Request(request);
      const issuer = vc20Issuer(await keyStore.signer('credential'));
      return issuer.issue({ ...vc, issuer: config.issuerUrl });
    },

    async makeVc20DataIntegrity(request) {
      const cryptosuite: DataIntegrityCryptosuite | undefined = request.cryptosuite === undefined || request.cryptosuite === '' ? DEFAULT_CRYPTOSUITE : isDataIntegrityCryptosuite(request.cryptosuite) ? request.cryptosuite : undefined;
      if (!cryptosuite) throw new CredentialInputError('invalid_claims', `unsupported cryptosuite "${request.cryptosuite}" (${DATA_INTEGRITY_CRYPTOSUITES.join(', ')})`, 'cryptosuite');
      const vc = vc20Request(request);
      let signer;
      if (cryptosuite === 'eddsa-rdfc-2022') {
        if (!keyStore.ed25519Signer) throw new Error('this key store has no Ed25519 key');
        signer = await keyStore.ed25519Signer();
      } else {
        signer = await keyStore.signer('credential');
      }
      return vc20DiIssuer.issue({ ...vc, cryptosuite, ...(request.undefinedTerms ? { undefinedTerms: true } : {}), ...(request.mandatoryPointers?.length ? { mandatoryPointers: request.mandatoryPointers } : {}) }, signer);
    },

    async jwks() {
      const { keys } = await keyStore.jwks();
      return { issuer: config.issuerUrl, keys };
    },

    async signMetadata(request) {
      if (!isPlainObject(request.metadata)) throw new CredentialInputError('invalid_claims', 'must be a JSON object', 'metadata_json');
      for (const claim of ['iss', 'sub', 'iat', 'exp', 'nbf']) {
        if (claim in request.metadata) throw new CredentialInputError('invalid_claims', `must not contain "${claim}": the JWT's own claims are set by the issuer`, 'metadata_json');
      }
      // OpenID4VCI 1.0 §12.2.3: `sub` matches the Credential Issuer identifier, and so must the metadata's own.
      const sub = request.sub || config.issuerUrl;
      if (sub !== config.issuerUrl) throw new CredentialInputError('invalid_claims', `must be this Credential Issuer's identifier ${config.issuerUrl}`, 'sub');
      const declared = request.metadata.credential_issuer;
      if (declared !== undefined && declared !== config.issuerUrl) throw new CredentialInputError('invalid_claims', `credential_issuer must be ${config.issuerUrl}`, 'metadata_json');
      const signer = await keyStore.signer('credential');
      const header = { alg: signer.alg, kid: signer.kid, typ: SIGNED_METADATA_TYP };
      const payload = { ...request.metadata, iss: request.iss || config.issuerUrl, sub, iat: unixSeconds(now()) };
      const signingInput = `${base64urlJson(header)}.${base64urlJson(payload)}`;
      const signature = await signer.sign(Buffer.from(signingInput, 'ascii'));
      return `${signingInput}.${Buffer.from(signature).toString('base64url')}`;
    },

    async iacaCertificates() {
      const pems = (await keyStore.iacaCertificatesPem?.()) ?? [];
      return pems.map((pem) => new Uint8Array(new X509Certificate(pem).raw));
    },
  };
}

/** JWT `typ` of signed Credential Issuer Metadata (OpenID4VCI 1.0 §12.2.3). */
const SIGNED_METADATA_TYP = 'openidvci-issuer-metadata+jwt';

const base64urlJson = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

const SRI_ALGORITHMS: Record<string, string> = { sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };

/**
 * W3C Subresource Integrity as draft-ietf-oauth-sd-jwt-vc §6.3 uses it: whitespace-separated
 * `<alg>-<base64 digest>` tokens (options after `?` ignored); the bytes match when a token of a
 * supported algorithm matches. Tokens of unknown algorithms are skipped, as SRI says.
 */
function matchesIntegrity(bytes: Uint8Array, integrity: string): boolean {
  const tokens = integrity.trim().split(/\s+/).map((token) => /^(sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})(\?.*)?$/.exec(token));
  const known = tokens.filter((m): m is RegExpExecArray => m !== null);
  if (known.length === 0) throw new CredentialInputError('invalid_claims', 'must be W3C SRI integrity metadata, e.g. "sha256-<base64 digest>"', 'integrity');
  return known.some(([, alg, digest]) => createHash(SRI_ALGORITHMS[alg!]!).update(bytes).digest('base64') === digest);
}

const integrityMismatch = (what: string) => new CredentialInputError('invalid_claims', `does not match ${what}`, 'integrity');

/** The configured credential types by vct and by scope name, with their VCTMs parsed once. */
function indexTypes(configured: Config['credentialTypes']) {
  const byVct = new Map<string, CredentialType>();
  const byScope = new Map<string, CredentialType[]>();
  for (const [vct, t] of configured) {
    const vctm = t.vctm;
    const type: CredentialType = { vct, scope: t.scope, source: t.source, format: t.format, ...(vctm ? { vctm } : {}) };
    byVct.set(vct, type);
    byScope.set(t.scope, [...(byScope.get(t.scope) ?? []), type]);
  }

  function resolve(ref: { vct?: string; scope?: string }, format: string): CredentialType {
    let type: CredentialType | undefined;
    if (ref.vct) {
      type = byVct.get(ref.vct);
      if (!type) throw new CredentialInputError('unknown_doctype', `no credential type with vct "${ref.vct}" is configured`, 'vct');
    } else if (ref.scope) {
      // A credential configuration id is the vct (docs/conventions.md, Ids), so both spellings are accepted.
      const candidates = byVct.has(ref.scope) ? [byVct.get(ref.scope)!] : (byScope.get(ref.scope) ?? []);
      if (candidates.length === 0) throw new CredentialInputError('unknown_doctype', `no credential type "${ref.scope}" is configured`, 'scope');
      if (candidates.length > 1) {
        throw new CredentialInputError('unknown_doctype', `"${ref.scope}" is configured by several authentic sources; name it by vct (${candidates.map((c) => c.vct).join(', ')})`, 'scope');
      }
      type = candidates[0]!;
    } else {
      throw new CredentialInputError('unknown_doctype', 'a vct or a scope is required', 'scope');
    }
    if (type.format !== format) {
      throw new CredentialInputError('unknown_doctype', `"${ref.vct ?? ref.scope}" is a ${type.format} credential type, not ${format}`, ref.vct ? 'vct' : 'scope');
    }
    return type;
  }

  return { byVct, resolve };
}

function toDate(value: Instant, path: string): Date {
  const date = typeof value === 'number' ? (Number.isSafeInteger(value) ? new Date(value * 1000) : undefined) : value;
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new CredentialInputError('invalid_validity', 'must be a date or unix seconds', path);
  return date;
}

const unixSeconds = (date: Date) => Math.floor(date.getTime() / 1000);

const cose = new Decoder({ mapsAsObjects: false, useRecords: false });
/** COSE key type and curve values (RFC 9053 §7.1, IANA "COSE Key Types" / "COSE Elliptic Curves"). */
const COSE_EC2 = 2;
const COSE_OKP = 1;
const COSE_CURVES: Record<number, string> = { 1: 'P-256', 2: 'P-384', 3: 'P-521', 6: 'Ed25519' };

/**
 * A device key given as a COSE_Key (RFC 9052 §7, the form of the MSO `deviceKey`, ISO/IEC 18013-5
 * §9.1.2.4) as a public JWK: `{1: kty, -1: crv, -2: x, -3: y}`. A private key (label -4) is refused.
 */
export function coseKeyToJwk(bytes: Uint8Array): Record<string, string> {
  let key: unknown;
  try {
    key = cose.decode(bytes);
  } catch {
    throw new CredentialInputError('invalid_holder_key', 'not a CBOR COSE_Key', 'deviceKey');
  }
  if (!(key instanceof Map)) throw new CredentialInputError('invalid_holder_key', 'a COSE_Key is a CBOR map', 'deviceKey');
  if (key.has(-4)) throw new CredentialInputError('invalid_holder_key', 'a device key must be a public key', 'deviceKey');
  const kty = key.get(1);
  const crv = COSE_CURVES[key.get(-1) as number];
  const coordinate = (label: number, name: string) => {
    const value = key.get(label) as unknown;
    if (!(value instanceof Uint8Array)) throw new CredentialInputError('invalid_holder_key', `${name} must be a byte string`, `deviceKey.${label}`);
    return Buffer.from(value).toString('base64url');
  };
  if (kty === COSE_EC2 && crv && crv !== 'Ed25519') return { kty: 'EC', crv, x: coordinate(-2, 'x'), y: coordinate(-3, 'y') };
  if (kty === COSE_OKP && crv === 'Ed25519') return { kty: 'OKP', crv, x: coordinate(-2, 'x') };
  throw new CredentialInputError('invalid_holder_key', 'unsupported key type or curve (EC2 P-256/384/521 or OKP Ed25519)', 'deviceKey');
}

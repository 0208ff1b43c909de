import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { z } from 'zod';
import { CredentialInputError } from '../credentials/credential-errors';
import type { IssuanceService } from '../credentials/issuance-service';
import type { PublishedJwk } from '../credentials/signer';
import type { GrpcAccessPolicy, GrpcCaller } from './grpc-authorization';
import type { GrpcAuditLog } from './grpc-audit-log';
import { statusListId, type StatusFamily, type StatusListsRepository, StatusValue } from '../db/status-lists-repository';
import { GrpcError, ISSUER_METHODS, ISSUER_SERVICE_NAME, type CallContext, type IssuerMethod, type IssuerServiceHandlers, type Jwk } from './issuer-service';

/**
 * The seed's IssuerService (proto/issuer/v1/issuer.proto) over the shared issuance service. Each call
 * is a short list of steps: identify the caller (grpc-authorization.ts), check the scope or types it
 * asks for, translate the proto fields to a use-case request, call the issuance service (on the
 * signing threads when it is the pool), translate the result back, and record the call in the audit
 * log (grpc-audit-log.ts) before the reply leaves. Input errors of the use case become
 * INVALID_ARGUMENT with their message; anything else propagates and the transport answers INTERNAL
 * without details.
 *
 * Credentials made here are issued without a status-list entry (`status_allocation:
 * STATUS_ALLOCATION_NONE`). SetCredentialStatus sets the entry of a credential the issuer's other
 * paths issued (wallet issuance, seed 001), by list URI and index, through the same status lists as
 * REST; the caller must be one that may issue that credential's type. Revocation is final.
 */

export interface IssuerGrpcHandlerOptions {
  access: GrpcAccessPolicy;
  audit: GrpcAuditLog;
  /** The status lists (without them SetCredentialStatus answers UNIMPLEMENTED). */
  status?: { issuerUrl: string; lists: Pick<StatusListsRepository, 'issuedEntry' | 'updateCredentialStatus'> };
}

/** What one call touched, for its audit row (ids only, never claims or keys). */
type AuditTarget = Record<string, string>;

type Steps = {
  [M in IssuerMethod]: (request: Parameters<IssuerServiceHandlers[M]>[0], caller: GrpcCaller, target: AuditTarget) => ReturnType<IssuerServiceHandlers[M]>;
};

const NO_STATUS = 'STATUS_ALLOCATION_NONE' as const;

export function createIssuerGrpcHandlers(issuance: IssuanceService, { access, audit, status }: IssuerGrpcHandlerOptions): IssuerServiceHandlers {
  const steps: Steps = {
    async MakeSDJWT(request, caller, target) {
      const vct = (target.vct = access.authorizeScope(caller, request.scope, 'dc+sd-jwt'));
      const issued = await translateErrors(() =>
        issuance.makeSdJwt({
          vct,
          documentData: jsonObject(request.documentData, 'documentData'),
          holderJwk: requiredJwk(request.jwk, 'jwk'),
          ...(request.vctm.length > 0 ? { vctm: request.vctm } : {}),
          ...(request.integrity ? { integrity: request.integrity } : {}),
        }),
      );
      return {
        credentials: [{ credential: issued.credential, disclosures: issued.disclosures }],
        status_allocation: NO_STATUS,
        // Without `nbf` the credential is valid from its issuance (`iat`).
        valid_from: rfc3339(issued.validFrom ?? issued.issuedAt),
        ...(issued.validUntil !== undefined ? { valid_until: rfc3339(issued.validUntil) } : {}),
      };
    },

    async MakeMDoc(request, caller, target) {
      // The doctype by scope, by the seed's doc_type (2) or by upstream's mddl (6): every one given must agree.
      const named = [
        ...(request.scope ? [{ field: 'scope', value: request.scope }] : []),
        ...(request.doc_type ? [{ field: 'doc_type', value: request.doc_type }] : []),
        ...(request.mddl.length > 0 ? [{ field: 'mddl', value: docTypeOfMddl(request.mddl) }] : []),
      ];
      if (named.length === 0) throw invalid('scope: a scope, doc_type or mddl is required');
      const docTypes = named.map(({ field, value }) => access.authorizeScope(caller, value, 'mso_mdoc', field));
      if (new Set(docTypes).size > 1) throw invalid(`${named.map((n) => n.field).join(', ')}: name different doctypes (${docTypes.join(', ')})`);
      const docType = (target.vct = docTypes[0]!);
      const deviceKey = deviceKeyOf(request.device_public_key, request.device_key_format);
      const issued = await translateErrors(() => issuance.makeMdoc({ docType, documentData: jsonObject(request.document_data, 'document_data'), ...deviceKey }));
      return { mdoc: issued.issuerSigned, valid_from: rfc3339(issued.validFrom), valid_until: rfc3339(issued.validUntil), status_allocation: NO_STATUS };
    },

    async MakeVC20(request, caller, target) {
      // Only configured types (issue 15): the scope's, and each explicit one, must be a jwt_vc_json type this caller may issue.
      const scopeVct = request.scope ? access.authorizeScope(caller, request.scope, 'jwt_vc_json') : undefined;
      const explicit = request.credential_types[0] === 'VerifiableCredential' ? request.credential_types.slice(1) : request.credential_types;
      const types = explicit.map((type, i) => access.authorizeVct(caller, type, 'jwt_vc_json', `credential_types.${i}`));
      if (types.length === 0 && !scopeVct) throw invalid('scope: a scope or credential_types is required');
      if (scopeVct && types.length > 0 && !types.includes(scopeVct)) throw invalid(`credential_types: must include the scope's type "${scopeVct}"`);
      const credentialTypes = types.length > 0 ? types : [scopeVct!];
      target.vct = credentialTypes.join(' ');
      const holder =
        request.holder === 'subject_did'
          ? { subjectDid: request.subject_did ?? '' }
          : request.holder === 'jwk'
            ? { holderJwk: requiredJwk(request.jwk ?? null, 'jwk') }
            : {};
      if (request.mandatory_pointers.length > 0 && request.cryptosuite !== 'ecdsa-sd-2023') throw invalid('mandatory_pointers: only the selective-disclosure cryptosuite ecdsa-sd-2023 takes them');
      const vc = {
        types: credentialTypes,
        documentData: jsonObject(request.document_data, 'document_data'),
        ...holder,
        ...(request.valid_from ? { validFrom: dateTime(request.valid_from, 'valid_from') } : {}),
        ...(request.valid_until ? { validUntil: dateTime(request.valid_until, 'valid_until') } : {}),
      };
      // With upstream's cryptosuite (5): the credential document with a Data Integrity proof; the
      // claims are the caller's own, so terms no context defines expand under the VC 2.0 @vocab.
      const issued = request.cryptosuite
        ? await translateErrors(async () => {
            const made = await issuance.makeVc20DataIntegrity({ ...vc, cryptosuite: request.cryptosuite, undefinedTerms: true, ...(request.mandatory_pointers.length > 0 ? { mandatoryPointers: request.mandatory_pointers } : {}) });
            return { ...made, credential: JSON.stringify(made.credential) };
          })
        : await translateErrors(() => issuance.makeVc20(vc));
      target.credential_id = issued.id;
      return {
        credential: issued.credential,
        credential_id: issued.id,
        valid_from: issued.validFrom,
        ...(issued.validUntil ? { valid_until: issued.validUntil } : {}),
        status_allocation: NO_STATUS,
      };
    },

    async JWKS() {
      const { issuer, keys } = await issuance.jwks();
      const published = keys.map(protoJwk);
      return { issuer, jwks: { keys: published }, keys: published };
    },

    async SignMetadata(request, caller) {
      access.authorizeSignMetadata(caller);
      if (request.metadata_type && request.metadata_type !== 'vci-issuer') throw invalid('metadata_type: only "vci-issuer" (Credential Issuer Metadata) is signed');
      const signed = await translateErrors(() =>
        issuance.signMetadata({ metadata: jsonObject(request.metadata_json, 'metadata_json'), ...(request.iss ? { iss: request.iss } : {}), ...(request.sub ? { sub: request.sub } : {}) }),
      );
      return { signed_metadata: signed };
    },

    async GetIACAs() {
      return { certificates: await issuance.iacaCertificates() };
    },

    async SetCredentialStatus(request, caller, target) {
      if (!status) throw new GrpcError(grpc.status.UNIMPLEMENTED, 'SetCredentialStatus: this process has no status lists');
      const list = statusListOfUri(status.issuerUrl, request.status_list_uri);
      if (!list) throw new GrpcError(grpc.status.NOT_FOUND, 'status_list_uri: not a status list of this issuer');
      if (request.section && request.section !== '0') throw invalid('section: these lists are not sharded (0 or absent)');
      const idx = Number(request.index);
      if (!Number.isSafeInteger(idx) || idx < 0) throw invalid('index: a non-negative integer');
      // Token Status List (draft-ietf-oauth-status-list §7.1): 0 VALID, 1 INVALID, 2 SUSPENDED; the W3C revocation list has one bit.
      const allowed: readonly number[] = list.family === 'token' ? [StatusValue.Valid, StatusValue.Invalid, StatusValue.Suspended] : [StatusValue.Valid, StatusValue.Invalid];
      if (!allowed.includes(request.status)) throw invalid(`status: ${allowed.join(', ')} for this list`);
      Object.assign(target, { status_list: list.id, index: String(idx), status: String(request.status) });
      const entry = await status.lists.issuedEntry(list.id, idx);
      if (!entry?.vct) throw new GrpcError(grpc.status.NOT_FOUND, 'no issued credential has this index in this list');
      access.authorizeStatusChange(caller, entry.vct);
      if (entry.status === StatusValue.Invalid && request.status !== StatusValue.Invalid) throw new GrpcError(grpc.status.FAILED_PRECONDITION, 'the credential is revoked; revocation is final');
      if (entry.status !== StatusValue.Invalid) await status.lists.updateCredentialStatus(entry.credentialRef, request.status as StatusValue, list.id);
      return {};
    },
  };

  const call = async <M extends IssuerMethod>(method: M, request: Parameters<IssuerServiceHandlers[M]>[0], context: CallContext) => {
    const target: AuditTarget = {};
    let caller: GrpcCaller | undefined;
    let code = grpc.status.OK;
    try {
      caller = access.identify(context);
      return await (steps[method] as (r: typeof request, c: GrpcCaller, t: AuditTarget) => ReturnType<IssuerServiceHandlers[M]>)(request, caller, target);
    } catch (err) {
      code = err instanceof GrpcError ? err.code : grpc.status.INTERNAL;
      throw err;
    } finally {
      // Awaited: a reply never leaves before its audit row is stored (a failed write fails the call).
      const subject = caller?.subject ?? context.clientCertificateSubject;
      await audit.record({
        actor: caller?.actor ?? (subject ? 'grpc:unlisted' : 'anonymous'),
        action: `grpc.${method}`,
        method: 'GRPC',
        path: `/${ISSUER_SERVICE_NAME}/${method}`,
        target: { ...target, code: grpc.status[code], ...(subject ? { subject } : {}) },
        clientIp: context.peer,
      });
    }
  };

  return Object.fromEntries(ISSUER_METHODS.map((method) => [method, (request: never, context: CallContext) => call(method, request, context)])) as unknown as IssuerServiceHandlers;
}

const invalid = (message: string, cause?: unknown) => new GrpcError(grpc.status.INVALID_ARGUMENT, message, cause === undefined ? undefined : { cause });

/** Input errors of the use case become INVALID_ARGUMENT with their (path-qualified) message. */
async function translateErrors<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof CredentialInputError) throw invalid(err.message, err);
    throw err;
  }
}

const protoJwk = ({ kty, crv, x, y, kid, alg, use }: PublishedJwk): Partial<Jwk> => ({ kty, crv, x, y, kid, alg, use });

const JsonObjectSchema = z.record(z.string(), z.unknown());
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 JSON bytes that must hold one JSON object. */
function jsonObject(bytes: Uint8Array, field: string): Record<string, unknown> {
  if (bytes.length === 0) throw invalid(`${field}: required (UTF-8 JSON object)`);
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch (cause) {
    throw invalid(`${field}: not valid UTF-8 JSON`, cause);
  }
  const parsed = JsonObjectSchema.safeParse(value);
  if (!parsed.success || Array.isArray(value)) throw invalid(`${field}: must be a JSON object`);
  return parsed.data;
}

const MddlSchema = z.union([z.object({ doctype: z.string().min(1) }), z.object({ docType: z.string().min(1) })]);

/** Upstream's `mddl`: the mso_mdoc description; only its doctype is read. */
function docTypeOfMddl(bytes: Uint8Array): string {
  const parsed = MddlSchema.safeParse(jsonObject(bytes, 'mddl'));
  if (!parsed.success) throw invalid('mddl: must name its doctype (`doctype` or `docType`)');
  return 'doctype' in parsed.data ? parsed.data.doctype : parsed.data.docType;
}

/** A proto Jwk (empty strings are absent members) as a JWK object; the use case validates it. */
function requiredJwk(jwk: Jwk | null, field: string): Record<string, string> {
  if (!jwk) throw invalid(`${field}: the holder's public key is required`);
  return Object.fromEntries(Object.entries(jwk).filter(([, v]) => typeof v === 'string' && v !== ''));
}

/** MakeMDocRequest.device_public_key per device_key_format: "cose" (default), "jwk" or "x509". */
function deviceKeyOf(bytes: Uint8Array, format: string): { deviceKey: Uint8Array } | { holderJwk: unknown } {
  if (bytes.length === 0) throw invalid('device_public_key: required');
  switch (format) {
    case '':
    case 'cose':
      return { deviceKey: new Uint8Array(bytes) };
    case 'jwk':
      return { holderJwk: jsonObject(bytes, 'device_public_key') };
    case 'x509': {
      let certificate: X509Certificate;
      try {
        certificate = new X509Certificate(bytes);
      } catch (cause) {
        throw invalid('device_public_key: not a DER X.509 certificate', cause);
      }
      return { holderJwk: certificate.publicKey.export({ format: 'jwk' }) };
    }
    default:
      throw invalid('device_key_format: must be "cose", "jwk" or "x509"');
  }
}

const DateTimeSchema = z.iso.datetime({ offset: true });

function dateTime(text: string, field: string): Date {
  if (!DateTimeSchema.safeParse(text).success) throw invalid(`${field}: must be an RFC 3339 date-time`);
  return new Date(text);
}

/** Unix seconds or a Date as RFC 3339 without fractional seconds. */
function rfc3339(value: number | Date): string {
  const date = typeof value === 'number' ? new Date(value * 1000) : value;
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** The list a served URI names (`<issuer>/status-lists/token/<n>`, `<issuer>/status-lists/w3c/revocation/<n>`), or undefined. */
function statusListOfUri(issuerUrl: string, uri: string): { id: string; family: StatusFamily } | undefined {
  if (!uri.startsWith(`${issuerUrl}/status-lists/`)) return undefined;
  const match = /^(token|w3c\/revocation)\/(0|[1-9]\d{0,8})$/.exec(uri.slice(`${issuerUrl}/status-lists/`.length));
  if (!match) return undefined;
  const family: StatusFamily = match[1] === 'token' ? 'token' : 'w3c';
  return { id: statusListId(family, family === 'token' ? 'status' : 'revocation', Number(match[2])), family };
}

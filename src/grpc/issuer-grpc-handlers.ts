import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { z } from 'zod';
import { CredentialInputError } from '../credentials/credential-errors';
import type { IssuanceService } from '../credentials/issuance-service';
import { GrpcError, type IssuerServiceHandlers, type Jwk } from './issuer-service';

/**
 * The seed's IssuerService (proto/issuer/v1/issuer.proto) over the shared issuance service. These
 * handlers only translate (STYLE.md, "Transport layers only translate"): proto fields to a use-case
 * request, the result back to the reply, and input errors to INVALID_ARGUMENT with their message.
 * Anything else propagates and the transport answers INTERNAL without details.
 *
 * MakeSDJWT `vctm` / `integrity`: see issuance-service.ts; in short, a `vctm` must be byte-identical to
 * the type metadata configured for the scope, and is used only when the scope has none.
 * Credentials are issued without a status-list entry until the status-list service exists, so the
 * status fields of the replies stay empty.
 */
export function createIssuerGrpcHandlers(issuance: IssuanceService): IssuerServiceHandlers {
  return {
    async MakeSDJWT(request) {
      const issued = await translateErrors(() =>
        issuance.makeSdJwt({
          scope: request.scope,
          documentData: jsonObject(request.documentData, 'documentData'),
          holderJwk: requiredJwk(request.jwk, 'jwk'),
          ...(request.vctm.length > 0 ? { vctm: request.vctm } : {}),
          ...(request.integrity ? { integrity: request.integrity } : {}),
        }),
      );
      return {
        credentials: [{ credential: issued.credential, disclosures: issued.disclosures }],
        // Without `nbf` the credential is valid from its issuance (`iat`).
        valid_from: rfc3339(issued.validFrom ?? issued.issuedAt),
        ...(issued.validUntil !== undefined ? { valid_until: rfc3339(issued.validUntil) } : {}),
      };
    },

    async MakeMDoc(request) {
      const deviceKey = deviceKeyOf(request.device_public_key, request.device_key_format);
      const issued = await translateErrors(() =>
        issuance.makeMdoc({
          ...(request.doc_type ? { docType: request.doc_type } : {}),
          ...(request.scope ? { scope: request.scope } : {}),
          documentData: jsonObject(request.document_data, 'document_data'),
          ...deviceKey,
        }),
      );
      return { mdoc: issued.issuerSigned, valid_from: rfc3339(issued.validFrom), valid_until: rfc3339(issued.validUntil) };
    },

    async MakeVC20(request) {
      const holder =
        request.holder === 'subject_did'
          ? { subjectDid: request.subject_did ?? '' }
          : request.holder === 'jwk'
            ? { holderJwk: requiredJwk(request.jwk ?? null, 'jwk') }
            : {};
      const issued = await translateErrors(() =>
        issuance.makeVc20({
          types: request.credential_types,
          ...(request.scope ? { scope: request.scope } : {}),
          documentData: jsonObject(request.document_data, 'document_data'),
          ...holder,
          ...(request.valid_from ? { validFrom: dateTime(request.valid_from, 'valid_from') } : {}),
          ...(request.valid_until ? { validUntil: dateTime(request.valid_until, 'valid_until') } : {}),
        }),
      );
      return { jwt: issued.credential, credential_id: issued.id, valid_from: issued.validFrom, ...(issued.validUntil ? { valid_until: issued.validUntil } : {}) };
    },

    async JWKS() {
      const { issuer, keys } = await issuance.jwks();
      return { issuer, keys: keys.map(({ kty, crv, x, y, kid, alg, use }) => ({ kty, crv, x, y, kid, alg, use })) };
    },
  };
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

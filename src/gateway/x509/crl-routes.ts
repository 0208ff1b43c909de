import type { AuditLogRepository } from '../../db/audit-log-repository';
import type { Response } from 'express';
import type { CrlService, SignedCrl } from '../../x509/crl-service';
import { isoSeconds, x509 } from '../../x509/x509-support';
import { AlreadyRevokedError, ConflictError, InvalidFormatError, RouteNotFoundError } from '../api-errors';
import { auditCall } from '../audit-call';
import { type AnyRouteSpec, defineRoute } from '../route-registry';
import { CrlParams, RevokeDocumentSignerRequest, RevokeDocumentSignerResponse, RevokeIssuerDocumentSignerResponse, TargetParams } from './x509-schemas';
import { z } from 'zod';

export interface CrlRoutesDeps {
  crls: CrlService;
  audit: AuditLogRepository;
}

export interface X509AdminRoutesDeps {
  crls: CrlService;
  /** Replaces the issuer's active Document Signer when it is the one with this serial (src/credentials/document-signer-renewal.ts). */
  replaceIfActive: (serialHex: string) => Promise<{ kid: string; serialNumber: string } | undefined>;
}

/** The serial of a PEM certificate, hex. */
function serialOf(pem: string): string {
  try {
    return new x509.X509Certificate(pem).serialNumber;
  } catch {
    throw new InvalidFormatError('certificatePEM: is not a PEM X.509 certificate', { fields: [{ path: 'certificatePEM', message: 'is not a PEM X.509 certificate' }] });
  }
}

/** The CRL's bytes with its caching headers: public, at most an hour, never past nextUpdate. */
function sendCrl(res: Response, crl: SignedCrl | undefined, iacaId: string): Buffer {
  if (!crl) throw new RouteNotFoundError('No such CRL', { iacaId });
  const maxAge = Math.max(0, Math.min(3600, Math.floor((crl.nextUpdate.getTime() - Date.now()) / 1000)));
  res.setHeader('Cache-Control', `public, max-age=${maxAge}`);
  res.setHeader('Last-Modified', crl.thisUpdate.toUTCString());
  res.setHeader('Expires', crl.nextUpdate.toUTCString());
  return crl.der;
}

/**
 * CRLs of the X.509 service (docs/conventions.md, X.509 service: CRLs; src/x509/crl-service.ts): the
 * public CRL of each recorded IACA, and the revocation of a Document Signer (Bearer, the client that
 * issued it), which signs the IACA's next CRL at once.
 */
export function x509CrlRoutes({ crls, audit }: CrlRoutesDeps): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/:target/x509-service-api/iso/document-signers/revoke',
      operationId: 'x509RevokeDocumentSigner',
      summary: 'Revoke a Document Signer: it is on its IACA\'s next CRL (signed at once)',
      description:
        'By serialNumber (hex) or certificatePEM, for a Document Signer this client issued under an IACA of this service (one issued with a kms-hosted key). The IACA\'s CRL at crlUri is re-signed with the next CRL number before the answer; reason is an RFC 5280 §5.3.1 reason code (default unspecified). 404 for a certificate the client did not issue here, 409 ALREADY_REVOKED for a second revocation.',
      tags: ['X.509 service'],
      security: 'bearer',
      params: TargetParams,
      body: RevokeDocumentSignerRequest,
      response: RevokeDocumentSignerResponse,
      errors: [400, 401, 404, 409, 413, 415],
      handler: async (call) => {
        const { body, principal } = call;
        const serial = body.serialNumber ?? serialOf(body.certificatePEM!);
        const result = await crls.revoke(principal.client, serial, body.reason);
        if (result.outcome === 'not_found') throw new RouteNotFoundError('No Document Signer with this serial was issued by this client under an IACA of this service', { serialNumber: serial });
        if (result.outcome === 'ambiguous') throw new ConflictError('Several Document Signers of this client have this serial; revoke by certificatePEM', { iacaIds: result.iacaIds });
        if (result.outcome === 'already_revoked') {
          throw new AlreadyRevokedError('This Document Signer is already revoked', { serialNumber: result.documentSigner.serialNumber, revokedAt: isoSeconds(result.documentSigner.revokedAt!) });
        }
        await auditCall(audit, call, 'x509.document_signer.revoke', { target: call.params.target!, serial: result.documentSigner.serialNumber, iaca_id: result.documentSigner.iacaId, reason: body.reason });
        return { serialNumber: result.documentSigner.serialNumber, revokedAt: isoSeconds(result.revokedAt), reason: body.reason, crlUri: result.crlUri, crlNumber: result.crl.number.toString() };
      },
    }),

    defineRoute({
      method: 'get',
      path: '/x509/crls/:iacaId.crl',
      operationId: 'x509Crl',
      summary: 'The CRL of an IACA of this service (DER, RFC 5280)',
      description:
        'Signed by the IACA\'s key: v2, authorityKeyIdentifier, cRLNumber (one more per CRL signed), nextUpdate 7 days after thisUpdate; re-signed at least daily and at every revocation. Public and cacheable (max-age at most an hour, never past nextUpdate).',
      tags: ['X.509 service'],
      security: 'none',
      params: CrlParams,
      response: z.instanceof(Buffer),
      produces: 'application/pkix-crl',
      errors: [404],
      handler: async ({ params, res }) => sendCrl(res, await crls.currentCrl(params.iacaId!), params.iacaId!),
    }),

    defineRoute({
      method: 'get',
      path: '/crl/iaca.crl',
      operationId: 'x509IssuerIacaCrl',
      summary: 'The CRL of the issuer\'s active IACA (the distribution point development IACAs named before /x509/crls/)',
      description: 'The same CRL as /x509/crls/<id>.crl of the issuer\'s active IACA, for development IACAs and Document Signers made before the X.509 service recorded them.',
      tags: ['X.509 service'],
      security: 'none',
      response: z.instanceof(Buffer),
      produces: 'application/pkix-crl',
      errors: [404],
      handler: async ({ res }) => {
        const id = await crls.issuerActiveIacaId();
        return sendCrl(res, id ? await crls.currentCrl(id) : undefined, id ?? 'issuer');
      },
    }),
  ];
}

/**
 * The operator's side (admin API, role operate): revoking one of the issuer's own Document Signers
 * (the ones mdoc issuance signs with). Its IACA's next CRL is signed at once, and when it is the
 * active one it is replaced at once (a new key and certificate, as the renewal Schedule does), so
 * issuance never signs with a revoked Document Signer. The gateway audits the call.
 */
export function x509AdminRoutes({ crls, replaceIfActive }: X509AdminRoutesDeps): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/admin/v1/x509/document-signers/revoke',
      operationId: 'adminRevokeIssuerDocumentSigner',
      summary: 'Revoke one of the issuer\'s own Document Signers (replacing it when it is the active one)',
      description:
        'Role operate. By serialNumber or certificatePEM, with an RFC 5280 §5.3.1 reason (default unspecified). The IACA\'s CRL is re-signed before the answer; if the Document Signer was the active one, a new one replaces it (replacedBy names its kid and serial). 404 for a serial that is not one of the issuer\'s Document Signers, 409 ALREADY_REVOKED for a second revocation.',
      tags: ['Admin'],
      security: 'admin:operate',
      body: RevokeDocumentSignerRequest,
      response: RevokeIssuerDocumentSignerResponse,
      errors: [400, 401, 403, 404, 409, 413, 415],
      handler: async ({ body, res }) => {
        const serial = body.serialNumber ?? serialOf(body.certificatePEM!);
        res.locals.auditAction = 'admin.x509.document_signer.revoke';
        res.locals.auditTarget = { serial, reason: body.reason };
        const result = await crls.revoke(null, serial, body.reason);
        if (result.outcome === 'not_found') throw new RouteNotFoundError('No Document Signer of the issuer has this serial', { serialNumber: serial });
        if (result.outcome === 'ambiguous') throw new ConflictError('Several Document Signers of the issuer have this serial; revoke by certificatePEM', { iacaIds: result.iacaIds });
        if (result.outcome === 'already_revoked') {
          throw new AlreadyRevokedError('This Document Signer is already revoked', { serialNumber: result.documentSigner.serialNumber, revokedAt: isoSeconds(result.documentSigner.revokedAt!) });
        }
        const replaced = await replaceIfActive(result.documentSigner.serialNumber);
        return {
          serialNumber: result.documentSigner.serialNumber,
          revokedAt: isoSeconds(result.revokedAt),
          reason: body.reason,
          crlUri: result.crlUri,
          crlNumber: result.crl.number.toString(),
          ...(replaced ? { replacedBy: { kid: replaced.kid, serialNumber: replaced.serialNumber } } : {}),
        };
      },
    }),
  ];
}

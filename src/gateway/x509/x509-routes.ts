import type { AuditLogRepository } from '../../db/audit-log-repository';
import type { KmsService } from '../../kms/kms-service';
import type { CrlService } from '../../x509/crl-service';
import { type KeyContext, resolveSigningKey, resolveSubjectKey, type SubjectKey } from '../../x509/key-descriptors';
import { subjectKeyFromCsr } from '../../x509/csr';
import { iacaSignerFromData, iacaSignerFromPem, issueDocumentSigner, issueIaca } from '../../x509/iso-profiles';
import { isoSeconds, X509RequestError } from '../../x509/x509-support';
import { InvalidFormatError } from '../api-errors';
import { auditCall } from '../audit-call';
import type { CertificateStores } from './certificate-stores';
import { type AnyRouteSpec, defineRoute } from '../route-registry';
import { CreateDocumentSignerRequest, CreateIacaRequest, DocumentSignerResponse, IacaResponse, PublicKeySource, TargetParams } from './x509-schemas';
import type { z } from 'zod';

export interface X509RoutesDeps {
  kms: KmsService;
  audit: AuditLogRepository;
  stores: CertificateStores;
  /** CRLs: IACAs with KMS keys are recorded, and the Document Signers issued under them. */
  crls: CrlService;
  now?: () => Date;
}

const TAG = ['X.509 service'];

/** Runs `fn`, turning a request the X.509 service refuses into 400 INVALID_FORMAT naming the field. */
export async function refusingBadInput<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof X509RequestError) throw new InvalidFormatError(`${err.path}: ${err.message}`, { fields: [{ path: err.path, message: err.message }] });
    throw err;
  }
}

/** The subject key of a public-key source: a key descriptor's public half, or a verified CSR's key. */
export function subjectKeyOf(source: z.infer<typeof PublicKeySource>, ctx: KeyContext, path: string): Promise<SubjectKey> {
  return source.type === 'csr' ? subjectKeyFromCsr(source.csr, `${path}.csr`) : resolveSubjectKey(source.keyDescriptor, ctx, `${path}.keyDescriptor`);
}

/** The request's certificateData (as validated: known members only) with the validity the certificate got. */
export const withValidity = <T extends object>(data: T, issued: { notBefore: Date; notAfter: Date }) => ({ ...data, notBefore: isoSeconds(issued.notBefore), notAfter: isoSeconds(issued.notAfter) });

/**
 * The ISO endpoints of the X.509 service (docs/conventions.md, X.509 service): IACA roots and
 * Document Signers under ISO/IEC 18013-5 Annex B (src/x509/iso-profiles.ts).
 */
export function x509IsoRoutes({ kms, audit, stores, crls, now = () => new Date() }: X509RoutesDeps): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/:target/x509-service-api/iso/iacas',
      operationId: 'x509CreateIaca',
      summary: 'Issue an IACA root certificate (ISO/IEC 18013-5 Annex B)',
      description: 'Self-signed with iacaKeyDesc: basicConstraints CA pathLen 0 and keyUsage keyCertSign + cRLSign (critical), subjectKeyIdentifier, issuerAltName, validity at most 20 years.',
      tags: TAG,
      security: 'bearer',
      params: TargetParams,
      body: CreateIacaRequest,
      response: IacaResponse,
      errors: [400, 401, 404, 413, 415],
      handler: async (call) => {
        const { body, principal } = call;
        const ctx = { kms, client: principal.client };
        // A KMS-hosted IACA gets a CRL here; its certificate names that CRL unless the request names another.
        const keyIdPath = body.iacaKeyDesc.type === 'kms-hosted-key-descriptor' ? body.iacaKeyDesc.keyIdPath : undefined;
        const iacaId = keyIdPath ? crls.newIacaId() : undefined;
        const data = iacaId && !body.certificateData.crlDistributionPointUri ? { ...body.certificateData, crlDistributionPointUri: crls.crlUri(iacaId) } : body.certificateData;
        const issued = await refusingBadInput(async () => issueIaca(data, await resolveSigningKey(body.iacaKeyDesc, ctx, 'iacaKeyDesc'), now()));
        const storedCertificateIds = await stores(principal.client, call.params.target!, body.storedCertificateId, { ...issued, profile: 'iaca', vicalMetadata: body.vicalEntryComplementaryMetadata });
        if (keyIdPath && iacaId) {
          await kms.recordCertificate(principal.client, keyIdPath, issued.certificatePem);
          await crls.recordIaca(iacaId, { client: principal.client, keyIdPath }, issued.certificatePem);
        }
        await auditCall(audit, call, 'x509.iaca.issue', { target: call.params.target!, serial: issued.serialNumber, stored: storedCertificateIds?.join(' ') ?? null, iaca_id: iacaId ?? null });
        return {
          certificatePEM: issued.certificatePem,
          ...(storedCertificateIds ? { storedCertificateIds } : {}),
          // The request's data as the seed echoes it; the CRL this service serves is named in crlUri.
          certificateData: withValidity(body.certificateData, issued),
          ...(iacaId ? { crlUri: crls.crlUri(iacaId) } : {}),
        };
      },
    }),

    defineRoute({
      method: 'post',
      path: '/v1/:target/x509-service-api/iso/document-signers',
      operationId: 'x509CreateDocumentSigner',
      summary: 'Issue a Document Signer certificate under an IACA (ISO/IEC 18013-5 Annex B)',
      description:
        'Signed by the IACA (iaca-cert-data-descriptor, or iaca-pem-cert-descriptor whose key must match the certificate) for a key descriptor or a CSR (its signature verified): keyUsage digitalSignature and extendedKeyUsage 1.0.18013.5.1.2 (critical), authorityKeyIdentifier = the IACA\'s subjectKeyIdentifier, cRLDistributionPoints, issuerAltName as the IACA\'s, country equal to the IACA\'s, validity at most 457 days and inside the IACA\'s.',
      tags: TAG,
      security: 'bearer',
      params: TargetParams,
      body: CreateDocumentSignerRequest,
      response: DocumentSignerResponse,
      errors: [400, 401, 404, 413, 415],
      handler: async (call) => {
        const { body, principal } = call;
        const ctx = { kms, client: principal.client };
        const source = body.dsPublicKeySource ?? { type: 'key-descriptor' as const, keyDescriptor: body.dsKeyDescriptor! };
        const sourcePath = body.dsPublicKeySource ? 'dsPublicKeySource' : 'dsKeyDescriptor';
        const issued = await refusingBadInput(async () => {
          const signer = body.iacaSigner;
          const iacaKey = await resolveSigningKey(signer.iacaKeyDesc, ctx, 'iacaSigner.iacaKeyDesc');
          const iaca = signer.type === 'iaca-pem-cert-descriptor' ? await iacaSignerFromPem(signer.iacaPemEncodedCertificate, iacaKey) : await iacaSignerFromData(signer.certificateData, iacaKey);
          // An IACA recorded here (issued with a KMS key) keeps the serials it signs, for its CRL.
          const recorded = await crls.findIaca(principal.client, {
            certificatePem: signer.type === 'iaca-pem-cert-descriptor' ? signer.iacaPemEncodedCertificate : undefined,
            keyIdentifier: iaca.keyIdentifier,
            subject: iaca.name.toString(),
          });
          const crlDistributionPointUri = body.certificateData.crlDistributionPointUri ?? (recorded ? crls.crlUri(recorded.id) : undefined);
          if (!crlDistributionPointUri) {
            throw new X509RequestError('certificateData.crlDistributionPointUri', 'is required (ISO/IEC 18013-5 Annex B): this IACA has no CRL served by this service (issue the IACA here with a kms-hosted key to get one)');
          }
          const data = { ...body.certificateData, crlDistributionPointUri };
          const subject = body.dsPublicKeySource ? await subjectKeyOf(source, ctx, sourcePath) : await resolveSubjectKey(body.dsKeyDescriptor!, ctx, sourcePath);
          return { ...(await issueDocumentSigner(iaca, data, subject, now())), subject, data, recorded };
        });
        const storedCertificateIds = await stores(principal.client, call.params.target!, body.storedCertificateId, { ...issued, profile: 'document_signer' });
        if (issued.subject.keyIdPath) await kms.recordCertificate(principal.client, issued.subject.keyIdPath, issued.certificatePem);
        if (issued.recorded) await crls.recordDocumentSigner(issued.recorded.id, principal.client, issued);
        await auditCall(audit, call, 'x509.document_signer.issue', { target: call.params.target!, serial: issued.serialNumber, stored: storedCertificateIds?.join(' ') ?? null, iaca_id: issued.recorded?.id ?? null });
        return { certificatePEM: issued.certificatePem, ...(storedCertificateIds ? { storedCertificateIds } : {}), certificateData: withValidity(issued.data, issued) };
      },
    }),
  ];
}

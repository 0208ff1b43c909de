import { publicJwkOf } from '../../kms/kms-key-types';
import { resolveSigningKey, type SubjectKey } from '../../x509/key-descriptors';
import { type GenericIssuer, issueGenericCertificate } from '../../x509/generic-certificate';
import { X509RequestError } from '../../x509/x509-support';
import { auditCall } from '../audit-call';
import { type AnyRouteSpec, defineRoute } from '../route-registry';
import { CertificateResponse, CreateCertificateRequest } from './certificate-schemas';
import { refusingBadInput, subjectKeyOf, withValidity, type X509RoutesDeps } from './x509-routes';
import { TargetParams } from './x509-schemas';

/** Seed 003 "Create a generic certificate" (src/x509/generic-certificate.ts). */
export function x509CertificateRoutes({ kms, audit, stores, now = () => new Date() }: X509RoutesDeps): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/:target/x509-service-api/certificate',
      operationId: 'x509CreateCertificate',
      summary: 'Issue a generic X.509 certificate, self-signed or CA-signed',
      description:
        'Subject, issuer name, validity (default now to 365 days), CA constraints, keyUsage, extendedKeyUsage, subjectAlternativeNames (DNS, URI, e-mail, IP) and CRL distribution point as given, within RFC 5280\'s rules. Self-signed needs a key-descriptor (the subject key signs); a CSR needs a ca-signed issuer.',
      tags: ['X.509 service'],
      security: 'bearer',
      params: TargetParams,
      body: CreateCertificateRequest,
      response: CertificateResponse,
      errors: [400, 401, 404, 413, 415],
      handler: async (call) => {
        const { body, principal } = call;
        const ctx = { kms, client: principal.client };
        const source = body.subjectPublicKeySource;
        const issued = await refusingBadInput(async () => {
          let subject: SubjectKey;
          let issuer: GenericIssuer;
          if (body.issuer.type === 'self-signed') {
            if (source.type === 'csr') throw new X509RequestError('subjectPublicKeySource', 'a self-signed certificate is signed with the subject key: give a key-descriptor (a CSR needs a ca-signed issuer)');
            const key = await resolveSigningKey(source.keyDescriptor, ctx, 'subjectPublicKeySource.keyDescriptor');
            subject = key;
            issuer = { type: 'self-signed', key };
          } else {
            subject = await subjectKeyOf(source, ctx, 'subjectPublicKeySource');
            const key = await resolveSigningKey(body.issuer.issuerKeyDescriptor, ctx, 'issuer.issuerKeyDescriptor');
            issuer = { type: 'ca-signed', key, certificatePem: key.keyIdPath ? (await kms.get(principal.client, key.keyIdPath))?.certificatePem : undefined };
          }
          return { ...(await issueGenericCertificate(body.certificateData, subject, issuer, now())), subject };
        });
        const storedCertificateIds = await stores(principal.client, call.params.target!, body.storedCertificateId, { ...issued, profile: 'generic' });
        if (issued.subject.keyIdPath) await kms.recordCertificate(principal.client, issued.subject.keyIdPath, issued.certificatePem);
        await auditCall(audit, call, 'x509.certificate.issue', { target: call.params.target!, serial: issued.serialNumber, stored: storedCertificateIds?.join(' ') ?? null });
        return {
          ...(storedCertificateIds ? { storedCertificateIds } : {}),
          certificatePEM: issued.certificatePem,
          certificateData: { ...withValidity(body.certificateData, issued), issuerName: issued.issuerName, publicKeyJwk: publicJwkOf(issued.subject.publicJwk) },
        };
      },
    }),
  ];
}

import type { Config } from '../src/config/config';
import type { DocumentSignerRenewal } from '../src/credentials/document-signer-renewal';
import type { AuditLogRepository } from '../src/db/audit-log-repository';

export interface DocumentSignerActivityDeps {
  documentSignerRenewal: DocumentSignerRenewal;
}

/** Activities of the Document Signer renewal workflow (workflows/document-signer-renewal.ts). */
export const createDocumentSignerActivities = ({ documentSignerRenewal, audit, config }: DocumentSignerActivityDeps & { audit: AuditLogRepository; config: Config }) => ({
  /** Whether the active Document Signer is due for renewal (read-only). */
  async checkDocumentSignerRenewal({ marginDays }: { marginDays?: number }) {
    return documentSignerRenewal.check(marginDays ?? config.env.DOCUMENT_SIGNER_RENEWAL_MARGIN_DAYS);
  },
  /** Replaces the Document Signer `expectedKid` if it is still the active one; idempotent under retries. */
  async renewDocumentSigner({ expectedKid }: { expectedKid: string }) {
    const renewed = await documentSignerRenewal.renew(expectedKid);
    if (renewed.rotated) {
      await audit.append({ actor: 'worker:document-signer-renewal', action: 'x509.document_signer.renew', target: { kid: renewed.kid, previous_kid: renewed.previousKid, serial: renewed.serialNumber, not_after: renewed.notAfter } });
    }
    return renewed;
  },
});

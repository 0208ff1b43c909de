import { X509Certificate } from 'node:crypto';
import type { Db } from '../db/knex';
import { createSigningKeysRepository } from '../db/signing-keys-repository';
import type { DocumentSignerCheck, DocumentSignerRenewed } from '../../workflows/contracts/document-signer-renewal';
import { DAY_MS, isoSeconds, normaliseSerialHex } from '../x509/x509-support';
import type { KeyStore } from './key-store';

/**
 * Renewal of the issuer's active Document Signer (the `documentSignerRenewalWorkflow`'s activities):
 * `check` compares the active Document Signer certificate's notAfter with the margin
 * (DOCUMENT_SIGNER_RENEWAL_MARGIN_DAYS); `renew` rotates it through the key store (new key, new
 * certificate under the active IACA, recorded in the X.509 service; the old one retired, kept and
 * still valid), only if the kid it was asked to replace is still the active one.
 */
export interface DocumentSignerRenewal {
  check(marginDays: number): Promise<DocumentSignerCheck>;
  renew(expectedKid: string): Promise<DocumentSignerRenewed>;
  /** When the active Document Signer's certificate has serial `serialHex` (it was just revoked), replaces it at once; answers the replacement. */
  replaceIfActive(serialHex: string): Promise<DocumentSignerRenewed | undefined>;
}

export function createDocumentSignerRenewal(deps: { db: Db; keyStore: Pick<KeyStore, 'rotate'>; now?: () => Date }): DocumentSignerRenewal {
  const repo = createSigningKeysRepository(deps.db);
  const now = deps.now ?? (() => new Date());
  const certificateOf = (pem: string | null) => (pem ? new X509Certificate(pem) : undefined);

  async function renew(expectedKid: string): Promise<DocumentSignerRenewed> {
    const { kid, rotated } = await deps.keyStore.rotate('document_signer', { replacing: expectedKid });
    const row = await repo.byKid(kid);
    const cert = certificateOf(row?.certificatePem ?? null);
    if (!cert) throw new Error(`Document Signer ${kid} has no certificate`);
    return { rotated, kid, previousKid: expectedKid, serialNumber: normaliseSerialHex(cert.serialNumber), notAfter: isoSeconds(new Date(cert.validTo)) };
  }

  return {
    renew,
    async check(marginDays) {
      const [ds, iaca] = await Promise.all([repo.active('document_signer'), repo.active('iaca')]);
      const dsCert = certificateOf(ds?.certificatePem ?? null);
      if (!ds || !dsCert) return { decision: 'NO_DOCUMENT_SIGNER' };
      const at = now();
      const marginMs = marginDays * DAY_MS;
      const notAfter = new Date(dsCert.validTo);
      const renewFrom = new Date(notAfter.getTime() - marginMs);
      const iacaCert = certificateOf(iaca?.certificatePem ?? null);
      const iacaNotAfter = iacaCert ? new Date(iacaCert.validTo) : undefined;
      const facts = { kid: ds.kid, notAfter: isoSeconds(notAfter), renewFrom: isoSeconds(renewFrom), ...(iacaNotAfter ? { iacaNotAfter: isoSeconds(iacaNotAfter) } : {}) };
      if (at < renewFrom) return { decision: 'NOT_DUE', ...facts };
      // A new Document Signer ends with its IACA at the latest: renewing under an IACA inside the margin would only churn.
      if (!iacaNotAfter || iacaNotAfter.getTime() - at.getTime() <= marginMs) return { decision: 'IACA_EXPIRING', ...facts };
      return { decision: 'RENEW', ...facts };
    },

    async replaceIfActive(serialHex) {
      const ds = await repo.active('document_signer');
      const cert = certificateOf(ds?.certificatePem ?? null);
      if (!ds || !cert || normaliseSerialHex(cert.serialNumber) !== normaliseSerialHex(serialHex)) return undefined;
      return renew(ds.kid);
    },
  };
}

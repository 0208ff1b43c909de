import { join } from 'node:path';
import type { ActivityDeps } from '../../activities';
import { createEmailActivities } from '../../activities/email-activities';
import type { Config } from '../config/config';
import { createIssuanceService } from '../credentials/issuance-service';
import { deriveKekSubkeys } from '../credentials/kek-subkeys';
import { createKeyStore, keyStoreOptions, resolveKek } from '../credentials/key-store';
import { createIssuedCredentialsRepository } from '../db/issued-credentials-repository';
import { createAuditLogRepository } from '../db/audit-log-repository';
import { createDocumentsRepository } from '../db/documents-repository';
import { createKycRepository } from '../db/kyc-repository';
import type { Db } from '../db/knex';
import { createExpiredRowsRepository } from '../db/nonces-repository';
import { createOffersRepository } from '../db/offers-repository';
import { createOfferSecrets } from '../oid4vci/offer-secrets';

/** Where `dev` without SMTP_URL puts PIN e-mails (.eml files), so the local demo works end to end. */
export const devMailboxDir = (config: Config) => join(config.dataDir, 'mailbox');

/** Everything the activities need, built once per worker process from the configuration (keys provisioned). */
export async function createActivityDeps(config: Config, db: Db, overrides: Partial<ActivityDeps> = {}): Promise<ActivityDeps> {
  const subkeys = deriveKekSubkeys(resolveKek(config));
  const keyStore = createKeyStore(keyStoreOptions(config, db, { kek: subkeys.keySealing }));
  await keyStore.ensureProvisioned();
  const email = createEmailActivities({
    smtpUrl: config.env.SMTP_URL,
    ...(config.file.environment === 'development' ? { mailboxDir: devMailboxDir(config) } : {}),
    from: `${config.file.issuer.name} <no-reply@${new URL(config.issuerUrl).hostname}>`, issuerName: config.file.issuer.name,
  });
  return {
    config,
    audit: createAuditLogRepository(db),
    secret: (name) => process.env[name],
    fetch: globalThis.fetch,
    offers: createOffersRepository(db),
    documents: createDocumentsRepository(db, { dateFormats: config.file.identity_matching.date_formats }),
    secrets: createOfferSecrets(subkeys.offerSecrets),
    issuance: createIssuanceService({ config, keyStore }),
    issued: createIssuedCredentialsRepository(db, subkeys.pickupSealing),
    sendPinEmail: email.sendPinEmail,
    sendNoticeEmail: email.sendNoticeEmail,
    kyc: createKycRepository(db),
    expiredRows: createExpiredRowsRepository(db),
    ...overrides,
  };
}

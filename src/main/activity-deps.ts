import { join } from 'node:path';
import type { ActivityDeps } from '../../activities';
import { createEmailActivities } from '../../activities/email-activities';
import type { Config } from '../config/config';
import { createIssuanceService } from '../credentials/issuance-service';
import { instrumentIssuance } from '../metrics/metrics';
import { createDocumentSignerRenewal } from '../credentials/document-signer-renewal';
import { deriveKekSubkeys } from '../credentials/kek-subkeys';
import { createKeyStore, keyStoreOptions, resolveKek } from '../credentials/key-store';
import { createIssuedCredentialsRepository } from '../db/issued-credentials-repository';
import { createAuditLogRepository } from '../db/audit-log-repository';
import { createDocumentsRepository } from '../db/documents-repository';
import { createInteractionEventsRepository } from '../db/interaction-events-repository';
import { createKycRepository } from '../db/kyc-repository';
import type { Db } from '../db/knex';
import { createExpiredRowsRepository } from '../db/nonces-repository';
import { createOffersRepository } from '../db/offers-repository';
import { createRevocationsRepository } from '../db/revocations-repository';
import { createStatusListsRepository } from '../db/status-lists-repository';
import { createStatusEventsRepository } from '../db/status-events-repository';
import { createStatusListTokensRepository } from '../db/status-list-tokens-repository';
import { createStatusListPublisher, type StatusListPublisherDeps } from '../credentials/status-list-publisher';
import { createOfferSecrets } from '../oid4vci/offer-secrets';
import { webhookOutboxFor } from '../webhooks/outbox-dispatcher';

/** Where `dev` without SMTP_URL puts PIN e-mails (.eml files), so the local demo works end to end. */
export const devMailboxDir = (config: Config) => join(config.dataDir, 'mailbox');

/** The publisher's settings from the configuration (STATUS_LIST_TTL, STATUS_LIST_VALIDITY), for the gateway and the worker alike. */
export const statusListPublisherOptions = (config: Config, parts: Pick<StatusListPublisherDeps, 'lists' | 'keyStore' | 'tokens'>): StatusListPublisherDeps => ({
  issuerUrl: config.issuerUrl,
  ttlSeconds: config.env.STATUS_LIST_TTL,
  validitySeconds: config.env.STATUS_LIST_VALIDITY,
  ...parts,
});

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
  const statusLists = createStatusListsRepository(db);
  const outbox = webhookOutboxFor(config, db);
  return {
    config,
    audit: createAuditLogRepository(db),
    statusLists,
    revocations: createRevocationsRepository(db, statusLists),
    statusEvents: createStatusEventsRepository(db),
    secret: (name) => process.env[name],
    fetch: globalThis.fetch,
    offers: createOffersRepository(db),
    outbox,
    documents: createDocumentsRepository(db, { dateFormats: config.file.identity_matching.date_formats }),
    secrets: createOfferSecrets(subkeys.offerSecrets),
    issuance: instrumentIssuance(createIssuanceService({ config, keyStore }), 'offer'),
    issued: createIssuedCredentialsRepository(db, subkeys.pickupSealing),
    sendPinEmail: email.sendPinEmail,
    sendNoticeEmail: email.sendNoticeEmail,
    kyc: createKycRepository(db),
    interactionEvents: createInteractionEventsRepository(db, outbox),
    expiredRows: createExpiredRowsRepository(db),
    webhookSigner: () => keyStore.webhookSigner(),
    documentSignerRenewal: createDocumentSignerRenewal({ db, keyStore }),
    statusListPublisher: createStatusListPublisher(statusListPublisherOptions(config, { lists: statusLists, keyStore, tokens: createStatusListTokensRepository(db) })),
    ...overrides,
  };
}

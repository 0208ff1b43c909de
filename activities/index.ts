import type { Config } from '../src/config/config';
import type { AuditLogRepository } from '../src/db/audit-log-repository';
import { createAuditActivities } from './audit-activities';
import { createDocumentSignerActivities, type DocumentSignerActivityDeps } from './document-signer-activities';
import { createKycActivities, type KycActivityDeps } from './kyc-activities';
import { createInteractionActivities, type InteractionActivityDeps } from './interaction-activities';
import { createIssuanceActivities, type IssuanceActivityDeps } from './issuance-activities';
import { createOfferActivities, type OfferActivityDeps } from './offer-activities';
import { createRevocationActivities, type RevocationActivityDeps } from './revocation-activities';
import { createStatusListActivities, type StatusListActivityDeps } from './status-list-activities';
import { createUpkeepActivities, type UpkeepDeps } from './upkeep-activities';
import { createWebhookActivities, type WebhookDeps } from './webhook-activities';

/** Everything activities need, built once by the worker's entry point. */
export interface ActivityDeps extends OfferActivityDeps, IssuanceActivityDeps, UpkeepDeps, RevocationActivityDeps, DocumentSignerActivityDeps, KycActivityDeps, InteractionActivityDeps, StatusListActivityDeps {
  config: Config;
  audit: AuditLogRepository;
  secret: (name: string) => string | undefined;
  fetch: typeof fetch;
  webhookSigner: WebhookDeps['webhookSigner'];
}

export const createActivities = (deps: ActivityDeps) => ({
  ...createWebhookActivities(deps),
  ...createAuditActivities(deps),
  ...createOfferActivities(deps),
  ...createIssuanceActivities(deps),
  ...createUpkeepActivities(deps),
  ...createRevocationActivities(deps),
  ...createDocumentSignerActivities(deps),
  ...createKycActivities(deps),
  ...createInteractionActivities(deps),
  ...createStatusListActivities(deps),
});

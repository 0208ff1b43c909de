import type { Config } from '../src/config/config';
import type { AuditLogRepository } from '../src/db/audit-log-repository';
import { createAuditActivities } from './audit-activities';
import { createKycActivities, type KycActivityDeps } from './kyc-activities';
import { createIssuanceActivities, type IssuanceActivityDeps } from './issuance-activities';
import { createOfferActivities, type OfferActivityDeps } from './offer-activities';
import { createUpkeepActivities, type UpkeepDeps } from './upkeep-activities';
import { createWebhookActivities } from './webhook-activities';

/** Everything activities need, built once by the worker's entry point. */
export interface ActivityDeps extends OfferActivityDeps, IssuanceActivityDeps, UpkeepDeps, KycActivityDeps {
  config: Config;
  audit: AuditLogRepository;
  secret: (name: string) => string | undefined;
  fetch: typeof fetch;
}

export const createActivities = (deps: ActivityDeps) => ({
  ...createWebhookActivities(deps),
  ...createAuditActivities(deps),
  ...createOfferActivities(deps),
  ...createIssuanceActivities(deps),
  ...createUpkeepActivities(deps),
  ...createKycActivities(deps),
});

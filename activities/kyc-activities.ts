import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Config } from '../src/config/config';
import type { DocumentsRepository, StoredIdentity } from '../src/db/documents-repository';
import type { KycRepository } from '../src/db/kyc-repository';
import type { OffersRepository } from '../src/db/offers-repository';
import type { WebhookOutbox } from '../src/db/webhook-outbox-repository';
import { normalizeDate } from '../src/identity/date-normalization';
import { matchIdentityYielding } from '../src/identity/identity-matching';
import { fileTypeOfMediaType } from '../src/kyc/file-types';
import { createKycTemplates, fileRefsIn } from '../src/kyc/kyc-templates';
import { prepareOffer } from '../src/oid4vci/offer-preparation';
import type { OfferSecrets } from '../src/oid4vci/offer-secrets';
import type { PreparedOffer } from '../workflows/contracts/batch-offer';
import type { OnboardingState } from '../workflows/contracts/onboarding';
import type { NoticeEmailInput } from './email-activities';

export interface KycActivityDeps {
  config: Config;
  kyc: KycRepository;
  documents: DocumentsRepository;
  offers: OffersRepository;
  outbox: WebhookOutbox;
  secrets: OfferSecrets;
  sendNoticeEmail: (input: NoticeEmailInput) => Promise<{ messageId: string }>;
}

/**
 * The onboarding workflow's I/O (workflows/onboarding.ts). Each takes and returns ids, codes and
 * counters only: attribute values, e-mail addresses, reasons and files are read here, from
 * kyc_applications and kyc_files, and never returned into the history.
 */
export const createKycActivities = ({ config, kyc, documents, offers, secrets, sendNoticeEmail, outbox }: KycActivityDeps) => {
  const templates = createKycTemplates(config);
  const workflowId = () => Context.current().info.workflowExecution?.workflowId ?? 'onboarding';
  const applicationOf = async (applicationId: string) => {
    const app = await kyc.application(applicationId);
    if (!app) throw ApplicationFailure.nonRetryable(`application ${applicationId} not found`, 'ApplicationNotFound');
    const template = templates.get(app.template_id);
    if (!template) throw ApplicationFailure.nonRetryable(`template ${app.template_id} is no longer configured`, 'ApplicationNotFound');
    return { app, template };
  };

  return {
    /** Automated checks: every referenced file exists, is the wallet's and of a type its attribute accepts; the attributes match the template; the applicant matches an authentic source's person where the template asks (identity_match). Failure codes only. */
    async runApplicationChecks({ applicationId }: { applicationId: string }): Promise<{ failures: string[] }> {
      const { app, template } = await applicationOf(applicationId);
      const failures = new Set<string>();
      if (templates.checkApplication(template, app.attributes).length > 0) failures.add('attributes_invalid');
      const files = await kyc.files(app.file_ids);
      for (const attribute of app.attributes) {
        const accepted = templates.fileTypesOf(template, attribute.id);
        for (const fileId of fileRefsIn(attribute.data.value)) {
          const file = files.find((f) => f.file_id === fileId && f.wallet === app.wallet);
          if (!file) failures.add('file_missing');
          else if (!accepted.includes(fileTypeOfMediaType(file.media_type)!)) failures.add('file_type');
        }
      }
      // Where the template says so, the applicant must be exactly one person of an authentic source's documents.
      const match = template.config.identity_match;
      if (match) {
        const rules = config.file.identity_matching;
        const claims = templates.claimsOf(template, app.attributes);
        const presented = { schema: match.schema, ...Object.fromEntries(rules.required_attributes.map((a) => [a, claims[a]])) };
        const birthDateIso = typeof claims.birth_date === 'string' ? normalizeDate(claims.birth_date, rules.date_formats) : undefined;
        const candidates = await documents.identityCandidates(match.authentic_source, { ...(birthDateIso && rules.required_attributes.includes('birth_date') ? { birthDateIso } : {}), ...(match.vct ? { vct: match.vct } : {}) });
        const result = await matchIdentityYielding(presented, candidates.map((c) => ({ personId: c.personId, identity: c.identity })), rules);
        if (result.kind !== 'match') failures.add(result.kind === 'ambiguous' ? 'identity_ambiguous' : result.kind === 'invalid' ? 'identity_invalid' : 'identity_not_matched');
      }
      return { failures: [...failures] };
    },

    async recordApplicationState({ applicationId, state }: { applicationId: string; state: OnboardingState }): Promise<void> {
      await kyc.setState(applicationId, state);
    },

    /** Reminds the reviewers (kyc.review.reviewers) of an undecided application; none configured: nothing is sent. */
    async sendReviewReminder({ applicationId, reminder }: { applicationId: string; reminder: number }): Promise<void> {
      const reviewers = config.file.kyc?.review.reviewers ?? [];
      if (reviewers.length === 0) return;
      await sendNoticeEmail({
        to: [...reviewers],
        subject: `KYC application ${applicationId} is waiting for review`,
        text: `The KYC application ${applicationId} has been waiting for a decision (reminder ${reminder}).\nDecide in the admin API: POST /admin/v1/kyc/applications/${applicationId}/review\n`,
        idempotencyKey: `${workflowId()}/reminder-${reminder}`,
      });
    },

    /** Tells the applicant the outcome (rejection with the reviewer's reason, failed checks, expiry); without an address nothing is sent. */
    async sendApplicantNotice({ applicationId, notice }: { applicationId: string; notice: 'rejected' | 'checks_failed' | 'expired' }): Promise<void> {
      const { app } = await applicationOf(applicationId);
      if (!app.email) return;
      const issuer = config.file.issuer.name;
      const text = {
        rejected: `Your KYC application ${applicationId} was not approved.\n\nReason: ${app.decision_reason ?? 'not given'}\n\nYou may apply again.\n`,
        checks_failed: `Your KYC application ${applicationId} could not be reviewed: its documents or attributes did not pass the automated checks. You may apply again.\n`,
        expired: `Your KYC application ${applicationId} expired before a decision was made. You may apply again.\n`,
      }[notice];
      await sendNoticeEmail({ to: app.email, subject: `Your application with ${issuer}`, text, idempotencyKey: `${workflowId()}/notice-${notice}` });
    },

    /**
     * Stores the approved attributes as a document of the template's credential type (under its
     * authentic source, document id = application id, the applicant as its identity) and records a
     * new offer for it, as the notification path does (src/oid4vci/offer-preparation.ts).
     */
    async prepareOnboardingOffer({ applicationId }: { applicationId: string }): Promise<PreparedOffer> {
      const { app, template } = await applicationOf(applicationId);
      const claims = templates.claimsOf(template, app.attributes);
      const key = { authentic_source: template.authenticSource, vct: template.config.credential_type, document_id: applicationId };
      const identity: StoredIdentity = {
        authentic_source_person_id: app.wallet,
        family_name: typeof claims.family_name === 'string' ? claims.family_name : '',
        given_name: typeof claims.given_name === 'string' ? claims.given_name : '',
        birth_date: typeof claims.birth_date === 'string' ? claims.birth_date : '',
        ...(app.email ? { email: app.email } : {}),
      };
      await documents.upsert(
        { meta: { ...key }, identities: [identity], document_data: claims },
        { requestId: `kyc-${applicationId}`, actor: 'kyc:onboarding', action: 'kyc.document.store', target: { ...key, application_id: applicationId } },
      );
      return prepareOffer({ config, documents, offers, secrets, outbox }, key, app.email ?? undefined);
    },
  };
};

import { condition, getExternalWorkflowHandle, proxyActivities, setHandler, startChild, upsertSearchAttributes } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { cancelOfferSignal, CREDENTIAL_OFFER_WORKFLOW_TYPE, type CredentialOfferWorkflow, credentialOfferWorkflowId } from './contracts/credential-offer';
import { type OnboardingInput, type OnboardingState, type OnboardingStatus, onboardingStateQuery, reofferSignal, type ReviewDecision, reviewDecisionSignal, withdrawApplicationSignal } from './contracts/onboarding';
import { AuthenticSource, DocumentId, ProcessState, Vct } from './contracts/search-attributes';

const { runApplicationChecks, recordApplicationState, sendReviewReminder, sendApplicantNotice, prepareOnboardingOffer } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '2s', maximumInterval: '1m', nonRetryableErrorTypes: ['ApplicationNotFound', 'EmailNotConfigured', 'EmailRejected', 'NoRecipient'] },
});

/**
 * KYC onboarding of one application (issue 19, seed 004): automated checks, then an operator's
 * review (the `review` signal, from the admin endpoint or the Temporal UI) with reminder e-mails to
 * the reviewers every `reminderAfterSeconds` and expiry after `expireAfterSeconds`; on approval a
 * credential offer as a child workflow (PIN by e-mail), done when the credential is collected. A
 * rejection e-mails the applicant the reason (read from kyc_applications by the activity); an offer
 * that ends uncollected waits for the operator's `reoffer` signal, without a new review.
 * The history holds ids, states and counters only. Contract: workflows/contracts/onboarding.ts.
 */
export async function onboardingWorkflow(input: OnboardingInput): Promise<OnboardingStatus> {
  const status: OnboardingStatus = { applicationId: input.applicationId, state: 'CHECKING', checkFailures: [], remindersSent: 0, offers: 0 };
  let decision: ReviewDecision['decision'] | undefined;
  let withdrawn = false;
  let reoffer = false;
  const setState = async (state: OnboardingState) => {
    status.state = state;
    upsertSearchAttributes([{ key: ProcessState, value: state }]);
    await recordApplicationState({ applicationId: input.applicationId, state });
  };
  upsertSearchAttributes([
    { key: AuthenticSource, value: input.authenticSource },
    { key: Vct, value: input.vct },
    { key: DocumentId, value: input.applicationId },
    { key: ProcessState, value: status.state },
  ]);
  setHandler(onboardingStateQuery, () => status);
  setHandler(reviewDecisionSignal, ({ decision: d }) => {
    if (status.state === 'IN_REVIEW' && decision === undefined && (d === 'approve' || d === 'reject')) decision = d;
  });
  setHandler(withdrawApplicationSignal, () => {
    withdrawn = true;
  });
  setHandler(reofferSignal, () => {
    if (status.state === 'OFFER_EXPIRED') reoffer = true;
  });

  // 1. Automated checks: files present and of an accepted type, attributes valid for the template.
  const { failures } = await runApplicationChecks({ applicationId: input.applicationId });
  if (failures.length > 0) {
    status.checkFailures = failures;
    await setState('CHECKS_FAILED');
    await sendApplicantNotice({ applicationId: input.applicationId, notice: 'checks_failed' });
    return status;
  }
  if (withdrawn) {
    await setState('WITHDRAWN');
    return status;
  }

  // 2. Operator review, with reminders, until decided, withdrawn or expired.
  await setState('IN_REVIEW');
  const reviewEnds = Date.now() + input.expireAfterSeconds * 1000;
  while (decision === undefined && !withdrawn) {
    const left = reviewEnds - Date.now();
    if (left <= 0) break;
    const decided = await condition(() => decision !== undefined || withdrawn, Math.min(left, input.reminderAfterSeconds * 1000));
    if (!decided && Date.now() < reviewEnds) {
      status.remindersSent++;
      await sendReviewReminder({ applicationId: input.applicationId, reminder: status.remindersSent });
    }
  }
  if (withdrawn) {
    await setState('WITHDRAWN');
    return status;
  }
  if (decision === undefined) {
    await setState('EXPIRED');
    await sendApplicantNotice({ applicationId: input.applicationId, notice: 'expired' });
    return status;
  }
  if (decision === 'reject') {
    await setState('REJECTED');
    await sendApplicantNotice({ applicationId: input.applicationId, notice: 'rejected' });
    return status;
  }

  // 3. Approved: offer the credential until it is collected; an expired offer may be re-offered.
  await setState('APPROVED');
  for (;;) {
    const prepared = await prepareOnboardingOffer({ applicationId: input.applicationId });
    if (!prepared.ok) {
      // The document could not be offered (flow disabled, not valid): the operator may re-offer later.
      status.offerId = undefined;
    } else {
      status.offers++;
      status.offerId = prepared.input.offerId;
      await setState('OFFERED');
      const child = await startChild<CredentialOfferWorkflow>(CREDENTIAL_OFFER_WORKFLOW_TYPE, {
        workflowId: credentialOfferWorkflowId(input.authenticSource, input.vct, input.applicationId),
        args: [prepared.input],
      });
      const withdrawWatch = condition(() => withdrawn).then(() => getExternalWorkflowHandle(child.workflowId, child.firstExecutionRunId).signal(cancelOfferSignal));
      const result = await child.result();
      void withdrawWatch.catch(() => undefined);
      if (result.state === 'ISSUED') {
        await setState('COLLECTED');
        return status;
      }
      if (withdrawn) {
        await setState('WITHDRAWN');
        return status;
      }
    }
    await setState('OFFER_EXPIRED');
    reoffer = false;
    const again = await condition(() => reoffer || withdrawn, input.expireAfterSeconds * 1000);
    if (withdrawn || !again) {
      await setState(withdrawn ? 'WITHDRAWN' : 'EXPIRED');
      return status;
    }
  }
}


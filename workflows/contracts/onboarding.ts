import { defineQuery, defineSignal } from '@temporalio/workflow';

/**
 * The contract of the KYC onboarding workflow (workflows/onboarding.ts, issue 19): id, input, state
 * and messages. The gateway, the activities and the tests import this module, never the
 * implementation. The history carries ids, states and counters only: attribute values, e-mail
 * addresses, file contents and reasons stay in PostgreSQL (kyc_applications, kyc_files).
 */
export const ONBOARDING_WORKFLOW_TYPE = 'onboardingWorkflow';
export type OnboardingWorkflow = (input: OnboardingInput) => Promise<OnboardingStatus>;

export const onboardingWorkflowId = (applicationId: string) => `onboarding/${applicationId}`;

export interface OnboardingInput {
  applicationId: string;
  templateId: string;
  /** The authentic source and vct of the credential an approved applicant receives (the template's credential type). */
  authenticSource: string;
  vct: string;
  /** Seconds until reviewers are reminded of an undecided application (kyc.review.reminder_after), and again after as long. */
  reminderAfterSeconds: number;
  /** Seconds until an undecided application expires (kyc.review.expire_after); also how long an expired offer may be re-offered. */
  expireAfterSeconds: number;
}

/**
 * CHECKING → IN_REVIEW → APPROVED → OFFERED → COLLECTED, or CHECKS_FAILED, REJECTED, WITHDRAWN,
 * EXPIRED (no decision in time, or an expired offer not re-offered in time); OFFER_EXPIRED waits for
 * the operator's `reoffer` signal.
 */
export type OnboardingState = 'CHECKING' | 'CHECKS_FAILED' | 'IN_REVIEW' | 'APPROVED' | 'OFFERED' | 'OFFER_EXPIRED' | 'COLLECTED' | 'REJECTED' | 'WITHDRAWN' | 'EXPIRED';
/** States in which an application is over: the wallet may apply again with the same template, except after COLLECTED. */
export const FINAL_ONBOARDING_STATES: readonly OnboardingState[] = ['CHECKS_FAILED', 'COLLECTED', 'REJECTED', 'WITHDRAWN', 'EXPIRED'];

export interface OnboardingStatus {
  applicationId: string;
  state: OnboardingState;
  /** Codes of failed automated checks (`file_missing`, `file_type`, `attributes_invalid`), no values. */
  checkFailures: string[];
  remindersSent: number;
  /** Offers made so far (a re-offer adds one); the current offer's id. */
  offers: number;
  offerId?: string;
}

export const onboardingStateQuery = defineQuery<OnboardingStatus>('state');

/**
 * The reviewer's decision, from the admin endpoint (which records the reason in kyc_applications
 * first, so the reason never enters the history) or from the Temporal UI (`{"decision":"approve"}`).
 */
export interface ReviewDecision {
  decision: 'approve' | 'reject';
  /** Admin token name or UI user; an id, not personal data. */
  reviewer?: string;
}
export const reviewDecisionSignal = defineSignal<[ReviewDecision]>('review');
/** The applicant withdraws (`POST /kyc/applications/:id/withdraw`). */
export const withdrawApplicationSignal = defineSignal<[]>('withdraw');
/** The operator offers the credential again after an offer expired uncollected; no new review. */
export const reofferSignal = defineSignal<[]>('reoffer');

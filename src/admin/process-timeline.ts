import { defaultPayloadConverter } from '@temporalio/common';
import type proto from '@temporalio/proto';

type History = proto.temporal.api.history.v1.IHistory;
type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;
type Payload = proto.temporal.api.common.v1.IPayload;

/**
 * The business events of one process, read from its Temporal history for an operator (issue 21):
 * when it started, each `ProcessState` it entered, the PIN e-mail, each PIN attempt, redemption,
 * credentials issued, wallet events, cancellation, child processes and the end.
 *
 * Only whitelisted facts leave this module: event names, states, counters, enum values and ids. The
 * inputs of Updates and signals (the gateway's redemption proof, holder keys) and the results of
 * activities (pickup ids) are never copied; histories hold no PIN, code or personal data in the
 * first place (docs/architecture.md, Workflows), and this keeps it so for whatever they might hold.
 */
export interface TimelineEntry {
  /** ISO 8601 time of the history event. */
  at: string;
  /** `started`, `state`, `pin_sent`, `pin_not_sent`, `pin_wrong`, `pin_resent`, `unlocked`, `redeemed`, `redeem_refused`, `credentials_issued`, `credential_request_failed`, `wallet_event`, `cancel_requested`, `offer_closed`, `webhook_delivered`, `webhook_failed`, `checks_run`, `review_reminder_sent`, `applicant_notified`, `offer_prepared`, `signal` (with its name: `review`, `withdraw`, `reoffer`), `child_started`, `activity_completed`, `activity_failed`, `completed`, `failed`, `terminated`, `cancelled`, `timed_out`, `continued_as_new`. */
  event: string;
  /** Facts of the event: only ids, states, counters and enum values. */
  details?: Record<string, string | number>;
}

/** Activities whose completion is a business step, with the event name an operator reads. */
const ACTIVITY_EVENTS: Record<string, { completed: string; failed: string }> = {
  sendOfferPin: { completed: 'pin_sent', failed: 'pin_not_sent' },
  closeOffer: { completed: 'offer_closed', failed: 'activity_failed' },
  deliverWebhook: { completed: 'webhook_delivered', failed: 'webhook_failed' },
  // KYC onboarding (workflows/onboarding.ts).
  runApplicationChecks: { completed: 'checks_run', failed: 'activity_failed' },
  sendReviewReminder: { completed: 'review_reminder_sent', failed: 'activity_failed' },
  sendApplicantNotice: { completed: 'applicant_notified', failed: 'activity_failed' },
  prepareOnboardingOffer: { completed: 'offer_prepared', failed: 'activity_failed' },
};
const WALLET_EVENTS = new Set(['credential_accepted', 'credential_failure', 'credential_deleted']);
const REDEEM_REASONS = new Set(['wrong_pin', 'locked', 'not_redeemable']);
const STATE_PATTERN = /^[A-Z_]{1,32}$/;

const decode = (payload: Payload | null | undefined): unknown => {
  if (!payload) return undefined;
  try {
    return defaultPayloadConverter.fromPayload(payload as never);
  } catch {
    return undefined;
  }
};
const record = (value: unknown): Record<string, unknown> => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {});

function eventTime(event: HistoryEvent): string {
  const ts = event.eventTime;
  if (!ts) return new Date(0).toISOString();
  return new Date(Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
}

export function processTimeline(history: History): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  const activityNames = new Map<string, string>();
  const updateNames = new Map<string, string>();
  const push = (event: HistoryEvent, name: string, details?: TimelineEntry['details']) => entries.push({ at: eventTime(event), event: name, ...(details ? { details } : {}) });

  for (const event of history.events ?? []) {
    const id = String(event.eventId ?? '');
    const pushState = (fields: Record<string, Payload> | null | undefined) => {
      const raw = decode(fields?.ProcessState);
      const state = Array.isArray(raw) ? raw[0] : raw;
      if (typeof state === 'string' && STATE_PATTERN.test(state)) push(event, 'state', { state });
    };
    if (event.workflowExecutionStartedEventAttributes) {
      push(event, 'started', { workflow_type: event.workflowExecutionStartedEventAttributes.workflowType?.name ?? '' });
      // Offers are started with their first ProcessState (offerStartSearchAttributes); older ones upsert it.
      pushState(event.workflowExecutionStartedEventAttributes.searchAttributes?.indexedFields);
    } else if (event.upsertWorkflowSearchAttributesEventAttributes) {
      pushState(event.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields);
    } else if (event.activityTaskScheduledEventAttributes) {
      activityNames.set(id, event.activityTaskScheduledEventAttributes.activityType?.name ?? '');
    } else if (event.activityTaskCompletedEventAttributes || event.activityTaskFailedEventAttributes || event.activityTaskTimedOutEventAttributes) {
      const attributes = event.activityTaskCompletedEventAttributes ?? event.activityTaskFailedEventAttributes ?? event.activityTaskTimedOutEventAttributes!;
      const activity = activityNames.get(String(attributes.scheduledEventId ?? '')) ?? '';
      const known = ACTIVITY_EVENTS[activity];
      const ok = event.activityTaskCompletedEventAttributes !== undefined && event.activityTaskCompletedEventAttributes !== null;
      if (known) push(event, ok ? known.completed : known.failed, ok ? undefined : { activity });
      else push(event, ok ? 'activity_completed' : 'activity_failed', { activity });
    } else if (event.markerRecordedEventAttributes?.markerName === 'core_local_activity') {
      // A local activity leaves a marker, not task events (the PIN mail since the pin-mail-local-activity patch).
      const attributes = event.markerRecordedEventAttributes;
      const activity = record(decode(attributes.details?.data?.payloads?.[0])).activity_type;
      const known = typeof activity === 'string' ? ACTIVITY_EVENTS[activity] : undefined;
      const ok = !attributes.failure;
      if (known) push(event, ok ? known.completed : known.failed, ok ? undefined : { activity: activity as string });
    } else if (event.workflowExecutionUpdateAcceptedEventAttributes) {
      updateNames.set(id, event.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest?.input?.name ?? '');
    } else if (event.workflowExecutionUpdateCompletedEventAttributes) {
      const attributes = event.workflowExecutionUpdateCompletedEventAttributes;
      const name = updateNames.get(String(attributes.acceptedEventId ?? '')) ?? '';
      const success = attributes.outcome?.success?.payloads?.[0];
      const result = record(decode(success));
      if (name === 'redeem') {
        if (result.ok === true) push(event, 'redeemed');
        else if (result.reason === 'wrong_pin') push(event, 'pin_wrong', typeof result.attemptsLeft === 'number' ? { attempts_left: result.attemptsLeft } : undefined);
        else push(event, 'redeem_refused', typeof result.reason === 'string' && REDEEM_REASONS.has(result.reason) ? { reason: result.reason } : undefined);
      } else if (name === 'resendPin') {
        if (success) push(event, 'pin_resent', typeof result.pinGeneration === 'number' ? { pin_generation: result.pinGeneration } : undefined);
      } else if (name === 'unlockOffer') {
        if (success) push(event, 'unlocked');
      } else if (name === 'issueCredentials') {
        if (success) push(event, 'credentials_issued', { count: Array.isArray(result.pickupIds) ? result.pickupIds.length : 0 });
        else push(event, 'credential_request_failed');
      }
    } else if (event.workflowExecutionSignaledEventAttributes) {
      const attributes = event.workflowExecutionSignaledEventAttributes;
      if (attributes.signalName === 'cancel') push(event, 'cancel_requested');
      else if (attributes.signalName === 'walletNotification') {
        const reported = record(decode(attributes.input?.payloads?.[0])).event;
        push(event, 'wallet_event', typeof reported === 'string' && WALLET_EVENTS.has(reported) ? { event: reported } : undefined);
      } else push(event, 'signal', { name: attributes.signalName ?? '' });
    } else if (event.startChildWorkflowExecutionInitiatedEventAttributes) {
      const attributes = event.startChildWorkflowExecutionInitiatedEventAttributes;
      push(event, 'child_started', { workflow_id: attributes.workflowId ?? '', workflow_type: attributes.workflowType?.name ?? '' });
    } else if (event.workflowExecutionCompletedEventAttributes) push(event, 'completed');
    else if (event.workflowExecutionFailedEventAttributes) push(event, 'failed');
    else if (event.workflowExecutionTerminatedEventAttributes) push(event, 'terminated');
    else if (event.workflowExecutionCanceledEventAttributes) push(event, 'cancelled');
    else if (event.workflowExecutionTimedOutEventAttributes) push(event, 'timed_out');
    else if (event.workflowExecutionContinuedAsNewEventAttributes) push(event, 'continued_as_new');
  }
  return entries;
}

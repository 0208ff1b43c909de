import { condition, getExternalWorkflowHandle, patched, proxyActivities, setHandler, startChild, upsertSearchAttributes } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { cancelOfferSignal, CREDENTIAL_OFFER_WORKFLOW_TYPE, type CredentialOfferWorkflow, credentialOfferWorkflowId, offerStartSearchAttributes } from './contracts/credential-offer';
import { cancelRevocationSignal, type RevocationInput, type RevocationState, type RevocationStatus, revocationStateQuery } from './contracts/revocation';
import { AuthenticSource, DocumentId, ProcessState, Vct } from './contracts/search-attributes';
import { type WebhookDeliveryWorkflow, WEBHOOK_DELIVERY_WORKFLOW_TYPE, webhookDeliveryWorkflowId } from './contracts/webhook-delivery';

const { fireScheduledRevocation, prepareReplacementOffer } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

/**
 * A scheduled revocation (seed 000 `revocation.revoke_at` in the future): sleeps on a durable timer
 * until `revokeAt` (a worker restart in between changes nothing: the timer is Temporal's), then
 * revokes every credential of the document and cancels its open offer. The cancel endpoint first
 * removes the scheduled row, then signals; the activity revokes only a row still scheduled, so a
 * cancellation that wins the race in PostgreSQL is never overridden. With a replacement (seed 000
 * `revocation.reference`; also for an immediate revocation, whose `revokeAt` is now), the workflow
 * then records and starts the replacement's offer as an abandoned child that names what it
 * replaces; `state` shows the link and the offer's outcome (behind the `revocation-replacement` patch).
 */
export async function revocationWorkflow(input: RevocationInput): Promise<RevocationStatus> {
  const status: RevocationStatus = { state: 'SCHEDULED', revokeAt: input.revokeAt, credentialsRevoked: 0 };
  if (input.replacement) {
    const r = input.replacement;
    status.replacement = { ...r, offer: 'PENDING', offerWorkflowId: credentialOfferWorkflowId(r.authenticSource, r.vct, r.documentId) };
  }
  const setState = (state: RevocationState) => {
    status.state = state;
    upsertSearchAttributes([{ key: ProcessState, value: state }]);
  };
  upsertSearchAttributes([
    { key: AuthenticSource, value: input.authenticSource },
    { key: Vct, value: input.vct },
    { key: DocumentId, value: input.documentId },
    { key: ProcessState, value: status.state },
  ]);
  let cancelRequested = false;
  setHandler(revocationStateQuery, () => status);
  setHandler(cancelRevocationSignal, () => {
    cancelRequested = true;
  });

  const delayMs = Date.parse(input.revokeAt) - Date.now();
  if (delayMs > 0) await condition(() => cancelRequested, delayMs);
  if (cancelRequested) {
    setState('CANCELLED');
    return status;
  }
  const key = { authentic_source: input.authenticSource, vct: input.vct, document_id: input.documentId };
  const outcome = await fireScheduledRevocation(key);
  if (!outcome.revoked) {
    setState('CANCELLED');
    return status;
  }
  status.credentialsRevoked = outcome.credentialsRevoked;
  // A revoked document is not offered any more: end its open offer, if any.
  try {
    await getExternalWorkflowHandle(credentialOfferWorkflowId(input.authenticSource, input.vct, input.documentId)).signal(cancelOfferSignal);
  } catch {
    // No offer running for it.
  }
  setState('REVOKED');
  // Tell the source (if it has a notification_endpoint) by the durable delivery workflow; histories
  // recorded before the `revocation-webhook` patch sent nothing.
  if (input.notifySource && outcome.event && patched('revocation-webhook')) {
    await startChild<WebhookDeliveryWorkflow>(WEBHOOK_DELIVERY_WORKFLOW_TYPE, {
      workflowId: webhookDeliveryWorkflowId(input.authenticSource, outcome.event.id),
      args: [{ subscriber: input.authenticSource, event: outcome.event }],
      parentClosePolicy: 'ABANDON',
    });
  }
  if (status.replacement && patched('revocation-replacement')) await offerReplacement(status.replacement, { authenticSource: input.authenticSource, vct: input.vct, documentId: input.documentId });
  return status;
}

/** Records the replacement's offer (naming what it replaces) and starts it as an abandoned child; the outcome goes into `replacement`. */
async function offerReplacement(replacement: NonNullable<RevocationStatus['replacement']>, replaces: { authenticSource: string; vct: string; documentId: string }): Promise<void> {
  const { authenticSource, vct, documentId } = replacement;
  const prepared = await prepareReplacementOffer({ replacement: { authenticSource, vct, documentId }, replaces });
  if (!prepared.ok) {
    replacement.offer = prepared.reason;
    return;
  }
  try {
    await startChild<CredentialOfferWorkflow>(CREDENTIAL_OFFER_WORKFLOW_TYPE, {
      workflowId: replacement.offerWorkflowId,
      args: [prepared.input],
      typedSearchAttributes: offerStartSearchAttributes(prepared.input),
      parentClosePolicy: 'ABANDON',
    });
    replacement.offer = 'offered';
    replacement.offerId = prepared.input.offerId;
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    replacement.offer = 'already_offered';
  }
}

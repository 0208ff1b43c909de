import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { proxyActivities, setHandler, startChild, upsertSearchAttributes } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { type BatchOfferInput, type BatchStatus, batchStateQuery } from './contracts/batch-offer';
import { type CredentialOfferWorkflow, CREDENTIAL_OFFER_WORKFLOW_TYPE, credentialOfferWorkflowId, offerStartSearchAttributes } from './contracts/credential-offer';
import { AuthenticSource, ProcessState, Vct } from './contracts/search-attributes';

/**
 * Seed 000 "Generate Offers in Batch": starts one offer workflow per document, a bounded number at
 * a time, and keeps a per-document result an operator (and the source, through the API) can read.
 * Offers are started as abandoned children: each lives on by itself, as if notified one by one.
 */
export async function batchOfferWorkflow(input: BatchOfferInput): Promise<BatchStatus> {
  const status: BatchStatus = { batchId: input.batchId, state: 'RUNNING', total: input.documentIds.length, done: 0, documents: input.documentIds.map((documentId) => ({ documentId, status: 'pending' })) };
  setHandler(batchStateQuery, () => status);
  upsertSearchAttributes([
    { key: AuthenticSource, value: input.authenticSource },
    { key: Vct, value: input.vct },
    { key: ProcessState, value: 'RUNNING' },
  ]);
  const { prepareBatchOffer } = proxyActivities<ReturnType<typeof createActivities>>({ startToCloseTimeout: '30s' });

  const offerOne = async (item: BatchStatus['documents'][number]) => {
    try {
      const prepared = await prepareBatchOffer({ authenticSource: input.authenticSource, vct: input.vct, documentId: item.documentId });
      if (!prepared.ok) {
        item.status = prepared.reason;
        return;
      }
      try {
        await startChild<CredentialOfferWorkflow>(CREDENTIAL_OFFER_WORKFLOW_TYPE, {
          workflowId: credentialOfferWorkflowId(input.authenticSource, input.vct, item.documentId),
          args: [prepared.input],
          typedSearchAttributes: offerStartSearchAttributes(prepared.input),
          parentClosePolicy: 'ABANDON',
        });
        item.status = 'offered';
        item.offerId = prepared.input.offerId;
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        item.status = 'already_offered';
      }
    } catch {
      item.status = 'failed';
    } finally {
      status.done++;
    }
  };

  for (let i = 0; i < status.documents.length; i += input.concurrency) {
    await Promise.all(status.documents.slice(i, i + input.concurrency).map(offerOne));
  }
  status.state = 'DONE';
  upsertSearchAttributes([{ key: ProcessState, value: 'DONE' }]);
  return status;
}

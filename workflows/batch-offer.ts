import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { defineQuery, proxyActivities, setHandler, startChild, upsertSearchAttributes } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { credentialOfferWorkflow, credentialOfferWorkflowId } from './credential-offer';
import { AuthenticSource, ProcessState, Vct } from './search-attributes';

/**
 * Seed 000 "Generate Offers in Batch": starts one offer workflow per document, a bounded number at
 * a time, and keeps a per-document result an operator (and the source, through the API) can read.
 * Offers are started as abandoned children: each lives on by itself, as if notified one by one.
 */
export interface BatchOfferInput {
  batchId: string;
  authenticSource: string;
  vct: string;
  documentIds: string[];
  concurrency: number;
}

export type BatchItemStatus = 'pending' | 'offered' | 'already_offered' | 'document_not_found' | 'document_not_valid' | 'flow_disabled' | 'failed';

export interface BatchStatus {
  batchId: string;
  state: 'RUNNING' | 'DONE';
  total: number;
  done: number;
  documents: { documentId: string; status: BatchItemStatus; offerId?: string }[];
}

export const batchStateQuery = defineQuery<BatchStatus>('state');

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
        await startChild(credentialOfferWorkflow, {
          workflowId: credentialOfferWorkflowId(input.authenticSource, input.vct, item.documentId),
          args: [prepared.input],
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

import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes that business workflows set, so an operator finds any holder's process
 * in the Temporal UI (docs/operations.md, everyday tasks). Registered in the namespace by `dev`, the test harness
 * and the compose deployment.
 */
export const AuthenticSource = defineSearchAttributeKey('AuthenticSource', SearchAttributeType.KEYWORD);
export const Vct = defineSearchAttributeKey('Vct', SearchAttributeType.KEYWORD);
export const DocumentId = defineSearchAttributeKey('DocumentId', SearchAttributeType.KEYWORD);
export const ProcessState = defineSearchAttributeKey('ProcessState', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_KEYS = [AuthenticSource, Vct, DocumentId, ProcessState] as const;

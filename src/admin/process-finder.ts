import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import { processTimeline, type TimelineEntry } from './process-timeline';

const { temporal } = proto;

/**
 * Finding and inspecting the issuer's processes for operators (issue 21), through Temporal
 * visibility and the search attributes every business workflow sets (workflows/search-attributes.ts):
 * `AuthenticSource`, `Vct`, `DocumentId`, `ProcessState`, plus Temporal's own `WorkflowType`,
 * `TaskQueue` and `StartTime`. Every query is limited to this deployment's task queue, so deployments
 * sharing a namespace do not see each other's processes.
 */

/** Process kinds and their workflow types; other issues add theirs (revocation, onboarding) here. */
export const PROCESS_KINDS = {
  offer: 'credentialOfferWorkflow',
  batch: 'batchOfferWorkflow',
  webhook: 'webhookDeliveryWorkflow',
  upkeep: 'upkeepPurgeWorkflow',
  onboarding: 'onboardingWorkflow',
} as const;
export type ProcessKind = keyof typeof PROCESS_KINDS;
const KIND_OF_TYPE = new Map<string, ProcessKind>(Object.entries(PROCESS_KINDS).map(([kind, type]) => [type, kind as ProcessKind]));

/** TEMPORAL_UI_URL, else where the dev server serves its UI: TEMPORAL_ADDRESS's port + 1000 (docs/conventions.md, Ports). */
export function temporalUiBaseUrl(env: { TEMPORAL_UI_URL?: string | undefined; TEMPORAL_ADDRESS?: string | undefined }): string {
  if (env.TEMPORAL_UI_URL) return env.TEMPORAL_UI_URL.replace(/\/+$/, '');
  const match = env.TEMPORAL_ADDRESS ? /^(.*):(\d+)$/.exec(env.TEMPORAL_ADDRESS) : null;
  const port = match ? Number(match[2]) + 1000 : NaN;
  return match && port <= 65535 ? `http://${match[1]}:${port}` : 'http://localhost:8233';
}

export interface ProcessFilter {
  authenticSource?: string;
  vct?: string;
  documentId?: string;
  state?: string;
  kind?: ProcessKind;
  startedAfter?: Date;
  startedBefore?: Date;
}

export interface ProcessSummary {
  workflow_id: string;
  run_id: string;
  kind: ProcessKind;
  workflow_type: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, CANCELED, TERMINATED, CONTINUED_AS_NEW, TIMED_OUT. */
  status: string;
  /** The business state (`ProcessState` search attribute). */
  state: string | null;
  authentic_source: string | null;
  vct: string | null;
  document_id: string | null;
  started_at: string | null;
  closed_at: string | null;
  temporal_ui_url: string;
}

/** True when `value` holds no quote, backslash or control character (each could end or bend a query literal). */
export const isSafeLiteral = (value: string): boolean => ![...value].some((c) => c === '"' || c === "'" || c === '\\' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

/** A literal in a visibility query; values the API accepts never hold quotes or backslashes (checked again here). */
function literal(value: string): string {
  if (!isSafeLiteral(value)) throw new Error('visibility query values must not contain quotes, backslashes or control characters');
  return `'${value}'`;
}

/** The visibility query (Temporal's SQL-like list filter) for `filter` within `taskQueue`. */
export function visibilityQuery(filter: ProcessFilter, taskQueue: string): string {
  const clauses = [`TaskQueue = ${literal(taskQueue)}`];
  clauses.push(filter.kind ? `WorkflowType = ${literal(PROCESS_KINDS[filter.kind])}` : `(${Object.values(PROCESS_KINDS).map((type) => `WorkflowType = ${literal(type)}`).join(' OR ')})`);
  if (filter.authenticSource !== undefined) clauses.push(`AuthenticSource = ${literal(filter.authenticSource)}`);
  if (filter.vct !== undefined) clauses.push(`Vct = ${literal(filter.vct)}`);
  if (filter.documentId !== undefined) clauses.push(`DocumentId = ${literal(filter.documentId)}`);
  if (filter.state !== undefined) clauses.push(`ProcessState = ${literal(filter.state)}`);
  if (filter.startedAfter) clauses.push(`StartTime >= ${literal(filter.startedAfter.toISOString())}`);
  if (filter.startedBefore) clauses.push(`StartTime < ${literal(filter.startedBefore.toISOString())}`);
  return clauses.join(' AND ');
}

const STATUS = temporal.api.enums.v1.WorkflowExecutionStatus;
const statusName = (status: number | null | undefined): string => (STATUS[status ?? 0] ?? 'UNSPECIFIED').replace(/^WORKFLOW_EXECUTION_STATUS_/, '');
const iso = (ts: proto.google.protobuf.ITimestamp | null | undefined): string | null => (ts ? new Date(Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString() : null);

function keyword(fields: Record<string, proto.temporal.api.common.v1.IPayload> | null | undefined, name: string): string | null {
  const payload = fields?.[name];
  if (!payload) return null;
  const value = defaultPayloadConverter.fromPayload(payload as never) as unknown;
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? first : null;
}

export interface ProcessFinderOptions {
  client: Client;
  namespace: string;
  taskQueue: string;
  /** Base URL of the Temporal UI for deep links (TEMPORAL_UI_URL). */
  temporalUiUrl: string;
}

export interface ProcessDetail extends ProcessSummary {
  /** The workflow's `state` query, or null when it could not be answered (error in `state_error`). */
  state_query: unknown;
  state_error?: string;
  timeline: TimelineEntry[];
}

export function createProcessFinder({ client, namespace, taskQueue, temporalUiUrl }: ProcessFinderOptions) {
  const uiUrl = (workflowId: string, runId: string) =>
    `${temporalUiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;
  const summary = (info: proto.temporal.api.workflow.v1.IWorkflowExecutionInfo): ProcessSummary | undefined => {
    const type = info.type?.name ?? '';
    const kind = KIND_OF_TYPE.get(type);
    if (!kind) return undefined;
    const fields = info.searchAttributes?.indexedFields;
    const workflowId = info.execution?.workflowId ?? '';
    const runId = info.execution?.runId ?? '';
    return {
      workflow_id: workflowId,
      run_id: runId,
      kind,
      workflow_type: type,
      status: statusName(info.status),
      state: keyword(fields, 'ProcessState'),
      authentic_source: keyword(fields, 'AuthenticSource'),
      vct: keyword(fields, 'Vct'),
      document_id: keyword(fields, 'DocumentId'),
      started_at: iso(info.startTime),
      closed_at: iso(info.closeTime),
      temporal_ui_url: uiUrl(workflowId, runId),
    };
  };

  return {
    /** One page of processes matching `filter`, newest first as visibility orders them; `pageToken` continues a previous page. */
    async find(filter: ProcessFilter, page: { pageSize: number; pageToken?: string }): Promise<{ processes: ProcessSummary[]; next_page_token: string | null }> {
      const response = await client.workflowService.listWorkflowExecutions({
        namespace,
        query: visibilityQuery(filter, taskQueue),
        pageSize: page.pageSize,
        ...(page.pageToken ? { nextPageToken: Buffer.from(page.pageToken, 'base64url') } : {}),
      });
      const token = response.nextPageToken && response.nextPageToken.length > 0 ? Buffer.from(response.nextPageToken).toString('base64url') : null;
      return { processes: (response.executions ?? []).map(summary).filter((s): s is ProcessSummary => s !== undefined), next_page_token: token };
    },

    /** One process (its latest run, or `runId`) with its `state` query and timeline; undefined when it does not exist here. */
    async get(workflowId: string, runId?: string): Promise<ProcessDetail | undefined> {
      const handle = client.workflow.getHandle(workflowId, runId);
      let described;
      try {
        described = await handle.describe();
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      }
      const info = described.raw.workflowExecutionInfo;
      if (!info || info.taskQueue !== taskQueue) return undefined;
      const base = summary(info);
      if (!base) return undefined;
      const pinned = client.workflow.getHandle(workflowId, base.run_id);
      const [history, state] = await Promise.all([
        pinned.fetchHistory(),
        pinned.query<unknown>('state').then(
          (value) => ({ value, error: undefined }),
          (err: Error) => ({ value: null, error: err.message }),
        ),
      ]);
      return { ...base, state_query: state.value, ...(state.error !== undefined ? { state_error: state.error } : {}), timeline: processTimeline(history) };
    },
  };
}

export type ProcessFinder = ReturnType<typeof createProcessFinder>;

import { z } from 'zod';
import { isSafeLiteral, PROCESS_KINDS } from '../../admin/process-finder';

/** Operator API payloads (`/admin/v1`, issue 21). Query strings are strict: an unknown parameter is INVALID_FORMAT. */

/** A value compared in a visibility query: no quotes, backslashes or control characters (they would end the literal). */
const SearchValue = z
  .string()
  .min(1)
  .max(512)
  .refine(isSafeLiteral, 'must not contain quotes, backslashes or control characters');

export const FindProcessesQuery = z.strictObject({
  authentic_source: SearchValue.optional().meta({ description: 'AuthenticSource search attribute, e.g. hr.example.org' }),
  vct: SearchValue.optional().meta({ description: 'Vct search attribute (the credential type)' }),
  document_id: SearchValue.optional().meta({ description: 'DocumentId search attribute (offers carry it)' }),
  state: z.string().regex(/^[A-Z_]{1,32}$/, 'an upper-case ProcessState such as OFFERED or DEAD_LETTERED').optional().meta({ description: 'ProcessState: OFFERED, REDEEMED, ISSUED, EXPIRED, LOCKED, CANCELLED (offers), RUNNING, DONE (batches), DELIVERING, DELIVERED, DEAD_LETTERED, NOT_CONFIGURED, REFUSED (webhooks)' }),
  kind: z.enum(Object.keys(PROCESS_KINDS) as [keyof typeof PROCESS_KINDS, ...(keyof typeof PROCESS_KINDS)[]]).optional().meta({ description: 'offer, batch, webhook or upkeep' }),
  started_after: z.iso.datetime({ offset: true }).optional().meta({ description: 'Started at or after this RFC 3339 time' }),
  started_before: z.iso.datetime({ offset: true }).optional().meta({ description: 'Started before this RFC 3339 time' }),
  page_size: z.coerce.number().int().min(1).max(100).default(20).meta({ description: 'Processes per page (1-100, default 20)' }),
  page_token: z.string().regex(/^[A-Za-z0-9_-]{1,4096}$/, 'the next_page_token of a previous page').optional().meta({ description: 'next_page_token of the previous page' }),
});

export const ProcessSummarySchema = z
  .object({
    workflow_id: z.string(),
    run_id: z.string(),
    kind: z.string(),
    workflow_type: z.string(),
    status: z.string().meta({ description: 'Temporal execution status: RUNNING, COMPLETED, FAILED, TERMINATED, ...' }),
    state: z.string().nullable().meta({ description: 'Business state (ProcessState search attribute)' }),
    authentic_source: z.string().nullable(),
    vct: z.string().nullable(),
    document_id: z.string().nullable(),
    started_at: z.string().nullable(),
    closed_at: z.string().nullable(),
    temporal_ui_url: z.string().meta({ description: 'This run in the Temporal UI' }),
  })
  .meta({ id: 'ProcessSummary' });

export const FindProcessesResponse = z.object({
  processes: z.array(ProcessSummarySchema),
  next_page_token: z.string().nullable().meta({ description: 'Pass as page_token for the next page; null on the last page' }),
});

export const ProcessParams = z.object({ workflow_id: z.string().min(1).max(1000) });
export const ProcessQuery = z.strictObject({ run_id: z.uuid().optional().meta({ description: 'A particular run; default the latest' }) });

export const TimelineEntrySchema = z
  .object({
    at: z.string(),
    event: z.string().meta({ description: 'started, state, pin_sent, pin_wrong, pin_resent, unlocked, redeemed, credentials_issued, wallet_event, cancel_requested, offer_closed, child_started, webhook_delivered, completed, ...' }),
    details: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  })
  .meta({ id: 'TimelineEntry' });

export const ProcessDetailResponse = ProcessSummarySchema.extend({
  state_query: z.unknown().meta({ description: 'The workflow\'s `state` query result (ids and counters only)' }),
  state_error: z.string().optional().meta({ description: 'Why the state query could not be answered (no worker, ...)' }),
  timeline: z.array(TimelineEntrySchema),
}).meta({ id: 'ProcessDetail' });

export const OfferKeyBody = z.strictObject({
  authentic_source: z.string().min(1).max(256),
  vct: z.string().min(1).max(512),
  document_id: z.string().min(1).max(256),
});

import { z } from 'zod';
import type { DocumentTimelineReader } from '../../admin/document-timeline';
import { isSafeLiteral } from '../../admin/process-finder';
import { DocumentNotFoundError } from '../api-errors';
import { type AnyRouteSpec, defineRoute } from '../route-registry';
import { ProcessSummarySchema } from './admin-schemas';

/** Compared in a visibility query too: no quotes, backslashes or control characters. */
const KeyPart = (max: number) => z.string().min(1).max(max).refine(isSafeLiteral, 'must not contain quotes, backslashes or control characters');

const DocumentTimelineQuery = z.strictObject({
  authentic_source: KeyPart(256),
  vct: KeyPart(512),
  document_id: KeyPart(256),
});

const DocumentTimelineResponse = z
  .object({
    document: z.object({ authentic_source: z.string(), vct: z.string(), document_id: z.string(), stored: z.boolean().meta({ description: 'false once the document was deleted (its offers, credentials and processes remain)' }) }),
    events: z.array(
      z.object({
        at: z.string(),
        event: z.string().meta({ description: 'uploaded, last_uploaded, offer_created, offer_ended, credential_issued, revocation_scheduled_for, revoked, <kind>_process_started, <kind>_process_closed' }),
        from: z.enum(['postgresql', 'temporal']),
        details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
      }),
    ),
    processes: z.array(ProcessSummarySchema),
  })
  .meta({ id: 'DocumentTimeline' });

/** The operator's view of one document across its processes (issue 21). */
export function documentTimelineRoutes({ timeline }: { timeline: DocumentTimelineReader }): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/admin/v1/documents/timeline',
      operationId: 'adminDocumentTimeline',
      summary: "A document's timeline across its processes: uploads, offers, credentials with format and status index, revocations, workflows",
      description:
        'Role read. Joined from PostgreSQL (documents, credential_offers, issued_credentials, document_revocations) and Temporal visibility (the workflows whose AuthenticSource, Vct and DocumentId search attributes name the document), in time order. Ids, states, formats and times only: never document data, identities, e-mail addresses or credentials. 404 DOCUMENT_NOT_FOUND when nothing is known of the document.',
      tags: ['Admin'],
      security: 'admin:read',
      query: DocumentTimelineQuery,
      response: DocumentTimelineResponse,
      errors: [400, 401, 403, 404],
      handler: async ({ query, res }) => {
        res.locals.auditAction = 'admin.document.timeline';
        res.locals.auditTarget = { authentic_source: query.authentic_source, vct: query.vct, document_id: query.document_id };
        const found = await timeline(query);
        if (!found) throw new DocumentNotFoundError('Nothing is known of this document');
        return found;
      },
    }),
  ];
}

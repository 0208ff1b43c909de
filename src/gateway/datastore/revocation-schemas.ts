import { z } from 'zod';
import { AuthenticSourceName, DocumentId, DocumentRef, Vct } from './datastore-schemas';

/** Seed 000 "Revoke a credential": `POST /api/v1/document/revoke`. */
export const RevokeRequest = z
  .strictObject({
    authentic_source: AuthenticSourceName,
    vct: Vct,
    revocation: z.strictObject({
      id: DocumentId.meta({ description: 'The document_id of the document whose credentials are revoked' }),
      reason: z.string().trim().min(1).max(1000).optional().meta({ description: 'Kept with the revocation record; never published, never in a workflow history' }),
      revoke_at: z.number().int().min(0).max(253402300799).optional().meta({ description: 'Unix seconds; absent or past: now; future: a revocation workflow waits until then' }),
      reference: DocumentRef.optional().meta({ description: 'The replacement document: an offer for it starts when the old one is revoked' }),
    }),
  })
  .meta({ id: 'RevokeRequest' });
export type RevokeRequest = z.infer<typeof RevokeRequest>;

export const RevokeResponse = z
  .object({
    data: z.object({
      status: z.enum(['revoked', 'scheduled']),
      credentials_revoked: z.number().int().optional().meta({ description: 'Status-list entries set to INVALID (all formats, all batch copies)' }),
      revoke_at: z.number().int().optional(),
      workflow_id: z.string().optional().meta({ description: 'The revocation workflow `revocation/<source>/<vct>/<document_id>` of a scheduled revocation, or of one with a replacement' }),
      replacement: z
        .object({
          authentic_source: z.string(),
          vct: z.string(),
          document_id: z.string(),
          offer_started: z.boolean().meta({ description: 'An offer runs for the replacement (started by the revocation workflow, or already running)' }),
          offer: z.string().meta({ description: 'offered, already_offered, or why no offer was started (already_revoked, document_not_valid, flow_disabled); PENDING while a scheduled revocation waits' }),
          offer_workflow_id: z.string(),
        })
        .optional(),
    }),
  })
  .meta({ id: 'RevokeResponse' });

export const StatusChangeResponse = z
  .object({ data: z.object({ status: z.enum(['suspended', 'reinstated', 'cancelled']), credentials_changed: z.number().int().optional() }) })
  .meta({ id: 'StatusChangeResponse' });

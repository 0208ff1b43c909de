import { z } from 'zod';
import { jsonDepth } from '../json-depth';

/**
 * Seed 000 Datastore API payloads. Strict objects: an unknown key is a client bug that should be
 * reported (INVALID_FORMAT with its path), not silently dropped.
 */

const Text = (max: number) => z.string().trim().min(1).max(max);
/** Ids travel in workflow ids and URLs: printable ASCII without spaces or slashes. */
const Identifier = z.string().min(1).max(256).regex(/^[\x21-\x2e\x30-\x7e]+$/, 'printable ASCII without spaces or "/"');
const UnixSeconds = z.number().int().min(0).max(253402300799);

export const AuthenticSourceName = Text(256).meta({ description: 'Identifier of the authentic source, e.g. hr.example.org' });
export const Vct = Text(512).meta({ description: 'Verifiable credential type (SD-JWT VC `vct`, or the mdoc doctype)' });
export const DocumentId = Identifier.meta({ description: 'The authentic source\'s id of the document' });

export const IdentitySchemaRef = z
  .strictObject({ name: Text(64), version: Text(32) })
  .meta({ description: 'Identity schema, e.g. {"name":"SE","version":"1.0.0"}' });

/** A person who may collect the document (the holder, or a legal representative). */
export const Identity = z
  .strictObject({
    authentic_source_person_id: Text(256).optional(),
    schema: IdentitySchemaRef.optional(),
    family_name: Text(256),
    given_name: Text(256),
    birth_date: Text(64).meta({ description: 'Birth date; ISO 8601 (YYYY-MM-DD) or a configured date format' }),
    birth_place: Text(256).optional(),
    birth_family_name: Text(256).optional(),
    birth_given_name: Text(256).optional(),
    nationality: z.array(z.string().regex(/^[A-Z]{2}$/)).max(10).optional(),
    sex: Text(16).optional(),
    personal_administrative_number: Text(64).optional(),
    email: z.email().max(320).optional().meta({ description: 'Where the PIN (tx_code) e-mail goes' }),
  })
  .meta({ id: 'Identity' });

export const UploadMeta = z
  .strictObject({
    authentic_source: AuthenticSourceName,
    vct: Vct,
    document_id: DocumentId,
    document_version: Text(64).optional(),
    document_type: Text(128).optional(),
    collect: z
      .strictObject({ id: Identifier, valid_until: UnixSeconds.optional() })
      .optional()
      .meta({ description: 'Collect id the holder presents to `POST /document/collect_id` (defaults to document_id)' }),
    real_data: z.boolean().optional().meta({ description: 'false marks test data' }),
    credential_valid_from: UnixSeconds.optional().meta({ description: 'Unix seconds; the credential is not valid before' }),
    credential_valid_to: UnixSeconds.optional().meta({ description: 'Unix seconds; the credential is not valid after' }),
  })
  .refine((m) => m.credential_valid_from === undefined || m.credential_valid_to === undefined || m.credential_valid_from < m.credential_valid_to, {
    message: 'credential_valid_from must be before credential_valid_to',
    path: ['credential_valid_to'],
  });

export const DocumentDisplay = z.strictObject({
  version: Text(32).optional(),
  type: Text(128).optional(),
  description_short: Text(256).optional(),
  description_long: Text(4096).optional(),
  valid_from: UnixSeconds.optional(),
  valid_to: UnixSeconds.optional(),
});

/** Deepest nesting of objects and arrays accepted in `document_data` (a credential's claims are a few levels deep). */
export const MAX_DOCUMENT_DATA_DEPTH = 32;

/** Claims of the credential; validated against the credential type's metadata (VCTM) by the Datastore issue. */
export const DocumentData = z
  .record(z.string().min(1).max(256), z.unknown())
  .refine((d) => Object.keys(d).length > 0, 'must not be empty')
  .refine((d) => jsonDepth(d, MAX_DOCUMENT_DATA_DEPTH) <= MAX_DOCUMENT_DATA_DEPTH, `must not nest objects and arrays deeper than ${MAX_DOCUMENT_DATA_DEPTH} levels`);

export const UploadRequest = z
  .strictObject({
    meta: UploadMeta,
    identities: z.array(Identity).min(1).max(20),
    document_display: DocumentDisplay.optional(),
    document_data: DocumentData,
    document_data_version: Text(32).optional(),
  })
  .meta({ id: 'UploadRequest' });
export type UploadRequest = z.infer<typeof UploadRequest>;

export const UploadResponse = z
  .object({
    data: z.object({
      authentic_source: z.string(),
      vct: z.string(),
      document_id: z.string(),
      result: z.enum(['created', 'updated', 'unchanged']).meta({ description: 'unchanged when an identical upload was already stored' }),
    }),
  })
  .meta({ id: 'UploadResponse' });

export const DocumentRef = z
  .strictObject({ authentic_source: AuthenticSourceName, vct: Vct, document_id: DocumentId })
  .meta({ id: 'DocumentRef' });
export type DocumentRef = z.infer<typeof DocumentRef>;

export const DocumentResponse = z
  .object({
    data: z.object({
      meta: z.record(z.string(), z.unknown()),
      identities: z.array(z.record(z.string(), z.unknown())),
      document_display: z.record(z.string(), z.unknown()).optional(),
      document_data: z.record(z.string(), z.unknown()),
      document_data_version: z.string().optional(),
    }),
  })
  .meta({ id: 'DocumentResponse' });

/** Seed 000 batch provisioning in one request: each document is validated and stored on its own. */
export const BatchUploadRequest = z
  .strictObject({ documents: z.array(z.unknown()).min(1).max(500).meta({ description: 'Upload requests (the `POST /upload` body), at most 500' }) })
  .meta({ id: 'BatchUploadRequest' });

export const BatchUploadResponse = z
  .object({
    data: z.object({
      stored: z.number().int(),
      rejected: z.number().int(),
      results: z.array(
        z.object({
          index: z.number().int(),
          document_id: z.string().optional(),
          result: z.enum(['created', 'updated', 'unchanged']).optional(),
          error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }).optional(),
        }),
      ),
    }),
  })
  .meta({ id: 'BatchUploadResponse' });

export const AddIdentityRequest = z
  .strictObject({ authentic_source: AuthenticSourceName, vct: Vct, document_id: DocumentId, identity: Identity })
  .meta({ id: 'AddIdentityRequest' });

export const DeleteIdentityRequest = z
  .strictObject({ authentic_source: AuthenticSourceName, vct: Vct, document_id: DocumentId, authentic_source_person_id: Text(256) })
  .meta({ id: 'DeleteIdentityRequest' });

/**
 * An identity presented for matching (typically from the holder's PID). Which attributes are
 * required is configuration (`identity_matching.required_attributes`), checked by the matcher.
 */
export const PresentedIdentity = z
  .looseObject({
    schema: IdentitySchemaRef,
    family_name: Text(256).optional(),
    given_name: Text(256).optional(),
    birth_date: Text(64).optional(),
  })
  .refine((i) => Object.values(i).every((v) => v === undefined || typeof v === 'string' || (typeof v === 'object' && v !== null && !Array.isArray(v))), 'attributes must be strings')
  .meta({ id: 'PresentedIdentity' });

export const IdentityMappingRequest = z
  .strictObject({ authentic_source: AuthenticSourceName, identity: PresentedIdentity })
  .meta({ id: 'IdentityMappingRequest' });

export const IdentityMappingResponse = z
  .object({ data: z.object({ authentic_source_person_id: z.string() }) })
  .meta({ id: 'IdentityMappingResponse' });

export const CollectIdRequest = z
  .strictObject({ authentic_source: AuthenticSourceName, vct: Vct, collect_id: Identifier, identity: PresentedIdentity })
  .meta({ id: 'CollectIdRequest' });

export const DocumentListRequest = z
  .strictObject({ authentic_source: AuthenticSourceName, vct: Vct.optional(), identity: PresentedIdentity })
  .meta({ id: 'DocumentListRequest' });

export const DocumentListResponse = z
  .object({ data: z.array(z.object({ meta: z.record(z.string(), z.unknown()), document_display: z.record(z.string(), z.unknown()).optional() })) })
  .meta({ id: 'DocumentListResponse' });

export const EmptyResponse = z.object({ data: z.object({ status: z.string() }) }).meta({ id: 'StatusResponse' });

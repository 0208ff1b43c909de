import type { Db } from '../db/knex';
import type { ProcessFinder, ProcessSummary } from './process-finder';

export interface DocumentKey {
  authentic_source: string;
  vct: string;
  document_id: string;
}

export interface DocumentTimelineEntry {
  at: string;
  event: string;
  /** Where the entry was read: the issuer's records, or a workflow's visibility record. */
  from: 'postgresql' | 'temporal';
  details?: Record<string, string | number | boolean | null>;
}

export interface DocumentTimeline {
  document: DocumentKey & { stored: boolean };
  events: DocumentTimelineEntry[];
  /** Every process of the document (offers, revocations, ...), each with its own timeline at /admin/v1/processes/:workflow_id. */
  processes: ProcessSummary[];
}

const iso = (value: Date | string | null | undefined): string | null => (value ? new Date(value).toISOString() : null);
/** Visibility pages read for one document; a document with more processes than this is shown in part (`processes` says how many were read). */
const MAX_PROCESS_PAGES = 5;

/**
 * A document's life across its processes (issue 21): upload and re-uploads, offers and how they
 * ended, every credential issued with its format and status-list index, revocations, joined from
 * PostgreSQL, and the document's workflows from Temporal visibility (found by the DocumentId,
 * AuthenticSource and Vct search attributes). Ids, states, formats and times only: never the
 * document's data, an identity, an e-mail address or a credential.
 */
export function createDocumentTimeline({ db, processes }: { db: Db; processes: Pick<ProcessFinder, 'find'> }) {
  return async (key: DocumentKey): Promise<DocumentTimeline | undefined> => {
    const [document, offers, credentials, revocation, found] = await Promise.all([
      db('documents').where(key).first('created_at', 'updated_at', 'content_hash'),
      db('credential_offers').where(key).orderBy('created_at').select('offer_id', 'workflow_id', 'state', 'pin_delivery', 'created_at', 'expires_at', 'closed_at', 'replaces'),
      db('issued_credentials').where(key).orderBy('created_at').select('id', 'offer_id', 'format', 'status_list_id', 'status_index', 'valid_until', 'created_at'),
      db('document_revocations').where(key).first('revocation_id', 'state', 'reason', 'revoke_at', 'revoked_at', 'credentials_revoked', 'reference'),
      findAll(processes, key),
    ]);
    if (!document && offers.length === 0 && credentials.length === 0 && !revocation && found.length === 0) return undefined;

    const events: DocumentTimelineEntry[] = [];
    const push = (at: string | null, event: string, from: DocumentTimelineEntry['from'], details?: DocumentTimelineEntry['details']) => {
      if (at) events.push({ at, event, from, ...(details ? { details } : {}) });
    };
    if (document) {
      push(iso(document.created_at), 'uploaded', 'postgresql');
      if (iso(document.updated_at) !== iso(document.created_at)) push(iso(document.updated_at), 'last_uploaded', 'postgresql', { content_hash: document.content_hash });
    }
    for (const offer of offers) {
      // An offer started for a revocation's replacement names the document it replaces.
      push(iso(offer.created_at), 'offer_created', 'postgresql', { offer_id: offer.offer_id, workflow_id: offer.workflow_id, pin_delivery: offer.pin_delivery, expires_at: iso(offer.expires_at), ...(offer.replaces ? { replaces: offer.replaces.document_id, replaces_vct: offer.replaces.vct } : {}) });
      push(iso(offer.closed_at), 'offer_ended', 'postgresql', { offer_id: offer.offer_id, state: offer.state });
    }
    for (const credential of credentials) {
      push(iso(credential.created_at), 'credential_issued', 'postgresql', {
        credential_id: credential.id,
        offer_id: credential.offer_id,
        format: credential.format,
        status_list_id: credential.status_list_id ?? null,
        status_index: credential.status_index ?? null,
        valid_until: iso(credential.valid_until),
      });
    }
    if (revocation) {
      const details = { revocation_id: revocation.revocation_id, state: revocation.state, reason: revocation.reason ?? null, credentials_revoked: revocation.credentials_revoked, ...(revocation.reference ? { replaced_by: revocation.reference.document_id, replaced_by_vct: revocation.reference.vct } : {}) };
      if (revocation.revoked_at) push(iso(revocation.revoked_at), 'revoked', 'postgresql', details);
      else push(iso(revocation.revoke_at), 'revocation_scheduled_for', 'postgresql', details);
    }
    for (const process of found) {
      push(process.started_at, `${process.kind}_process_started`, 'temporal', { workflow_id: process.workflow_id, status: process.status, state: process.state });
      if (process.closed_at) push(process.closed_at, `${process.kind}_process_closed`, 'temporal', { workflow_id: process.workflow_id, status: process.status, state: process.state });
    }
    events.sort((a, b) => a.at.localeCompare(b.at));
    return { document: { ...key, stored: document !== undefined }, events, processes: found };
  };
}

async function findAll(processes: Pick<ProcessFinder, 'find'>, key: DocumentKey): Promise<ProcessSummary[]> {
  const all: ProcessSummary[] = [];
  let pageToken: string | undefined;
  for (let page = 0; page < MAX_PROCESS_PAGES; page++) {
    const result = await processes.find({ authenticSource: key.authentic_source, vct: key.vct, documentId: key.document_id }, { pageSize: 100, ...(pageToken ? { pageToken } : {}) });
    all.push(...result.processes);
    pageToken = result.next_page_token ?? undefined;
    if (!pageToken) break;
  }
  return all;
}

export type DocumentTimelineReader = ReturnType<typeof createDocumentTimeline>;

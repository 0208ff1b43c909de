import { type Db, preparedQuery } from './knex';

/** A new-or-repeated upload, already flattened into column values (see documents-repository). */
export interface BatchItem {
  /** documents columns, keyed by column name. */
  document: Record<string, unknown> & { authentic_source: string; vct: string; document_id: string; content_hash: string };
  /** document_identities columns, `attributes` as an object. */
  identities: Record<string, unknown>[];
  /** audit_log columns; `target` is chosen by the outcome. */
  audit: Record<string, unknown>;
  targetCreated: Record<string, unknown>;
  targetUnchanged: Record<string, unknown>;
}

/** `created`, `unchanged` (an identical repeat), or `changed`: the caller replaces it on the slow path. */
export type BatchOutcome = 'created' | 'unchanged' | 'changed';

const MAX_BATCH = 64;
/** Statements in flight at once; uploads arriving meanwhile wait and share the next statement. */
const MAX_IN_FLIGHT = 4;

/**
 * Coalesces concurrent uploads into one SQL statement (documents, identities and audit rows of up
 * to 64 uploads; one statement is one transaction). Under load this turns many small round trips,
 * each paying a commit and socket writes on both sides, into few; with a single upload in flight
 * it is one statement as before, without waiting.
 */
export function createUploadBatcher(db: Db): (item: BatchItem) => Promise<BatchOutcome> {
  type Pending = { item: BatchItem; resolve: (o: BatchOutcome) => void; reject: (e: unknown) => void };
  let queue: Pending[] = [];
  let inFlight = 0;
  let scheduled = false;

  const pump = () => {
    scheduled = false;
    while (inFlight < MAX_IN_FLIGHT && queue.length > 0) {
      // One upload per document key per statement: a repeat waits for the next one.
      const batch: Pending[] = [];
      const rest: Pending[] = [];
      const keys = new Set<string>();
      for (const p of queue) {
        const key = JSON.stringify([p.item.document.authentic_source, p.item.document.vct, p.item.document.document_id]);
        if (batch.length < MAX_BATCH && !keys.has(key)) {
          keys.add(key);
          batch.push(p);
        } else rest.push(p);
      }
      queue = rest;
      inFlight++;
      void run(batch).finally(() => {
        inFlight--;
        schedule();
      });
    }
  };
  const schedule = () => {
    if (!scheduled && queue.length > 0) {
      scheduled = true;
      // Let the uploads parsed in this turn of the event loop join the statement.
      setImmediate(pump);
    }
  };

  const run = async (batch: Pending[]) => {
    try {
      const outcomes = await execute(db, batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(outcomes[i]!));
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err);
      // One statement failed: run each upload alone, so one bad upload cannot fail the others.
      await Promise.all(batch.map((p) => execute(db, [p.item]).then(([o]) => p.resolve(o!), p.reject)));
    }
  };

  return (item) =>
    new Promise<BatchOutcome>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      schedule();
    });
}

async function execute(db: Db, items: BatchItem[]): Promise<BatchOutcome[]> {
  const documents = items.map((item, ord) => ({ ord, ...item.document }));
  const identities = items.flatMap((item, ord) => item.identities.map((identity) => ({ ord, ...identity })));
  const audits = items.map((item, ord) => ({ ord, ...item.audit, target_created: item.targetCreated, target_unchanged: item.targetUnchanged }));
  const rows = await preparedQuery<{ ord: number; created: boolean; unchanged: boolean }>(db, 'documents-upload-batch', UPLOAD_BATCH_SQL, [
    JSON.stringify(documents),
    JSON.stringify(identities),
    JSON.stringify(audits),
  ]);
  const outcomes: BatchOutcome[] = items.map(() => 'changed');
  for (const row of rows) outcomes[row.ord] = row.created ? 'created' : row.unchanged ? 'unchanged' : 'changed';
  return outcomes;
}

/**
 * Inserts the new documents with their identities, recognises identical repeats, and appends an
 * audit row for each of those two outcomes; a changed document is left for the caller. The
 * `documents` lookup reads the snapshot from before this statement, so it sees only rows that
 * already existed.
 */
const UPLOAD_BATCH_SQL = `
with input as (
  select * from jsonb_to_recordset($1::jsonb) as x(ord int, authentic_source text, vct text, document_id text, document_data_version text, real_data boolean,
    credential_valid_from bigint, credential_valid_to bigint, meta jsonb, document_display jsonb, document_data jsonb, content_hash text, collect_id text)
), ins as (
  insert into documents (authentic_source, vct, document_id, document_data_version, real_data, credential_valid_from, credential_valid_to, meta, document_display, document_data, content_hash, collect_id)
  select authentic_source, vct, document_id, document_data_version, real_data, credential_valid_from, credential_valid_to, meta, document_display, document_data, content_hash, collect_id
  from input order by ord
  on conflict (authentic_source, vct, document_id) do nothing
  returning id, authentic_source, vct, document_id
), created as (
  select x.ord, ins.id from ins join input x using (authentic_source, vct, document_id)
), ids as (
  insert into document_identities (document_pk, position, authentic_source, authentic_source_person_id, family_name, given_name, birth_date, birth_date_iso, attributes)
  select c.id, i.position, i.authentic_source, i.authentic_source_person_id, i.family_name, i.given_name, i.birth_date, i.birth_date_iso, i.attributes
  from created c join jsonb_to_recordset($2::jsonb) as i(ord int, position int, authentic_source text, authentic_source_person_id text, family_name text,
    given_name text, birth_date text, birth_date_iso text, attributes jsonb) on i.ord = c.ord
), outcome as (
  select x.ord, c.id is not null as created, (c.id is null and d.content_hash is not distinct from x.content_hash) as unchanged
  from input x
  left join created c on c.ord = x.ord
  -- LATERAL keeps this an index lookup per upload: the planner cannot size the JSON input and
  -- may otherwise hash-join against a scan of the whole documents table.
  left join lateral (
    select content_hash from documents where authentic_source = x.authentic_source and vct = x.vct and document_id = x.document_id
  ) d on true
), aud as (
  insert into audit_log (request_id, actor, action, method, path, status, target, client_ip)
  select a.request_id, a.actor, a.action, a.method, a.path, a.status, case when o.created then a.target_created else a.target_unchanged end, a.client_ip
  from jsonb_to_recordset($3::jsonb) as a(ord int, request_id text, actor text, action text, method text, path text, status int, target_created jsonb,
    target_unchanged jsonb, client_ip text)
  join outcome o on o.ord = a.ord
  where o.created or o.unchanged
)
select ord, created, unchanged from outcome`;

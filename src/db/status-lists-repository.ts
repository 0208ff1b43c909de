import { randomInt } from 'node:crypto';
import type { DocumentKey } from './documents-repository';
import { type Db, preparedQuery } from './knex';

/**
 * Status lists and their entries (migration 0015). Two families:
 * - `token`: the IETF Token Status List (draft-ietf-oauth-status-list §4), 2 bits per entry
 *   (§7.1: 0x00 VALID, 0x01 INVALID, 0x02 SUSPENDED), for `dc+sd-jwt` and `mso_mdoc`;
 * - `w3c`: the W3C Bitstring Status List v1.0, 1 bit per entry, purpose `revocation` (bit 1 =
 *   revoked, for `jwt_vc_json`, `ldp_vc` and seed 001's credentials) or `suspension` (§2.1
 *   statusPurpose `suspension`, bit 1 = suspended, for `jwt_vc_json` and `ldp_vc`): a W3C credential
 *   issued to a wallet has one entry in each, both with its `credential_ref`.
 *
 * Allocation (`reserve`) is random among the free indices of the current list (draft §13.2 and
 * Bitstring Status List §6.1: no order that links holders or reveals issuance time); a full list
 * gives way to the next. A request key names the issuance request, so a retry finds the indices it
 * already holds instead of taking others; `release` frees the indices of a request that failed,
 * `releaseStale` those of requests that never came back, and `markIssued` (in the transaction that
 * records the credentials) makes them permanent.
 */
export type StatusFamily = 'token' | 'w3c';

/** Status values (draft-ietf-oauth-status-list §7.1; for W3C revocation, bit 1 = revoked). */
export const StatusValue = { Valid: 0, Invalid: 1, Suspended: 2 } as const;
export type StatusValue = (typeof StatusValue)[keyof typeof StatusValue];

export interface StatusListSpec {
  purpose: string;
  bits: 1 | 2;
  size: number;
}

/** At least 131,072 entries (Bitstring Status List §6.1; herd privacy, draft §13.2). */
export const DEFAULT_LIST_SIZE = 131_072;

export interface StatusAllocation {
  listId: string;
  family: StatusFamily;
  purpose: string;
  number: number;
  idx: number;
}

export interface StatusListRow {
  id: string;
  family: StatusFamily;
  purpose: string;
  number: number;
  bits: 1 | 2;
  size: number;
  allocated: number;
}

/** `credential_ref` of a wallet-issued credential (issued_credentials.id) and of a seed 001 credential (w3c_credentials.id). */
export const issuedCredentialRef = (recordId: string) => `issued:${recordId}`;
export const w3cCredentialRef = (id: string) => `w3c:${id}`;

/**
 * A reservation older than this belongs to no live request (an offer's signing activity gives up
 * after 5 attempts of 30 s; a seed 001 request lasts seconds), so the upkeep purge frees it
 * (`releaseStale`): an index is never burnt by a request that crashed for good.
 */
export const STALE_RESERVATION_MS = 3_600_000;

export const statusListId = (family: StatusFamily, purpose: string, number: number) => `${family}/${purpose}/${number}`;

/** The purposes of the Bitstring Status Lists a W3C credential issued to a wallet has an entry in, in its `credentialStatus` order. */
export const W3C_WALLET_PURPOSES = ['revocation', 'suspension'] as const;

export function createStatusListsRepository(db: Db, options: { tokenListSize?: number } = {}) {
  /** Each family's default purpose (the one `reserve` allocates when given none). */
  const specs: Record<StatusFamily, StatusListSpec> = {
    token: { purpose: 'status', bits: 2, size: options.tokenListSize ?? DEFAULT_LIST_SIZE },
    // Seed 001's credentials carry `statusListIndex` = index in list `number` of this size: keep it.
    w3c: { purpose: 'revocation', bits: 1, size: DEFAULT_LIST_SIZE },
  };
  const specOf = (family: StatusFamily, purpose: string): StatusListSpec => (family === 'w3c' && purpose === 'suspension' ? { purpose, bits: 1, size: DEFAULT_LIST_SIZE } : specs[family]);

  /**
   * The list new indices come from. Read without a lock; only opening the first or the next list is
   * serialised (the family's advisory lock), so two requests that find the current one full never
   * both create its successor.
   */
  async function openList(family: StatusFamily, purpose: string): Promise<StatusListRow> {
    const spec = specOf(family, purpose);
    const current = async (q: Db) => (await q('status_lists').where({ family, purpose: spec.purpose }).whereRaw('allocated < size').orderBy('number').first()) as StatusListRow | undefined;
    // The common case, once per issuance: a named statement, planned once per connection.
    const [open] = await preparedQuery<StatusListRow>(db, 'status-list-open', 'select * from status_lists where family = $1 and purpose = $2 and allocated < size order by number asc limit 1', [family, spec.purpose]);
    if (open) return open;
    return db.transaction(async (trx) => {
      await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`status-list-allocation/${family}${spec.purpose === specs[family].purpose ? '' : `/${spec.purpose}`}`]);
      const opened = await current(trx);
      if (opened) return opened;
      const last = (await trx('status_lists').where({ family, purpose: spec.purpose }).max('number as n').first()) as { n: number | null };
      const number = last.n === null ? 0 : last.n + 1;
      const [row] = await trx('status_lists').insert({ id: statusListId(family, spec.purpose, number), family, purpose: spec.purpose, number, bits: spec.bits, size: spec.size }).returning('*');
      return row as StatusListRow;
    });
  }

  /**
   * Reserves a free index of `list`, uniformly at random: random probes while the list is sparse,
   * else a random pick among all free ones. The entry and the list's count change in one statement,
   * and the entry's primary key (list, index) settles a race for the same index, so concurrent
   * requests need no lock. `undefined` when the list has filled up meanwhile.
   */
  async function takeFreeIndex(list: StatusListRow, entry: { request_key: string; ordinal: number }): Promise<number | undefined> {
    const insert = async (idx: number) => {
      const rows = await preparedQuery<{ idx: number }>(
        db,
        'status-list-reserve-index',
        `with entry as (insert into status_list_entries (list_id, idx, state, request_key, ordinal) values ($1, $2, 'reserved', $3, $4) on conflict (list_id, idx) do nothing returning idx),
              counted as (update status_lists set allocated = allocated + 1 where id = $1 and exists (select 1 from entry))
         select idx from entry`,
        [list.id, idx, entry.request_key, entry.ordinal],
      );
      return rows.length === 1;
    };
    if (list.allocated < list.size * 0.75) {
      for (let attempt = 0; attempt < 32; attempt++) {
        const idx = randomInt(list.size);
        if (await insert(idx)) return idx;
      }
    }
    const { rows } = await db.raw<{ rows: { idx: number }[] }>(
      `select s.idx from generate_series(0, ?::int - 1) as s(idx) where not exists (select 1 from status_list_entries e where e.list_id = ? and e.idx = s.idx) order by random() limit 1`,
      [list.size, list.id],
    );
    const idx = rows[0]?.idx;
    return idx !== undefined && (await insert(idx)) ? idx : undefined;
  }

  /** One fresh index of `family` for an entry; when the current list fills up under us, the next one is opened. */
  async function allocate(family: StatusFamily, purpose: string, entry: { request_key: string; ordinal: number }): Promise<StatusAllocation> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const list = await openList(family, purpose);
      const idx = await takeFreeIndex(list, entry);
      if (idx !== undefined) return toAllocation({ list_id: list.id, idx });
    }
    throw new Error(`no free ${family} status-list index after 5 attempts`);
  }

  const toAllocation = (row: { list_id: string; idx: number }): StatusAllocation => {
    const [family, purpose, number] = row.list_id.split('/');
    return { listId: row.list_id, family: family as StatusFamily, purpose: purpose!, number: Number(number), idx: row.idx };
  };

  /**
   * Advances the change mark with a statement sent after this call: a caller whose commit is done
   * joins the advance queued behind the one in flight (which may have been sent before that commit),
   * never the one in flight itself, so the rule holds (the mark moves after the commit) while a burst
   * of changes costs about one round trip per in-flight advance instead of one per change.
   */
  let inFlight: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const advance = (): Promise<void> => {
    const sent = db.raw(`select nextval('status_list_change_seq')`).then(() => undefined);
    // Settles (never rejects: the callers of `sent` get its error) once the advance is done.
    const settled: Promise<void> = sent.then(
      () => undefined,
      () => undefined,
    ).then(() => {
      if (inFlight === settled) inFlight = undefined;
    });
    inFlight = settled;
    return sent;
  };
  function announce(): Promise<void> {
    if (queued) return queued;
    if (!inFlight) return advance();
    queued = inFlight.then(() => {
      queued = undefined;
      return advance();
    });
    return queued;
  }

  /** The change mark: the sequence's last value (read without a lock, outside any transaction). */
  const changeMark = async (): Promise<string> => {
    const { rows } = await db.raw<{ rows: { last_value: string; is_called: boolean }[] }>('select last_value, is_called from status_list_change_seq');
    return rows[0]!.is_called ? String(rows[0]!.last_value) : '0';
  };

  return {
    specs,

    /**
     * `count` indices of `family` for the issuance request `requestKey` in the list of each of
     * `purposes` (default the family's own), one per ordinal: purpose `p`'s index of credential `i`
     * is ordinal `p * count + i`, so the result is `purposes.length` runs of `count` (and
     * `markIssued` takes the refs once per purpose). The ones the request already holds (a retry
     * after a crash), else fresh ones. No family-wide lock: see takeFreeIndex. Reservations
     * abandoned by requests that crashed for good are freed by the upkeep Schedule (releaseStale),
     * not here, so an issuance reads only its own rows.
     */
    async reserve(family: StatusFamily, requestKey: string, count: number, purposes: readonly string[] = [specs[family].purpose]): Promise<StatusAllocation[]> {
      const held = await preparedQuery<{ list_id: string; idx: number; ordinal: number }>(db, 'status-list-held', 'select list_id, idx, ordinal from status_list_entries where request_key = $1 order by ordinal asc', [requestKey]);
      const byOrdinal = new Map(held.map((h) => [h.ordinal, h]));
      const out: StatusAllocation[] = [];
      for (const [p, purpose] of purposes.entries()) {
        for (let i = 0; i < count; i++) {
          const ordinal = p * count + i;
          const existing = byOrdinal.get(ordinal);
          out.push(existing ? toAllocation(existing) : await allocate(family, purpose, { request_key: requestKey, ordinal }));
        }
      }
      return out;
    },

    /**
     * Frees up to `batchSize` reservations older than STALE_RESERVATION_MS (their requests crashed
     * for good), so no index is burnt; run by the upkeep purge. Rows another transaction holds are
     * left for the next run. Returns how many were freed.
     */
    async releaseStale(batchSize: number): Promise<number> {
      return db.transaction(async (trx) => {
        const { rows } = await trx.raw<{ rows: { list_id: string }[] }>(
          `delete from status_list_entries where ctid = any(array(select ctid from status_list_entries where state = 'reserved' and allocated_at < ? limit ? for update skip locked)) returning list_id`,
          [new Date(Date.now() - STALE_RESERVATION_MS), batchSize],
        );
        const perList = new Map<string, number>();
        for (const { list_id } of rows) perList.set(list_id, (perList.get(list_id) ?? 0) + 1);
        for (const [id, n] of perList) await trx('status_lists').where({ id }).decrement('allocated', n);
        return rows.length;
      });
    },

    /** Frees the indices `requestKey` reserved and did not issue (its issuance failed). */
    async release(requestKey: string): Promise<number> {
      return db.transaction(async (trx) => {
        const rows = (await trx('status_list_entries').where({ request_key: requestKey, state: 'reserved' }).delete().returning('list_id')) as { list_id: string }[];
        for (const row of rows) await trx('status_lists').where({ id: row.list_id }).decrement('allocated', 1);
        return rows.length;
      });
    },

    /**
     * Makes the indices of `requestKey` permanent, each naming its credential (`refs` by ordinal);
     * inside the recording transaction, which this aborts when a reservation is gone (freed as
     * stale): a credential is never recorded with an index another may be given.
     */
    async markIssued(trx: Db, requestKey: string, refs: string[]): Promise<void> {
      for (const [ordinal, ref] of refs.entries()) {
        const updated = await preparedQuery(trx, 'status-list-mark-issued', "update status_list_entries set state = 'issued', credential_ref = $3, updated_at = now() where request_key = $1 and ordinal = $2 returning 1", [requestKey, ordinal, ref]);
        if (updated.length !== 1) throw new Error(`the status-list index reserved by ${requestKey} (#${ordinal}) is gone`);
      }
    },

    /**
     * Sets the status of every issued credential of a document (all formats, all batch copies),
     * within `trx`. Token Status List entries take `status` itself. A W3C credential has one bit per
     * list: INVALID sets its revocation bit; SUSPENDED sets and VALID clears its suspension bit
     * (Bitstring Status List §2.1), and neither touches the revocation bit. A revoked credential
     * (token entry INVALID, or W3C revocation bit set) keeps its status whatever is asked:
     * revocation is final. Returns the number of entries changed (one per credential, whichever list).
     */
    async setDocumentStatus(trx: Db, key: DocumentKey, status: StatusValue): Promise<number> {
      const refs = () => trx('issued_credentials').where(key).select(trx.raw("'issued:' || id::text"));
      const entries = (prefix: string) => trx('status_list_entries').whereIn('credential_ref', refs()).whereLike('list_id', `${prefix}/%`);
      const token = await entries('token').whereNot('status', StatusValue.Invalid).whereNot('status', status).update({ status, updated_at: trx.fn.now() });
      if (status === StatusValue.Invalid) {
        return token + (await entries('w3c/revocation').whereNot('status', 1).update({ status: 1, updated_at: trx.fn.now() }));
      }
      // Before the suspension lists, a suspension wrote SUSPENDED (2) into W3C revocation entries (served as bit 1): a reinstatement clears it.
      const legacy = status === StatusValue.Valid ? await entries('w3c/revocation').where('status', StatusValue.Suspended).update({ status: StatusValue.Valid, updated_at: trx.fn.now() }) : 0;
      const bit = status === StatusValue.Suspended ? 1 : 0;
      const w3c = await entries('w3c/suspension')
        .whereNot('status', bit)
        .whereNotExists(trx('status_list_entries as r').whereRaw('r.credential_ref = status_list_entries.credential_ref').whereLike('r.list_id', 'w3c/revocation/%').where('r.status', 1))
        .update({ status: bit, updated_at: trx.fn.now() });
      return token + legacy + w3c;
    },

    /**
     * One issued entry of a list by index, with the credential type of its credential (an
     * issued_credentials vct, or a seed 001 credential's type): what gRPC SetCredentialStatus
     * authorizes on. Undefined when the index is not issued.
     */
    async issuedEntry(listId: string, idx: number): Promise<{ credentialRef: string; status: StatusValue; vct: string | undefined } | undefined> {
      const row = (await db('status_list_entries as e')
        .leftJoin('issued_credentials as i', db.raw("e.credential_ref = 'issued:' || i.id::text"))
        .leftJoin('w3c_credentials as w', db.raw("e.credential_ref = 'w3c:' || w.id::text"))
        .where({ 'e.list_id': listId, 'e.idx': idx, 'e.state': 'issued' })
        .first('e.credential_ref', 'e.status', db.raw('coalesce(i.vct, w.credential_type) as vct'))) as { credential_ref: string; status: StatusValue; vct: string | null } | undefined;
      return row ? { credentialRef: row.credential_ref, status: row.status, vct: row.vct ?? undefined } : undefined;
    },

    /**
     * Sets the status of a credential's entry in `listId` in a transaction of its own, announced
     * after the commit (gRPC SetCredentialStatus). Only that list's entry: a W3C credential has one
     * in its suspension list too.
     */
    async updateCredentialStatus(credentialRef: string, status: StatusValue, listId: string): Promise<boolean> {
      const changed = await db.transaction(async (trx) => (await trx('status_list_entries').where({ credential_ref: credentialRef, list_id: listId }).whereNot('status', StatusValue.Invalid).update({ status, updated_at: trx.fn.now() })) > 0);
      if (changed) await db.raw(`select nextval('status_list_change_seq')`);
      return changed;
    },

    /**
     * Sets the status of one credential's entry by its reference (its Token Status List or W3C
     * revocation entry; a suspension entry is set by setDocumentStatus only); false when there is
     * none or it is already revoked.
     */
    async setCredentialStatus(trx: Db, credentialRef: string, status: StatusValue): Promise<boolean> {
      return (await trx('status_list_entries').where({ credential_ref: credentialRef }).whereRaw("list_id not like 'w3c/suspension/%'").whereNot('status', StatusValue.Invalid).update({ status, updated_at: trx.fn.now() })) > 0;
    },

    /**
     * Announces committed status changes: call it after the transaction that changed statuses has
     * committed. Any reader that sees the new mark takes its snapshot after the change, so it shows it.
     * Concurrent callers of a process share one advance (one round trip for a burst of changes,
     * `npm run bench -- status`), never one sent before their call: see announce.
     */
    announceChange: (): Promise<void> => announce(),

    changeMark,

    /** The status of a credential's Token Status List or W3C revocation entry. */
    async statusOf(credentialRef: string): Promise<StatusValue | undefined> {
      const row = (await db('status_list_entries').where({ credential_ref: credentialRef }).whereRaw("list_id not like 'w3c/suspension/%'").first('status')) as { status: StatusValue } | undefined;
      return row?.status;
    },

    /** The list row, or undefined. */
    async list(listId: string): Promise<StatusListRow | undefined> {
      return (await db('status_lists').where({ id: listId }).first()) as StatusListRow | undefined;
    },

    /**
     * The list and its non-zero entries, with the change mark read before them: the entries show at
     * least every change announced up to `mark`.
     */
    async snapshot(listId: string): Promise<{ list: StatusListRow; entries: { idx: number; status: number }[]; mark: string } | undefined> {
      const mark = await changeMark();
      const list = (await db('status_lists').where({ id: listId }).first()) as StatusListRow | undefined;
      if (!list) return undefined;
      const entries = (await db('status_list_entries').where({ list_id: listId }).whereNot('status', 0).select('idx', 'status')) as { idx: number; status: number }[];
      return { list, entries, mark };
    },

    /** Every list of a family, by number (for aggregation, draft §9). */
    async lists(family: StatusFamily): Promise<StatusListRow[]> {
      return (await db('status_lists').where({ family }).orderBy('number')) as StatusListRow[];
    },
  };
}

export type StatusListsRepository = ReturnType<typeof createStatusListsRepository>;

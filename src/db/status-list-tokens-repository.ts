import type { Db } from './knex';

/**
 * The served forms of a list: the Token Status List as JWT or CWT (draft-ietf-oauth-status-list §5),
 * the W3C BitstringStatusListCredential secured with JOSE (`w3c`) or with a Data Integrity proof (`w3c-di`).
 */
export type StatusListForm = 'jwt' | 'cwt' | 'w3c' | 'w3c-di';

/** A signed status-list token as stored (migration 0020 `status_list_tokens`). */
export interface StoredStatusListToken {
  listId: string;
  form: StatusListForm;
  /** The JWT / VC-JWT / Data Integrity JSON as text, the CWT as bytes. */
  body: string | Uint8Array;
  contentType: string;
  /** The change mark (status-lists-repository.ts `changeMark`) the token shows at least. */
  version: string;
  signedAt: Date;
  /** The token's `exp` (W3C: `validUntil`). */
  expiresAt: Date;
}

/** Where signed tokens are kept, shared by every process that serves or re-signs them. */
export interface StatusListTokenStore {
  get(listId: string, form: StatusListForm): Promise<StoredStatusListToken | undefined>;
  /** Stores `token` unless a newer one (higher version, or same version expiring later) is stored; answers the one stored afterwards. */
  put(token: StoredStatusListToken): Promise<StoredStatusListToken>;
  /** The stored tokens that expire before `before` (the re-signing Schedule's work). */
  expiringBefore(before: Date): Promise<{ listId: string; form: StatusListForm }[]>;
  /** Every (list, form) that has a stored token. */
  stored(): Promise<{ listId: string; form: StatusListForm }[]>;
}

interface Row {
  list_id: string;
  form: StatusListForm;
  body: Buffer;
  content_type: string;
  version: string;
  signed_at: Date;
  expires_at: Date;
}

const fromRow = (row: Row): StoredStatusListToken => ({
  listId: row.list_id,
  form: row.form,
  body: row.form === 'cwt' ? new Uint8Array(row.body) : row.body.toString('utf8'),
  contentType: row.content_type,
  version: String(row.version),
  signedAt: new Date(row.signed_at),
  expiresAt: new Date(row.expires_at),
});

/** Signed status-list tokens in PostgreSQL (migration 0020). */
export function createStatusListTokensRepository(db: Db): StatusListTokenStore {
  return {
    async get(listId, form) {
      const row = (await db('status_list_tokens').where({ list_id: listId, form }).first()) as Row | undefined;
      return row ? fromRow(row) : undefined;
    },
    async put(token) {
      const { rows } = await db.raw<{ rows: Row[] }>(
        `insert into status_list_tokens (list_id, form, body, content_type, version, signed_at, expires_at) values (?, ?, ?, ?, ?, ?, ?)
         on conflict (list_id, form) do update set body = excluded.body, content_type = excluded.content_type, version = excluded.version, signed_at = excluded.signed_at, expires_at = excluded.expires_at
         where status_list_tokens.version < excluded.version or (status_list_tokens.version = excluded.version and status_list_tokens.expires_at < excluded.expires_at)
         returning *`,
        [token.listId, token.form, typeof token.body === 'string' ? Buffer.from(token.body, 'utf8') : Buffer.from(token.body), token.contentType, token.version, token.signedAt, token.expiresAt],
      );
      if (rows[0]) return fromRow(rows[0]);
      return (await this.get(token.listId, token.form)) ?? token;
    },
    async expiringBefore(before) {
      return ((await db('status_list_tokens').where('expires_at', '<', before).select('list_id', 'form')) as Pick<Row, 'list_id' | 'form'>[]).map((r) => ({ listId: r.list_id, form: r.form }));
    },
    async stored() {
      return ((await db('status_list_tokens').select('list_id', 'form')) as Pick<Row, 'list_id' | 'form'>[]).map((r) => ({ listId: r.list_id, form: r.form }));
    },
  };
}

/** The same store in memory, for a single process without PostgreSQL (unit tests, the list-signing benchmark). */
export function createMemoryStatusListTokenStore(): StatusListTokenStore {
  const tokens = new Map<string, StoredStatusListToken>();
  const newer = (a: StoredStatusListToken, b: StoredStatusListToken) => BigInt(a.version) > BigInt(b.version) || (a.version === b.version && a.expiresAt > b.expiresAt);
  return {
    async get(listId, form) {
      return tokens.get(`${listId}|${form}`);
    },
    async put(token) {
      const key = `${token.listId}|${token.form}`;
      const current = tokens.get(key);
      if (!current || newer(token, current)) tokens.set(key, token);
      return tokens.get(key)!;
    },
    async expiringBefore(before) {
      return [...tokens.values()].filter((t) => t.expiresAt < before).map((t) => ({ listId: t.listId, form: t.form }));
    },
    async stored() {
      return [...tokens.values()].map((t) => ({ listId: t.listId, form: t.form }));
    },
  };
}

import { createHash, randomBytes } from 'node:crypto';
import { type Db, preparedQuery } from './knex';

/** SHA-256 (hex) of a bearer value: what the tables keep instead of the value. */
const sha256Hex = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

/** 256 bits from the CSPRNG, base64url: unguessable bearer values (RFC 6749 §10.10). */
const randomValue = () => randomBytes(32).toString('base64url');

const checkTtl = (ttlSeconds: number) => {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds < 0) throw new RangeError(`ttlSeconds must be a non-negative number, got ${ttlSeconds}`);
};

export type NonceOutcome = 'ok' | 'unknown' | 'expired' | 'used';

/**
 * c_nonces of the Nonce Endpoint (OpenID4VCI 1.0 §7). A nonce is accepted once: the credential
 * endpoint consumes it, and a replay, an expired or an unknown nonce is answered with
 * `invalid_nonce` (§8.3.1.2). Expiry is judged by the database clock, the same for every process.
 */
export function createNoncesRepository(db: Db) {
  return {
    async issue(ttlSeconds: number): Promise<{ nonce: string; expiresAt: Date }> {
      checkTtl(ttlSeconds);
      const nonce = randomValue();
      const [row] = await preparedQuery<{ expires_at: Date }>(
        db,
        'oid4vci_nonce_issue',
        'insert into oid4vci_nonces (nonce_hash, expires_at) values ($1, now() + make_interval(secs => $2)) returning expires_at',
        [sha256Hex(nonce), ttlSeconds],
      );
      return { nonce, expiresAt: row!.expires_at };
    },

    /** Marks the nonce used if it is live and unused, in one statement, so concurrent requests cannot both win. */
    async consume(nonce: string): Promise<NonceOutcome> {
      const hash = sha256Hex(nonce);
      const taken = await preparedQuery(
        db,
        'oid4vci_nonce_consume',
        'update oid4vci_nonces set used_at = now() where nonce_hash = $1 and used_at is null and expires_at > now() returning nonce_hash',
        [hash],
      );
      if (taken.length === 1) return 'ok';
      const [row] = await preparedQuery<{ used: boolean }>(db, 'oid4vci_nonce_state', 'select used_at is not null as used from oid4vci_nonces where nonce_hash = $1', [hash]);
      if (!row) return 'unknown';
      return row.used ? 'used' : 'expired';
    },

    /** Deletes expired nonces, used or not (a replay of one is then 'unknown', still refused). Returns how many. */
    async purgeExpired(): Promise<number> {
      return db('oid4vci_nonces').where('expires_at', '<=', db.fn.now()).delete();
    },
  };
}

/**
 * Access tokens issued by the token endpoint for a redeemed pre-authorized code (OpenID4VCI 1.0 §6).
 * They lead the credential endpoint to the offer's workflow and survive a restart of every process.
 */
export function createAccessTokensRepository(db: Db) {
  return {
    /** `dpopJkt`: the RFC 7638 thumbprint of the DPoP key the token is bound to (RFC 9449 §6), if any. */
    async issue(input: { workflowId: string; offerId: string; ttlSeconds: number; dpopJkt?: string }): Promise<{ token: string; expiresAt: Date }> {
      checkTtl(input.ttlSeconds);
      const token = randomValue();
      const [row] = await preparedQuery<{ expires_at: Date }>(
        db,
        'oid4vci_access_token_issue_v2',
        'insert into oid4vci_access_tokens (token_hash, workflow_id, offer_id, expires_at, dpop_jkt) values ($1, $2, $3, now() + make_interval(secs => $4), $5) returning expires_at',
        [sha256Hex(token), input.workflowId, input.offerId, input.ttlSeconds, input.dpopJkt ?? null],
      );
      return { token, expiresAt: row!.expires_at };
    },

    /**
     * Keeps a live token valid for at least `ttlSeconds` more: a credential request that was
     * postponed (seed 002 interaction, OpenID4VCI 1.0 §9) is collected with the same token at the
     * deferred endpoint, for as long as the third party may take. An expired token stays expired.
     */
    async extend(token: string, ttlSeconds: number): Promise<void> {
      checkTtl(ttlSeconds);
      await db.raw('update oid4vci_access_tokens set expires_at = greatest(expires_at, now() + make_interval(secs => ?)) where token_hash = ? and expires_at > now()', [ttlSeconds, sha256Hex(token)]);
    },

    /** The offer a live token was issued for; undefined for an unknown or expired token. */
    async resolve(token: string): Promise<{ workflowId: string; offerId: string; dpopJkt?: string } | undefined> {
      const [row] = await preparedQuery<{ workflow_id: string; offer_id: string; dpop_jkt: string | null }>(
        db,
        'oid4vci_access_token_resolve_v2',
        'select workflow_id, offer_id, dpop_jkt from oid4vci_access_tokens where token_hash = $1 and expires_at > now()',
        [sha256Hex(token)],
      );
      return row ? { workflowId: row.workflow_id, offerId: row.offer_id, ...(row.dpop_jkt ? { dpopJkt: row.dpop_jkt } : {}) } : undefined;
    },

    async purgeExpired(): Promise<number> {
      return db('oid4vci_access_tokens').where('expires_at', '<=', db.fn.now()).delete();
    },
  };
}

export type NoncesRepository = ReturnType<typeof createNoncesRepository>;
export type AccessTokensRepository = ReturnType<typeof createAccessTokensRepository>;

/**
 * Tables whose rows end at `expires_at` and are worth nothing after it: c_nonces (a deleted one is
 * `unknown`, still refused), access tokens, sealed credentials parked for pickup, and DPoP proof
 * `jti`s (RFC 9449 §11.1: kept only as long as a proof with that jti could be accepted).
 * Each has an index on `expires_at` (migrations 0006, 0008, 0009).
 */
export const EXPIRING_TABLES = ['oid4vci_nonces', 'oid4vci_access_tokens', 'credential_pickups', 'dpop_jtis'] as const;
export type ExpiringTable = (typeof EXPIRING_TABLES)[number];

/**
 * Deletes expired rows a bounded batch at a time (the upkeep purge workflow calls it until a batch
 * comes back short), so one run never holds long locks or a huge transaction. Rows another
 * transaction has locked are skipped and go in a later batch.
 */
export function createExpiredRowsRepository(db: Db) {
  return {
    async purgeBatch(table: ExpiringTable, batchSize: number): Promise<number> {
      if (!EXPIRING_TABLES.includes(table)) throw new RangeError(`not an expiring table: ${String(table)}`);
      if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
      const result = await db.raw<{ rowCount: number }>(
        'delete from ?? where ctid = any(array(select ctid from ?? where expires_at <= now() limit ? for update skip locked))',
        [table, table, batchSize],
      );
      return result.rowCount;
    },
  };
}

export type ExpiredRowsRepository = ReturnType<typeof createExpiredRowsRepository>;

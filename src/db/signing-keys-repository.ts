import type { Ed25519PublicJwk, PublishedJwk } from '../credentials/signer';
import type { Db } from './knex';

/**
 * Rows of `signing_keys` (migration 0003). The repository stores and reads sealed envelopes only:
 * sealing and opening them is the key store's job (src/credentials/key-store.ts), so no plaintext
 * private key ever passes through here.
 */

/**
 * `credential`: SD-JWT VC, VC 2.0 (JOSE and `ecdsa-rdfc-2019`) and status lists; `credential_ed25519`:
 * Data Integrity `eddsa-rdfc-2022` (migration 0014); `document_signer`: mdoc MSOs; `iaca`: the mdoc root;
 * `webhooks`: X-Body-Signature and Bearer JWT of outgoing webhooks (migration 0016).
 */
export type SigningKeyPurpose = 'credential' | 'credential_ed25519' | 'document_signer' | 'iaca' | 'webhooks';
export const SIGNING_KEY_PURPOSES = ['credential', 'credential_ed25519', 'document_signer', 'iaca', 'webhooks'] as const satisfies readonly SigningKeyPurpose[];

/** The stored public JWK of an Ed25519 key, with its thumbprint as `kid`. */
export interface StoredEd25519Jwk extends Ed25519PublicJwk {
  kid: string;
  alg: 'EdDSA';
}

export type SigningKeyState = 'active' | 'retired';

export interface SigningKeyRow {
  kid: string;
  purpose: SigningKeyPurpose;
  alg: 'ES256' | 'EdDSA';
  publicJwk: PublishedJwk | StoredEd25519Jwk;
  /** `v1.<iv>.<ciphertext>.<tag>`, sealed under the KEK with the kid as additional data. */
  privateKeyEnvelope: string;
  certificatePem: string | null;
  state: SigningKeyState;
  /** Until when credentials signed by the key may be verified; null while active. */
  notAfter: Date | null;
  createdAt: Date;
  retiredAt: Date | null;
}

export type NewSigningKey = Pick<SigningKeyRow, 'kid' | 'purpose' | 'alg' | 'publicJwk' | 'privateKeyEnvelope' | 'certificatePem'> & {
  createdAt: Date;
};

interface DbRow {
  kid: string;
  purpose: SigningKeyPurpose;
  alg: 'ES256' | 'EdDSA';
  public_jwk: PublishedJwk | StoredEd25519Jwk;
  private_key_envelope: string;
  certificate_pem: string | null;
  state: SigningKeyState;
  not_after: Date | null;
  created_at: Date;
  retired_at: Date | null;
}

const TABLE = 'signing_keys';

/**
 * Advisory lock key (pg_advisory_xact_lock) that serialises provisioning and rotation across every
 * process sharing the database: ASCII "SIGNKEYS" as a bigint.
 */
const SIGNING_KEYS_LOCK = '6001406380043753811';

function fromDb(row: DbRow): SigningKeyRow {
  return {
    kid: row.kid,
    purpose: row.purpose,
    alg: row.alg,
    publicJwk: row.public_jwk,
    privateKeyEnvelope: row.private_key_envelope,
    certificatePem: row.certificate_pem,
    state: row.state,
    notAfter: row.not_after,
    createdAt: row.created_at,
    retiredAt: row.retired_at,
  };
}

function queries(db: Db) {
  return {
    /** The key that signs for `purpose` now, if one is provisioned. */
    async active(purpose: SigningKeyPurpose): Promise<SigningKeyRow | undefined> {
      const row = (await db<DbRow>(TABLE).where({ purpose, state: 'active' }).first()) as DbRow | undefined;
      return row && fromDb(row);
    },

    /** Every key of `purpose`, active and retired, oldest first. */
    async all(purpose: SigningKeyPurpose): Promise<SigningKeyRow[]> {
      const rows = (await db<DbRow>(TABLE).where({ purpose }).orderBy([{ column: 'created_at', order: 'asc' }, { column: 'kid' }])) as DbRow[];
      return rows.map(fromDb);
    },

    async byKid(kid: string): Promise<SigningKeyRow | undefined> {
      const row = (await db<DbRow>(TABLE).where({ kid }).first()) as DbRow | undefined;
      return row && fromDb(row);
    },

    /** Active keys of `purpose` and retired ones still inside their verification window at `at`; newest first. */
    async published(purpose: SigningKeyPurpose, at: Date): Promise<SigningKeyRow[]> {
      const rows = (await db<DbRow>(TABLE)
        .where({ purpose })
        .andWhere((q) => q.where({ state: 'active' }).orWhere('not_after', '>', at))
        .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'kid' }])) as DbRow[];
      return rows.map(fromDb);
    },

    async insert(key: NewSigningKey): Promise<void> {
      await db(TABLE).insert({
        kid: key.kid,
        purpose: key.purpose,
        alg: key.alg,
        public_jwk: JSON.stringify(key.publicJwk),
        private_key_envelope: key.privateKeyEnvelope,
        certificate_pem: key.certificatePem,
        state: 'active',
        created_at: key.createdAt,
      });
    },

    /** Stops `kid` from signing; it stays published until `notAfter`. */
    async retire(kid: string, at: { retiredAt: Date; notAfter: Date }): Promise<void> {
      await db(TABLE).where({ kid, state: 'active' }).update({ state: 'retired', retired_at: at.retiredAt, not_after: at.notAfter });
    },
  };
}

export type SigningKeyQueries = ReturnType<typeof queries>;

export function createSigningKeysRepository(db: Db) {
  return {
    ...queries(db),
    /**
     * Runs `fn` in a transaction holding the signing-keys advisory lock, so provisioning and rotation
     * are serialised across processes: a second process waits, then sees what the first one wrote.
     */
    exclusive<T>(fn: (keys: SigningKeyQueries) => Promise<T>): Promise<T> {
      return db.transaction(async (trx) => {
        await trx.raw('select pg_advisory_xact_lock(?::bigint)', [SIGNING_KEYS_LOCK]);
        return fn(queries(trx));
      });
    },
  };
}

export type SigningKeysRepository = ReturnType<typeof createSigningKeysRepository>;

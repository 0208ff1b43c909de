import type { KmsKeyType, KmsPublicJwk } from '../kms/kms-key-types';
import type { Db } from './knex';

/** One row of `kms_keys` (migration 0012). */
export interface KmsKeyRecord {
  client: string;
  keyPath: string;
  keyType: KmsKeyType;
  kid: string;
  publicJwk: KmsPublicJwk;
  privateKeyEnvelope: string;
  origin: 'generated' | 'imported';
  certificatePem: string | null;
  createdAt: Date;
}

interface Row {
  client: string;
  key_path: string;
  key_type: KmsKeyType;
  kid: string;
  public_jwk: KmsPublicJwk;
  private_key_envelope: string;
  origin: 'generated' | 'imported';
  certificate_pem: string | null;
  created_at: Date;
}

const fromRow = (r: Row): KmsKeyRecord => ({
  client: r.client,
  keyPath: r.key_path,
  keyType: r.key_type,
  kid: r.kid,
  publicJwk: r.public_jwk,
  privateKeyEnvelope: r.private_key_envelope,
  origin: r.origin,
  certificatePem: r.certificate_pem,
  createdAt: r.created_at,
});

export function createKmsKeysRepository(db: Db) {
  return {
    /** Stores a key; undefined when the client already has a key at that path (nothing is changed). */
    async insert(record: Omit<KmsKeyRecord, 'createdAt' | 'certificatePem'>): Promise<KmsKeyRecord | undefined> {
      const [row] = await db('kms_keys')
        .insert({
          client: record.client,
          key_path: record.keyPath,
          key_type: record.keyType,
          kid: record.kid,
          public_jwk: JSON.stringify(record.publicJwk),
          private_key_envelope: record.privateKeyEnvelope,
          origin: record.origin,
        })
        .onConflict(['client', 'key_path'])
        .ignore()
        .returning('*');
      return row ? fromRow(row as Row) : undefined;
    },
    /** The client's key at `keyPath`; another client's key is indistinguishable from none. */
    async get(client: string, keyPath: string): Promise<KmsKeyRecord | undefined> {
      const row = (await db('kms_keys').where({ client, key_path: keyPath }).first()) as Row | undefined;
      return row ? fromRow(row) : undefined;
    },
    /** Remembers the latest certificate issued for the key as subject. */
    async setCertificate(client: string, keyPath: string, certificatePem: string): Promise<void> {
      await db('kms_keys').where({ client, key_path: keyPath }).update({ certificate_pem: certificatePem });
    },
  };
}

export type KmsKeysRepository = ReturnType<typeof createKmsKeysRepository>;

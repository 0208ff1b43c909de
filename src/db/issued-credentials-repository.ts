import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import type { Subkey } from '../credentials/kek-subkeys';
import type { Db } from './knex';

export interface IssuedCredentialRecord {
  offer_id: string;
  authentic_source: string;
  vct: string;
  document_id: string;
  format: string;
  holder_key_thumbprint: string;
  valid_from: Date | null;
  valid_until: Date | null;
}

const PICKUP_TTL_SECONDS = 120;

/**
 * Issued-credential records and the sealed pickup slots (see migration 0008). Sealing (AES-256-GCM)
 * uses the pickup-sealing subkey of the KEK (`KekSubkeys.pickupSealing`, src/credentials/kek-subkeys.ts),
 * so a database dump alone reveals no credential in transit, and that key opens nothing else.
 */
export function createIssuedCredentialsRepository(db: Db, pickupKey: Subkey<'pickup-sealing'>) {
  const key = Buffer.from(pickupKey);
  const seal = (id: string, credential: string) => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(id));
    const body = Buffer.concat([cipher.update(credential, 'utf8'), cipher.final()]);
    return [iv, body, cipher.getAuthTag()].map((b) => b.toString('base64url')).join('.');
  };
  const open = (id: string, sealed: string) => {
    const [iv, body, tag] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
    const decipher = createDecipheriv('aes-256-gcm', key, iv!).setAAD(Buffer.from(id)).setAuthTag(tag!);
    return Buffer.concat([decipher.update(body!), decipher.final()]).toString('utf8');
  };

  return {
    /** Records the credentials and parks them for pickup, in one transaction; returns the pickup ids in order. */
    async recordAndPark(records: IssuedCredentialRecord[], credentials: string[]): Promise<string[]> {
      return db.transaction(async (trx) => {
        await trx('issued_credentials').insert(records.map((r) => ({ id: randomUUID(), ...r })));
        const pickups = credentials.map((credential, i) => {
          const id = randomUUID();
          return { id, offer_id: records[i]!.offer_id, sealed_credential: seal(id, credential), expires_at: new Date(Date.now() + PICKUP_TTL_SECONDS * 1000) };
        });
        await trx('credential_pickups').insert(pickups);
        return pickups.map((p) => p.id);
      });
    },
    /** Takes the credentials out of their slots (each can be taken once). */
    async pickUp(ids: string[]): Promise<string[]> {
      const rows: { id: string; sealed_credential: string }[] = await db('credential_pickups').whereIn('id', ids).delete().returning(['id', 'sealed_credential']);
      const byId = new Map(rows.map((r) => [r.id, open(r.id, r.sealed_credential)]));
      return ids.map((id) => {
        const credential = byId.get(id);
        if (credential === undefined) throw new Error(`credential pickup ${id} is gone`);
        return credential;
      });
    },
    async purgeExpiredPickups(): Promise<number> {
      return db('credential_pickups').where('expires_at', '<', db.fn.now()).delete();
    },
    async countFor(offerId: string): Promise<number> {
      const row = (await db('issued_credentials').where({ offer_id: offerId }).count('* as n').first()) as { n: string };
      return Number(row.n);
    },
  };
}

export type IssuedCredentialsRepository = ReturnType<typeof createIssuedCredentialsRepository>;

import { randomUUID } from 'node:crypto';
import type { Config } from '../../config/config';
import { StoredIdTakenError, type StoredCertificate, type X509StoreRepository } from '../../db/x509-store-repository';
import { ConflictError } from '../api-errors';

/** What an issuing route hands over to be stored. */
export type StoreEntry = Pick<StoredCertificate, 'profile' | 'certificatePem' | 'serialNumber' | 'notBefore' | 'notAfter'> & { vicalMetadata?: Record<string, unknown> | undefined };

/**
 * Writes an issued certificate into the stores attached to the X.509 service `target`
 * (`x509_services.<target>.stores`), under one shared child id: `storedCertificateId`, or a UUID when
 * it is omitted (seed 003). Answers the full stored paths (`<store path>.<id>`), or undefined when no
 * store is attached (the id is then ignored). An id taken in any attached store is 409 CONFLICT and
 * nothing is written anywhere.
 */
export type CertificateStores = (client: string, target: string, storedCertificateId: string | undefined, entry: StoreEntry) => Promise<string[] | undefined>;

export function createCertificateStores(config: Pick<Config, 'file'>, repo: X509StoreRepository): CertificateStores {
  return async (client, target, storedCertificateId, entry) => {
    const stores = config.file.x509_services[target]?.stores ?? [];
    if (stores.length === 0) return undefined;
    const certificateId = storedCertificateId ?? randomUUID();
    try {
      await repo.insertEverywhere(stores, {
        certificateId,
        client,
        entryType: entry.vicalMetadata ? 'vical_entry' : 'certificate',
        profile: entry.profile,
        certificatePem: entry.certificatePem,
        serialNumber: entry.serialNumber,
        vicalMetadata: entry.vicalMetadata ?? null,
        notBefore: entry.notBefore,
        notAfter: entry.notAfter,
      });
    } catch (err) {
      if (err instanceof StoredIdTakenError) throw new ConflictError('storedCertificateId already exists in an attached X.509 store; nothing was issued or stored', { storedCertificateId: certificateId, stores: err.storePaths });
      throw err;
    }
    return stores.map((store) => `${store}.${certificateId}`);
  };
}

/** The stores some configured X.509 service attaches. */
export const attachedStores = (config: Pick<Config, 'file'>): Set<string> => new Set(Object.values(config.file.x509_services).flatMap((s) => s.stores));

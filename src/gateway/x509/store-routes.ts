import { z } from 'zod';
import type { Config } from '../../config/config';
import type { StoredCertificate, X509StoreRepository } from '../../db/x509-store-repository';
import { KEY_ID_PATH, SERVICE_PATH } from '../../kms/resource-paths';
import { isoSeconds } from '../../x509/x509-support';
import { RouteNotFoundError } from '../api-errors';
import { type AnyRouteSpec, defineRoute } from '../route-registry';
import { attachedStores } from './certificate-stores';
import { VicalEntryComplementaryMetadata } from './x509-schemas';

const StoredPathParams = z.object({
  storedPath: z
    .string()
    .refine((p) => SERVICE_PATH.test(p) || KEY_ID_PATH.test(p))
    .meta({ description: 'A store {organization}.{tenant}.{store} (lists its certificates), or a stored certificate {store path}.{storedCertificateId}' }),
});

const StoredSummary = z.object({
  _id: z.string().meta({ description: 'The stored certificate path, <store path>.<storedCertificateId>' }),
  type: z.enum(['certificate', 'vical-entry']),
  profile: z.enum(['iaca', 'document_signer', 'generic']),
  serialNumber: z.string(),
  notBefore: z.string(),
  notAfter: z.string(),
  createdAt: z.string(),
});

export const StoredCertificateResponse = StoredSummary.extend({
  certificatePEM: z.string(),
  vicalEntryComplementaryMetadata: VicalEntryComplementaryMetadata.optional(),
}).meta({ id: 'StoredCertificate' });

export const StoreListResponse = z.object({ storePath: z.string(), certificates: z.array(StoredSummary) }).meta({ id: 'StoredCertificateList' });

const summary = (c: StoredCertificate) => ({
  _id: `${c.storePath}.${c.certificateId}`,
  type: c.entryType === 'vical_entry' ? ('vical-entry' as const) : ('certificate' as const),
  profile: c.profile,
  serialNumber: c.serialNumber,
  notBefore: isoSeconds(c.notBefore),
  notAfter: isoSeconds(c.notAfter),
  createdAt: c.createdAt.toISOString(),
});

/**
 * X.509 store API (docs/conventions.md, X.509 service): a stored certificate's PEM by its path, and
 * the list of a store's certificates. A client reads only what it stored; a store no configured
 * service attaches does not exist.
 */
export function x509StoreRoutes({ config, repo }: { config: Pick<Config, 'file'>; repo: X509StoreRepository }): AnyRouteSpec[] {
  const known = attachedStores(config);
  return [
    defineRoute({
      method: 'get',
      path: '/v1/:storedPath/x509-store-api/certificates',
      operationId: 'x509StoreGetCertificates',
      summary: 'A stored certificate (its PEM), or the list of a store\'s certificates',
      description: 'With a stored certificate path ({store path}.{storedCertificateId}) the certificate, with the VICAL metadata of an IACA stored as a VICAL entry; with a store path the list of the client\'s certificates in it (newest first, at most 1000).',
      tags: ['X.509 store'],
      security: 'bearer',
      params: StoredPathParams,
      response: z.union([StoredCertificateResponse, StoreListResponse]),
      errors: [401, 404],
      handler: async ({ params, principal }) => {
        const path = params.storedPath!;
        if (known.has(path)) return { storePath: path, certificates: (await repo.list(principal.client, path)).map(summary) };
        const dot = path.lastIndexOf('.');
        const storePath = path.slice(0, dot);
        const stored = known.has(storePath) ? await repo.get(principal.client, storePath, path.slice(dot + 1)) : undefined;
        if (!stored) throw new RouteNotFoundError('No stored certificate or store at this path', { path });
        return { ...summary(stored), certificatePEM: stored.certificatePem, ...(stored.vicalMetadata ? { vicalEntryComplementaryMetadata: stored.vicalMetadata } : {}) };
      },
    }),
  ];
}

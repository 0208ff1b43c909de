import { readFileSync } from 'node:fs';
import { configureTracing } from '../telemetry/tracing';
import { availableParallelism } from 'node:os';
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Logger } from 'pino';
import { createActivities } from '../../activities';
import { createActivityDeps, statusListPublisherOptions } from './activity-deps';
import { createStatusListTokensRepository } from '../db/status-list-tokens-repository';
import type { Config } from '../config/config';
import { createAuditLogRepository } from '../db/audit-log-repository';
import { createDocumentsRepository } from '../db/documents-repository';
import { createW3cCredentialsRepository } from '../db/w3c-credentials-repository';
import { createIssuanceService } from '../credentials/issuance-service';
import { openKeyStore, resolveKek } from '../credentials/key-store';
import { deriveKekSubkeys, gatewaySubkeys, parseGatewayKeys } from '../credentials/kek-subkeys';
import { createIssuancePool } from '../credentials/issuance-pool';
import { instrumentIssuance } from '../metrics/metrics';
import { createDb, type Db, ensureDatabase, migrateLatest } from '../db/knex';
import { createBearerAuthenticator, createSourceAuthenticator } from '../gateway/authenticate-source';
import { datastoreRoutes } from '../gateway/datastore/datastore-routes';
import { createDocumentDataValidator } from '../gateway/datastore/document-data-validator';
import { credentialsRoutes } from '../gateway/credentials/credentials-routes';
import { createGatewayApp } from '../gateway/gateway-app';
import { adminRoutes } from '../gateway/admin/admin-routes';
import { createProcessFinder, temporalUiBaseUrl } from '../admin/process-finder';
import { createDocumentTimeline } from '../admin/document-timeline';
import { documentTimelineRoutes } from '../gateway/admin/document-timeline-routes';
import { wellKnownRoutes } from '../gateway/well-known-routes';
import { servicePublicKeyRoutes } from '../gateway/service/public-key-routes';
import { interactionCallbackRoutes } from '../gateway/service/interaction-callback-routes';
import { webhookAdminRoutes } from '../gateway/admin/webhook-admin-routes';
import { createDeadLetters } from '../admin/webhook-dead-letters';
import { createKycRepository } from '../db/kyc-repository';
import { kycRouter } from '../gateway/kyc/kyc-router';
import { kycAdminRoutes } from '../gateway/kyc/kyc-admin-routes';
import { kycOpenApiPaths } from '../gateway/kyc/kyc-openapi';
import { createKycTemplates } from '../kyc/kyc-templates';
import { createKycTokens, deriveKycTokenKey } from '../kyc/kyc-tokens';
import { kmsRoutes } from '../gateway/kms/kms-routes';
import { x509IsoRoutes } from '../gateway/x509/x509-routes';
import { x509CertificateRoutes } from '../gateway/x509/certificate-routes';
import { createCertificateStores } from '../gateway/x509/certificate-stores';
import { x509StoreRoutes } from '../gateway/x509/store-routes';
import { x509AdminRoutes, x509CrlRoutes } from '../gateway/x509/crl-routes';
import { createDocumentSignerRenewal } from '../credentials/document-signer-renewal';
import { createX509CrlRepository } from '../db/x509-crl-repository';
import { createCrlService } from '../x509/crl-service';
import { createX509StoreRepository } from '../db/x509-store-repository';
import { createKmsKeysRepository } from '../db/kms-keys-repository';
import { createKmsService } from '../kms/kms-service';
import { notificationRoutes } from '../gateway/oid4vci/notification-routes';
import { walletEndpoints } from '../gateway/oid4vci/wallet-endpoints';
import { createAccessTokensRepository, createNoncesRepository } from '../db/nonces-repository';
import { createIssuedCredentialsRepository } from '../db/issued-credentials-repository';
import { createOffersRepository } from '../db/offers-repository';
import { createRevocationsRepository } from '../db/revocations-repository';
import { createStatusListsRepository } from '../db/status-lists-repository';
import { createStatusEventsRepository } from '../db/status-events-repository';
import { createStatusListPublisher } from '../credentials/status-list-publisher';
import { createStatusEventDeliveries } from '../temporal/status-event-deliveries';
import { revocationRoutes } from '../gateway/datastore/revocation-routes';
import { statusListRoutes } from '../gateway/status/status-list-routes';
import { createOfferSecrets } from '../oid4vci/offer-secrets';
import { createOfferService } from '../oid4vci/offer-service';
import { startOutboxDispatcher, webhookOutboxFor } from '../webhooks/outbox-dispatcher';
import { createInteractionEventsRepository } from '../db/interaction-events-repository';
import { startGrpcServer } from '../grpc/grpc-server';
import { createIssuerGrpcHandlers } from '../grpc/issuer-grpc-handlers';
import { createGrpcAccessPolicy } from '../grpc/grpc-authorization';
import { auditWriterFor, createGrpcAuditLog } from '../grpc/grpc-audit-log';
import { grpcSettings } from '../grpc/grpc-settings';
import { connectTemporalClient } from '../temporal/temporal-client';
import { temporalConnectionOptions, type TemporalConnectionOptions } from '../temporal/temporal-connection-options';
import { type RunningWorker, startIssuerWorker } from '../worker/issuer-worker';

/** A started part of the issuer; `close()` stops it gracefully and is safe to call twice. */
export interface RunningPart {
  name: string;
  /** Where it listens, for the banner. */
  url?: string;
  close(): Promise<void>;
}

export const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function requireSetting<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(`${name} is required for this command (or use \`dev\`, which starts embedded services)`);
  return value;
}

/** Address, TLS and API key of every Temporal connection this process opens (TEMPORAL_TLS_*, TEMPORAL_API_KEY). */
export function temporalOptions(config: Config): TemporalConnectionOptions {
  return temporalConnectionOptions(requireSetting(config.env.TEMPORAL_ADDRESS, 'TEMPORAL_ADDRESS'), config.env);
}

export async function runMigrations(config: Config, logger: Logger): Promise<void> {
  const url = requireSetting(config.env.DATABASE_URL, 'DATABASE_URL');
  await ensureDatabase(url);
  const db = createDb(url, { poolMax: 1 });
  try {
    const applied = await migrateLatest(db);
    logger.info({ applied }, applied.length ? 'migrations applied' : 'database schema is up to date');
  } finally {
    await db.destroy();
  }
}

export async function startGateway(config: Config, logger: Logger): Promise<RunningPart> {
  configureTracing(config.env);
  const db = createDb(requireSetting(config.env.DATABASE_URL, 'DATABASE_URL'));
  const temporal = await connectTemporalClient(temporalOptions(config), config.env.TEMPORAL_NAMESPACE);
  const audit = createAuditLogRepository(db);
  // The gateway's parts get subkeys of the KEK, never the KEK (src/credentials/kek-subkeys.ts).
  const subkeys = config.env.ISSUER_GATEWAY_KEYS ? parseGatewayKeys(config.env.ISSUER_GATEWAY_KEYS) : gatewaySubkeys(deriveKekSubkeys(resolveKek(config)));
  const keyStore = await openKeyStore(config, db, logger, subkeys.keySealing);
  const issuance = instrumentIssuance(createIssuanceService({ config, keyStore }), 'api');
  const documents = createDocumentsRepository(db, { dateFormats: config.file.identity_matching.date_formats });
  const offers = createOffersRepository(db);
  const secrets = createOfferSecrets(subkeys.offerSecrets);
  const outbox = webhookOutboxFor(config, db);
  const interactionEvents = createInteractionEventsRepository(db, outbox);
  const offerService = createOfferService({ config, documents, offers, secrets, temporal: temporal.client, issued: createIssuedCredentialsRepository(db, subkeys.pickupSealing), outbox, interactionEvents });
  const kms = createKmsService({ keys: createKmsKeysRepository(db), sealing: subkeys.keySealing });
  const x509Stores = createX509StoreRepository(db);
  const crls = createCrlService({ repo: createX509CrlRepository(db), kms, issuerIacaKey: (kid) => keyStore.openIaca(kid), issuerUrl: config.issuerUrl });
  const x509 = { kms, audit, stores: createCertificateStores(config, x509Stores), crls };
  const statusLists = createStatusListsRepository(db);
  const revocations = createRevocationsRepository(db, statusLists);
  const statusEvents = createStatusEventsRepository(db);
  const deliveries = createStatusEventDeliveries({ config, temporal: temporal.client, statusEvents, logger });
  const publisher = createStatusListPublisher(statusListPublisherOptions(config, { lists: statusLists, keyStore, tokens: createStatusListTokensRepository(db) }));
  const processes = createProcessFinder({ client: temporal.client, namespace: config.env.TEMPORAL_NAMESPACE, taskQueue: config.env.TEMPORAL_TASK_QUEUE, temporalUiUrl: temporalUiBaseUrl(config.env) });
  const kyc = createKycRepository(db);
  const app = createGatewayApp({
    config,
    logger,
    audit,
    authenticate: { source: createSourceAuthenticator(config), bearer: createBearerAuthenticator(config) },
    routes: [
      ...datastoreRoutes({ config, documents, audit, validateDocumentData: createDocumentDataValidator(config), cancelProcesses: (key) => offerService.cancel(key) }),
      ...notificationRoutes({ config, secrets, offerService, temporal: temporal.client, revocations }),
      ...revocationRoutes({
        config,
        db,
        documents,
        revocations,
        statusLists,
        statusEvents,
        deliveries,
        audit,
        temporal: temporal.client,
        cancelOffer: (key) => offerService.cancel(key),
      }),
      ...credentialsRoutes({ config, issuance, credentials: createW3cCredentialsRepository(db), statusLists, audit, statusEvents, deliveries }),
      ...wellKnownRoutes({ config, keyStore }),
      ...servicePublicKeyRoutes({ config, keyStore }),
      ...interactionCallbackRoutes({ config, interactionEvents, temporal: temporal.client, offerService, secrets }),
      ...kmsRoutes({ kms, audit }),
      ...x509IsoRoutes(x509),
      ...x509CertificateRoutes(x509),
      ...x509StoreRoutes({ config, repo: x509Stores }),
      ...x509CrlRoutes({ crls, audit }),
      ...adminRoutes({ processes, cancelOffer: (key) => offerService.cancel(key), resendPin: (key, by) => offerService.resendPin(key, by), unlockOffer: (key) => offerService.unlock(key) }),
      ...documentTimelineRoutes({ timeline: createDocumentTimeline({ db, processes }) }),
      ...webhookAdminRoutes({ deadLetters: createDeadLetters({ client: temporal.client, namespace: config.env.TEMPORAL_NAMESPACE, taskQueue: config.env.TEMPORAL_TASK_QUEUE }) }),
      ...x509AdminRoutes({ crls, replaceIfActive: (serial) => createDocumentSignerRenewal({ db, keyStore }).replaceIfActive(serial) }),
      ...(config.file.kyc ? kycAdminRoutes({ kyc, temporal: temporal.client }) : []),
    ],
    protocolRouters: [
      statusListRoutes({ issuerUrl: config.issuerUrl, publisher, lists: statusLists }),
      walletEndpoints({ config, logger, secrets, offerService, accessTokens: createAccessTokensRepository(db), nonces: createNoncesRepository(db), db }),
      kycRouter({ config, db, kyc, templates: createKycTemplates(config), tokens: createKycTokens(deriveKycTokenKey(subkeys.offerSecrets), config.issuerUrl), temporal: temporal.client, secrets }),
    ],
    ...(config.file.kyc ? { openapiPaths: kycOpenApiPaths() } : {}),
    readinessChecks: { database: () => pingDatabase(db), temporal: temporal.check },
    version: VERSION,
  });
  const { env } = config;
  const tls = env.GATEWAY_TLS_CERT && env.GATEWAY_TLS_KEY;
  const server: Server = tls
    ? createTlsServer(
        {
          cert: readFileSync(env.GATEWAY_TLS_CERT!),
          key: readFileSync(env.GATEWAY_TLS_KEY!),
          // With a CA, clients may present certificates (mTLS); the API-key path stays open for those who do not.
          ...(env.GATEWAY_TLS_CA ? { ca: readFileSync(env.GATEWAY_TLS_CA), requestCert: true, rejectUnauthorized: false } : {}),
        },
        app,
      )
    : createServer(app);
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(env.PORT, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : env.PORT;
  let closing: Promise<void> | undefined;
  return {
    name: 'gateway',
    url: `${tls ? 'https' : 'http'}://localhost:${port}`,
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await temporal.close();
        await db.destroy();
      })()),
  };
}

export async function startWorker(config: Config, logger: Logger): Promise<RunningPart & { running: RunningWorker }> {
  configureTracing(config.env);
  const db = createDb(requireSetting(config.env.DATABASE_URL, 'DATABASE_URL'));
  const activities = createActivities(await createActivityDeps(config, db));
  const running = await startIssuerWorker({ ...temporalOptions(config), namespace: config.env.TEMPORAL_NAMESPACE, taskQueue: config.env.TEMPORAL_TASK_QUEUE, activities, logger, upkeepSchedule: true, statusListValiditySeconds: config.env.STATUS_LIST_VALIDITY });
  // The webhook outbox's dispatcher (src/webhooks/outbox-dispatcher.ts): starts the deliveries of events recorded with their change.
  const temporal = await connectTemporalClient(temporalOptions(config), config.env.TEMPORAL_NAMESPACE);
  const dispatcher = startOutboxDispatcher({ client: temporal.client, outbox: webhookOutboxFor(config, db), taskQueue: config.env.TEMPORAL_TASK_QUEUE, logger });
  let closing: Promise<void> | undefined;
  return {
    name: 'worker',
    running,
    close: () =>
      (closing ??= (async () => {
        await dispatcher.close();
        await running.close();
        await temporal.close();
        await db.destroy();
      })()),
  };
}

export async function startGrpc(config: Config, logger: Logger): Promise<RunningPart> {
  configureTracing(config.env);
  const { env } = config;
  const databaseUrl = requireSetting(env.DATABASE_URL, 'DATABASE_URL');
  // Refused before anything starts: production without TLS and a client CA (src/grpc/grpc-settings.ts).
  const { host, tls, mode } = grpcSettings(config);
  const access = createGrpcAccessPolicy(config, mode);
  if (mode === 'mapped' && Object.keys(config.file.grpc_clients).length === 0) logger.warn('gRPC client certificates are required but grpc_clients lists none: every call will be refused');
  // Signing runs on worker threads (one per core, up to 4, by default), each with its own key store; 0 signs here.
  const threads = env.GRPC_SIGNING_THREADS ?? Math.min(availableParallelism(), 4);
  const pool = threads > 0 ? await createIssuancePool({ threads, setup: { module: new URL('./grpc-signing-thread.ts', import.meta.url), data: { env } } }) : undefined;
  // This thread's connections: the audit log, and the key store when signing here.
  const db = createDb(databaseUrl, { poolMax: pool ? 2 : 4 });
  const audit = createGrpcAuditLog(auditWriterFor(db), logger);
  const issuance = pool ?? createIssuanceService({ config, keyStore: await openKeyStore(config, db, logger) });
  const handlers = createIssuerGrpcHandlers(instrumentIssuance(issuance, 'grpc'), { access, audit, status: { issuerUrl: config.issuerUrl, lists: createStatusListsRepository(db) } });
  const server = await startGrpcServer({ host, port: env.GRPC_PORT, handlers, logger, ...(tls ? { tls } : {}) }).catch(async (err: unknown) => {
    await pool?.close();
    await db.destroy();
    throw err;
  });
  logger.info({ signingThreads: threads, access: mode }, 'gRPC IssuerService signing threads');
  let closing: Promise<void> | undefined;
  return {
    name: 'grpc',
    url: `${tls ? 'grpcs' : 'grpc'}://${['127.0.0.1', '0.0.0.0', '::'].includes(host) ? 'localhost' : host.includes(':') ? `[${host}]` : host}:${server.port}`,
    close: () =>
      (closing ??= (async () => {
        await server.close();
        await audit.close();
        await pool?.close();
        await db.destroy();
      })()),
  };
}

async function pingDatabase(db: Db): Promise<void> {
  await db.raw('select 1');
}

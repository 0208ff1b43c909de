import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import {
  ISSUER_SERVICE_ALIAS,
  ISSUER_SERVICE_NAME,
  issuerServiceAliasDefinition,
  issuerServiceDefinition,
  issuerServiceImplementation,
  type IssuerServiceHandlers,
} from './issuer-service';

export interface GrpcServerOptions {
  /** Interface to listen on. Default `127.0.0.1` (loopback): listening on every interface is a choice (GRPC_HOST). */
  host?: string;
  /** Port to listen on; 0 picks a free one (see RunningGrpcServer.port). */
  port: number;
  /**
   * PEM server certificate (chain) and key. With `ca`, client certificates are required and must
   * chain to it (mTLS). Without `tls` the server is plaintext, for local development only.
   */
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer };
  handlers: IssuerServiceHandlers;
  logger: Logger;
  /** How long close() lets in-flight calls finish before cutting them off. Default 10 000 ms. */
  shutdownTimeoutMs?: number;
}

export interface RunningGrpcServer {
  /** The bound port (the chosen one when `port` was 0). */
  port: number;
  /** Reports NOT_SERVING, drains, then stops; safe to call more than once. */
  close(): Promise<void>;
}

/** Names the health service answers for: "" is the whole server, by gRPC health-checking convention. */
const HEALTH_SERVICES = ['', ISSUER_SERVICE_NAME, ISSUER_SERVICE_ALIAS] as const;

const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

/**
 * Starts the IssuerService with the standard health service (`grpc.health.v1.Health`,
 * https://github.com/grpc/grpc/blob/master/doc/health-checking.md) on one port.
 */
export async function startGrpcServer(opts: GrpcServerOptions): Promise<RunningGrpcServer> {
  const log = opts.logger.child({ component: 'grpc' });
  const host = opts.host ?? '127.0.0.1';
  const server = new grpc.Server();

  const implementation = issuerServiceImplementation(opts.handlers, log);
  server.addService(issuerServiceDefinition(), implementation);
  server.addService(issuerServiceAliasDefinition(), implementation);
  const health = new HealthImplementation(Object.fromEntries(HEALTH_SERVICES.map((name) => [name, 'SERVING'])));
  health.addToServer(server);

  const credentials = serverCredentials(opts.tls, log);
  // IPv6 literals need brackets in a host:port target.
  const address = `${host.includes(':') ? `[${host}]` : host}:${opts.port}`;
  // Since grpc-js 1.10 bindAsync also starts serving; start() is deprecated.
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, credentials, (err, boundPort) => (err ? reject(err) : resolve(boundPort)));
  }).catch((err: unknown) => {
    server.forceShutdown();
    throw err;
  });
  log.info({ host, port, tls: opts.tls ? (opts.tls.ca ? 'mtls' : 'tls') : 'none' }, 'grpc server listening');

  const shutdownTimeoutMs = opts.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      // Health watchers (load balancers, orchestrators) learn first, so they stop routing here.
      for (const name of HEALTH_SERVICES) health.setStatus(name, 'NOT_SERVING');
      await shutdown(server, shutdownTimeoutMs, log);
      log.info({ port }, 'grpc server closed');
    })();
    return closing;
  };

  return { port, close };
}

function serverCredentials(tls: GrpcServerOptions['tls'], log: Logger): grpc.ServerCredentials {
  if (!tls) {
    log.warn('grpc server without TLS: use only on a trusted local network; set GRPC_TLS_CERT and GRPC_TLS_KEY');
    return grpc.ServerCredentials.createInsecure();
  }
  const keyCertPairs = [{ private_key: tls.key, cert_chain: tls.cert }];
  // With a CA, the handshake itself refuses clients without a certificate that chains to it.
  return grpc.ServerCredentials.createSsl(tls.ca ?? null, keyCertPairs, tls.ca !== undefined);
}

/** tryShutdown lets in-flight calls finish; open streams (health Watch) can hold it forever, hence the timeout. */
function shutdown(server: grpc.Server, timeoutMs: number, log: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      log.warn({ timeoutMs }, 'grpc calls still open at shutdown timeout; forcing shutdown');
      server.forceShutdown();
      resolve();
    }, timeoutMs);
    server.tryShutdown((err) => {
      clearTimeout(timer);
      if (err) {
        log.warn({ err }, 'grpc graceful shutdown failed; forcing shutdown');
        server.forceShutdown();
      }
      resolve();
    });
  });
}

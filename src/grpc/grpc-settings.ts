import { readFileSync } from 'node:fs';
import type { Config } from '../config/config';
import { ConfigError } from '../config/env';
import type { GrpcAccessMode } from './grpc-authorization';
import type { GrpcServerOptions } from './grpc-server';

export interface GrpcSettings {
  host: string;
  tls?: NonNullable<GrpcServerOptions['tls']>;
  /** `mapped` when client certificates are required (GRPC_TLS_CA), else `open` (development only). */
  mode: GrpcAccessMode;
}

/**
 * Where and how the IssuerService listens, from GRPC_HOST and GRPC_TLS_* (issue 15, finding 1). A
 * production configuration refuses to start without a server certificate and a client CA: the
 * service signs credentials, so it serves only callers whose certificates `grpc_clients` maps. In
 * development it may run plaintext, on loopback unless GRPC_HOST says otherwise.
 */
export function grpcSettings(config: Pick<Config, 'env' | 'file'>): GrpcSettings {
  const { env } = config;
  const production = config.file.environment === 'production';
  if ((env.GRPC_TLS_CERT === undefined) !== (env.GRPC_TLS_KEY === undefined)) throw new ConfigError('GRPC_TLS_CERT and GRPC_TLS_KEY: set both or neither');
  if (env.GRPC_TLS_CA && !env.GRPC_TLS_CERT) throw new ConfigError('GRPC_TLS_CA: requires GRPC_TLS_CERT and GRPC_TLS_KEY (client certificates are asked for over TLS)');
  if (production && !(env.GRPC_TLS_CERT && env.GRPC_TLS_CA)) {
    throw new ConfigError(
      'GRPC_TLS_CERT, GRPC_TLS_KEY and GRPC_TLS_CA are required when environment is production: the gRPC IssuerService signs credentials, so it serves only clients whose certificates grpc_clients maps to scopes',
    );
  }
  const read = (path: string, name: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`${name}: cannot read ${path}: ${(err as Error).message}`);
    }
  };
  const tls =
    env.GRPC_TLS_CERT && env.GRPC_TLS_KEY
      ? { cert: read(env.GRPC_TLS_CERT, 'GRPC_TLS_CERT'), key: read(env.GRPC_TLS_KEY, 'GRPC_TLS_KEY'), ...(env.GRPC_TLS_CA ? { ca: read(env.GRPC_TLS_CA, 'GRPC_TLS_CA') } : {}) }
      : undefined;
  return { host: env.GRPC_HOST ?? (production ? '0.0.0.0' : '127.0.0.1'), ...(tls ? { tls } : {}), mode: tls?.ca ? 'mapped' : 'open' };
}

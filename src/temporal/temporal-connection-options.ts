import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { ConfigError, type Env } from '../config/env';

/**
 * How every process reaches the Temporal frontend: the gateway's and the worker's clients
 * (`Connection.connect`) and the worker itself (`NativeConnection.connect`) take the same options,
 * so a deployment that requires mTLS or API keys on its Temporal cluster covers all of them at once.
 *
 * - `TEMPORAL_TLS_CERT` + `TEMPORAL_TLS_KEY`: the client certificate and key (PEM files) for mTLS;
 * - `TEMPORAL_TLS_CA`: the CA (PEM file) that issued the server's certificate, when it is not a public one;
 * - `TEMPORAL_TLS_SERVER_NAME`: the name to check the server's certificate against (SNI), when it
 *   differs from the host of `TEMPORAL_ADDRESS`;
 * - `TEMPORAL_API_KEY`: sent as `Authorization: Bearer` (Temporal Cloud API keys); implies TLS;
 * - `TEMPORAL_TLS=true`: TLS with the system's trust store and nothing else to configure.
 * Any of them turns TLS on; without them the connection is plaintext, as the local dev server wants.
 */
export interface TemporalConnectionOptions {
  address: string;
  /** Absent: plaintext. `true`: TLS with system roots. */
  tls?: TLSConfig | true;
  apiKey?: string;
}

export type TemporalConnectionEnv = Pick<
  Env,
  'TEMPORAL_TLS' | 'TEMPORAL_TLS_CERT' | 'TEMPORAL_TLS_KEY' | 'TEMPORAL_TLS_CA' | 'TEMPORAL_TLS_SERVER_NAME' | 'TEMPORAL_API_KEY'
>;

/** Builds the connection options from the environment; reads the PEM files once (a missing file fails the start, naming the variable). */
export function temporalConnectionOptions(address: string, env: TemporalConnectionEnv, readFile: (path: string) => Buffer = readFileSync): TemporalConnectionOptions {
  const read = (name: 'TEMPORAL_TLS_CERT' | 'TEMPORAL_TLS_KEY' | 'TEMPORAL_TLS_CA', path: string): Buffer => {
    try {
      return readFile(path);
    } catch (cause) {
      throw new ConfigError(`${name}: cannot read ${path} (${(cause as Error).message})`, { cause });
    }
  };
  if (Boolean(env.TEMPORAL_TLS_CERT) !== Boolean(env.TEMPORAL_TLS_KEY)) {
    throw new ConfigError(`${env.TEMPORAL_TLS_CERT ? 'TEMPORAL_TLS_KEY' : 'TEMPORAL_TLS_CERT'}: required with ${env.TEMPORAL_TLS_CERT ? 'TEMPORAL_TLS_CERT' : 'TEMPORAL_TLS_KEY'} (the client certificate and its key for mTLS)`);
  }
  if (env.TEMPORAL_TLS === 'false' && (env.TEMPORAL_TLS_CERT || env.TEMPORAL_TLS_CA || env.TEMPORAL_TLS_SERVER_NAME || env.TEMPORAL_API_KEY)) {
    throw new ConfigError('TEMPORAL_TLS: false contradicts TEMPORAL_TLS_* / TEMPORAL_API_KEY (an API key must not travel in plaintext)');
  }
  const tls: TLSConfig = {
    ...(env.TEMPORAL_TLS_CERT && env.TEMPORAL_TLS_KEY ? { clientCertPair: { crt: read('TEMPORAL_TLS_CERT', env.TEMPORAL_TLS_CERT), key: read('TEMPORAL_TLS_KEY', env.TEMPORAL_TLS_KEY) } } : {}),
    ...(env.TEMPORAL_TLS_CA ? { serverRootCACertificate: read('TEMPORAL_TLS_CA', env.TEMPORAL_TLS_CA) } : {}),
    ...(env.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME } : {}),
  };
  const useTls = Object.keys(tls).length > 0 || Boolean(env.TEMPORAL_API_KEY) || env.TEMPORAL_TLS === 'true';
  return {
    address,
    ...(useTls ? { tls: Object.keys(tls).length > 0 ? tls : true } : {}),
    ...(env.TEMPORAL_API_KEY ? { apiKey: env.TEMPORAL_API_KEY } : {}),
  };
}

/** What a log line or banner may say about a connection: never the key or certificate bytes. */
export function describeTemporalConnection(opts: TemporalConnectionOptions): { address: string; tls: 'off' | 'tls' | 'mtls'; apiKey: boolean } {
  const tls = !opts.tls ? 'off' : opts.tls !== true && opts.tls.clientCertPair ? 'mtls' : 'tls';
  return { address: opts.address, tls, apiKey: Boolean(opts.apiKey) };
}

/** Only the connection fields of a larger options object (so nothing else reaches `Connection.connect`). */
export function connectionFields({ address, tls, apiKey }: TemporalConnectionOptions): TemporalConnectionOptions {
  return { address, ...(tls ? { tls } : {}), ...(apiKey ? { apiKey } : {}) };
}

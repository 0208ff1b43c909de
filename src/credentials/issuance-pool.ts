import { Piscina } from 'piscina';
import { CredentialInputError } from './credential-errors';
import type { IssuanceService } from './issuance-service';
import type { IssuanceTask, IssuanceTaskResult } from './issuance-thread';

/**
 * The issuance service on worker threads, so one process signs on every core. Node runs JavaScript
 * on one thread; a gRPC server that also signs there tops out at what that thread can do between
 * decoding and encoding messages. With the pool, that thread only moves messages and each call's
 * signing runs on whichever thread is free (per call, so one busy client connection is spread too).
 *
 * Each thread builds its own IssuanceService with `setup.module`'s `createThreadIssuance(setup.data)`
 * (the gRPC part's opens its own key store, as any other process that signs does). Requests and
 * results cross threads by structured clone; a CredentialInputError crosses as plain data and is
 * rebuilt here, so callers see the same errors as from the in-process service.
 */

export interface IssuancePoolOptions {
  /** Worker threads; at least 1. */
  threads: number;
  setup: {
    /** A module exporting `createThreadIssuance(data): Promise<IssuanceService>`. */
    module: URL;
    /** Structured-cloneable input of that function, the same for every thread. */
    data: unknown;
  };
}

export interface IssuancePool extends IssuanceService {
  readonly threads: number;
  /** Finishes the calls in progress, then stops the threads (which closes their database connections). */
  close(): Promise<void>;
}

/** Worker threads do not inherit the `--import tsx` loader, so each starts with this bootstrap. */
const THREAD_BOOTSTRAP = new URL('./issuance-thread.mjs', import.meta.url);

export async function createIssuancePool(options: IssuancePoolOptions): Promise<IssuancePool> {
  if (!Number.isInteger(options.threads) || options.threads < 1) throw new RangeError('an issuance pool needs at least one thread');
  const pool = new Piscina<IssuanceTask, IssuanceTaskResult>({
    filename: THREAD_BOOTSTRAP.href,
    minThreads: options.threads,
    maxThreads: options.threads,
    // Threads hold a database pool and signers: they live as long as the pool.
    idleTimeout: Infinity,
    // Signing awaits (key store, WebCrypto), so a thread can take the next call meanwhile.
    concurrentTasksPerWorker: 4,
    // The key store re-reads the active key in the background: threads keep a running event loop between calls.
    atomics: 'disabled',
    workerData: { setupModule: options.setup.module.href, setupData: options.setup.data },
    recordTiming: false,
  });

  /** One call on a thread; T is the service method's result (inferred from where it is used). */
  const run = async <T>(method: IssuanceTask['method'], request?: unknown): Promise<T> => {
    const result = await pool.run({ method, request } as IssuanceTask);
    if ('inputError' in result) {
      const { code, message, path } = result.inputError;
      // The message crossed with its `path: ` prefix, which the constructor adds again.
      throw new CredentialInputError(code, path && message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message, path);
    }
    return result.value as T;
  };

  const service: IssuancePool = {
    threads: options.threads,
    makeSdJwt: (request) => run('makeSdJwt', request),
    makeMdoc: (request) => run('makeMdoc', request),
    makeVc20: (request) => run('makeVc20', request),
    makeVc20DataIntegrity: (request) => run('makeVc20DataIntegrity', request),
    jwks: () => run('jwks'),
    signMetadata: (request) => run('signMetadata', request),
    iacaCertificates: () => run('iacaCertificates'),
    close: () => pool.close(),
  };
  try {
    // Fail at start, not at the first call, when a thread cannot build its service (configuration, database).
    await Promise.all(Array.from({ length: options.threads }, () => service.jwks()));
  } catch (err) {
    await pool.destroy();
    throw err;
  }
  return service;
}

import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { temporalClientInterceptors } from '../telemetry/tracing';
import { installTemporalRuntime } from '../worker/temporal-runtime';
import { connectionFields, type TemporalConnectionOptions } from './temporal-connection-options';

export interface TemporalClientHandle {
  client: Client;
  connection: NativeConnection;
  /** Throws when the frontend or the namespace is unreachable (readiness probe). */
  check(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A client of the Temporal frontend; `target` is an address, or options with TLS and an API key
 * (temporal-connection-options.ts). The connection is the SDK's native one (the Rust core's gRPC
 * client, the worker's kind): every start, Update and query of the wallet path is framed and sent
 * off the JavaScript thread, which the pure-JS gRPC client did on it.
 */
export async function connectTemporalClient(target: string | TemporalConnectionOptions, namespace: string): Promise<TemporalClientHandle> {
  // A native connection needs the SDK runtime: the entry point installs it with its logger; a caller that did not gets the default one.
  installTemporalRuntime();
  const connection = await NativeConnection.connect(typeof target === 'string' ? { address: target } : connectionFields(target));
  // With tracing on (src/telemetry/tracing.ts), starts, signals and Updates carry the caller's span to the workflow.
  const interceptors = temporalClientInterceptors();
  const client = new Client({ connection, namespace, ...(interceptors ? { interceptors } : {}) });
  return {
    client,
    connection,
    check: async () => {
      await connection.withDeadline(Date.now() + 2000, () => connection.workflowService.describeNamespace({ namespace }));
    },
    close: () => connection.close(),
  };
}

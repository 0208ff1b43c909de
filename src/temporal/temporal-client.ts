import { Client, Connection } from '@temporalio/client';
import { temporalClientInterceptors } from '../telemetry/tracing';
import { connectionFields, type TemporalConnectionOptions } from './temporal-connection-options';

export interface TemporalClientHandle {
  client: Client;
  connection: Connection;
  /** Throws when the frontend or the namespace is unreachable (readiness probe). */
  check(): Promise<void>;
  close(): Promise<void>;
}

/** A client of the Temporal frontend; `target` is an address, or options with TLS and an API key (temporal-connection-options.ts). */
export async function connectTemporalClient(target: string | TemporalConnectionOptions, namespace: string): Promise<TemporalClientHandle> {
  const connection = await Connection.connect(typeof target === 'string' ? { address: target } : connectionFields(target));
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

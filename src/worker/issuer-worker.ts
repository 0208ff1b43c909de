import { fileURLToPath } from 'node:url';
import { WORKFLOW_TRACING_MODULE, workerTracingOptions } from '../telemetry/tracing';
import { bundleWorkflowCode, NativeConnection, type NativeConnectionOptions, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../../activities';
import { connectTemporalClient } from '../temporal/temporal-client';
import { connectionFields, describeTemporalConnection, type TemporalConnectionOptions } from '../temporal/temporal-connection-options';
import { ensureUpkeepSchedule } from './upkeep-schedule';
import { ensureDocumentSignerRenewalSchedule } from './document-signer-renewal-schedule';
import { ensureStatusListResignSchedule, statusListResignIntervalSeconds } from './status-list-resign-schedule';
import { installTemporalRuntime } from './temporal-runtime';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

/** `address`, and the TLS and API key of the connection (temporal-connection-options.ts). */
export interface IssuerWorkerOptions extends TemporalConnectionOptions {
  namespace: string;
  taskQueue: string;
  activities: ReturnType<typeof createActivities>;
  logger: Logger;
  /**
   * Create the upkeep purge Schedule (upkeep-schedule.ts) and the Document Signer renewal Schedule
   * (document-signer-renewal-schedule.ts) and the status-list re-signing Schedule
   * (status-list-resign-schedule.ts) if they do not exist yet. The `worker` command does; the test
   * harness's workers do not.
   */
  upkeepSchedule?: boolean;
  /** STATUS_LIST_VALIDITY (default one day): sets the re-signing Schedule's interval. */
  statusListValiditySeconds?: number;
  /** A prebuilt bundle (the test harness bundles once per run); otherwise workflows are bundled at start. */
  workflowBundle?: WorkflowBundleWithSourceMap | { codePath: string };
}

export interface RunningWorker {
  worker: Worker;
  /** Resolves when the worker has stopped; rejects if it crashed. */
  done: Promise<void>;
  close(): Promise<void>;
}

/** Bundles `workflows/` (deterministic code, run in Temporal's sandbox) once. */
export async function bundleWorkflows(opts: { tracing?: boolean } = {}): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, ...(opts.tracing ? { workflowInterceptorModules: [WORKFLOW_TRACING_MODULE()] } : {}), logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never });
}

export async function startIssuerWorker(opts: IssuerWorkerOptions): Promise<RunningWorker> {
  installTemporalRuntime(opts.logger);
  const connection = await NativeConnection.connect(nativeConnectionOptions(opts));
  // Address, TLS mode and whether an API key is used; never the key or certificate bytes.
  opts.logger.info({ temporal: describeTemporalConnection(opts) }, 'worker connected to Temporal');
  if (opts.upkeepSchedule) {
    const temporal = await connectTemporalClient(connectionFields(opts), opts.namespace);
    try {
      const { scheduleId, created } = await ensureUpkeepSchedule(temporal.client, { taskQueue: opts.taskQueue });
      opts.logger.info({ scheduleId }, created ? 'upkeep purge schedule created' : 'upkeep purge schedule already exists');
      const renewal = await ensureDocumentSignerRenewalSchedule(temporal.client, { taskQueue: opts.taskQueue });
      opts.logger.info({ scheduleId: renewal.scheduleId }, renewal.created ? 'document signer renewal schedule created' : 'document signer renewal schedule already exists');
      const resign = await ensureStatusListResignSchedule(temporal.client, { taskQueue: opts.taskQueue, every: `${statusListResignIntervalSeconds(opts.statusListValiditySeconds ?? 86_400)}s` });
      opts.logger.info({ scheduleId: resign.scheduleId }, resign.created ? 'status list re-signing schedule created' : 'status list re-signing schedule already exists');
    } catch (err) {
      await connection.close();
      throw err;
    } finally {
      await temporal.close();
    }
  }
  // With tracing on (src/telemetry/tracing.ts) the bundle carries the workflow interceptor (a prebuilt
  // bundle has none, so the worker bundles its own), activities get theirs, and workflow spans leave
  // the sandbox through the `exporter` sink.
  const tracing = workerTracingOptions();
  const worker = await Worker.create({
    connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowBundle: tracing ? await bundleWorkflows({ tracing: true }) : (opts.workflowBundle ?? (await bundleWorkflows())),
    activities: opts.activities,
    ...(tracing ? { interceptors: { activity: tracing.activityInterceptors }, sinks: tracing.sinks } : {}),
    // On SIGTERM the entry point calls close(): in-flight activities get this long to finish.
    shutdownGraceTime: '10s',
  });
  const done = worker.run().finally(() => connection.close());
  done.catch((err: Error) => opts.logger.error({ err: err.message }, 'worker stopped with an error'));
  return {
    worker,
    done,
    close: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done.catch(() => undefined);
    },
  };
}

/** The worker's own connection options: the same address, TLS and API key as the clients'. */
export function nativeConnectionOptions(opts: TemporalConnectionOptions): NativeConnectionOptions {
  return connectionFields(opts);
}

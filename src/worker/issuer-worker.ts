import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../../activities';
import { installTemporalRuntime } from './temporal-runtime';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

export interface IssuerWorkerOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  activities: ReturnType<typeof createActivities>;
  logger: Logger;
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
export async function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never });
}

export async function startIssuerWorker(opts: IssuerWorkerOptions): Promise<RunningWorker> {
  installTemporalRuntime(opts.logger);
  const connection = await NativeConnection.connect({ address: opts.address });
  const worker = await Worker.create({
    connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowBundle: opts.workflowBundle ?? (await bundleWorkflows()),
    activities: opts.activities,
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

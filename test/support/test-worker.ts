import { Client, Connection } from '@temporalio/client';
import type { Logger } from 'pino';
import { type ActivityDeps, createActivities } from '../../activities';
import type { Config } from '../../src/config/config';
import type { Db } from '../../src/db/knex';
import { createLogger } from '../../src/logger';
import { createActivityDeps } from '../../src/main/activity-deps';
import { type RunningWorker, startIssuerWorker } from '../../src/worker/issuer-worker';
import { startOutboxDispatcher, webhookOutboxFor } from '../../src/webhooks/outbox-dispatcher';
import { testEnv } from './test-services';

export interface TestWorker {
  worker: RunningWorker;
  /** A client of the run's Temporal server, for starting, querying and awaiting workflows. */
  client: Client;
  close(): Promise<void>;
}

/** The issuer's worker on `config`'s task queue, against the run's Temporal server and the run's workflow bundle. */
/** `logger`: where the worker (and Temporal's runtime for it) logs; silent by default. */
export async function startTestWorker(config: Config, db: Db, overrides: Partial<ActivityDeps> = {}, logger: Logger = createLogger('silent')): Promise<TestWorker> {
  const { temporalAddress, workflowBundle } = testEnv();
  const worker = await startIssuerWorker({
    address: temporalAddress,
    namespace: 'default',
    taskQueue: config.env.TEMPORAL_TASK_QUEUE,
    activities: createActivities(await createActivityDeps(config, db, overrides)),
    logger,
    workflowBundle: { codePath: workflowBundle },
  });
  const connection = await Connection.connect({ address: temporalAddress }).catch(async (err: unknown) => {
    await worker.close();
    throw err;
  });
  const client = new Client({ connection, namespace: 'default' });
  // As the `worker` command does: the webhook outbox's dispatcher (src/webhooks/outbox-dispatcher.ts).
  const dispatcher = startOutboxDispatcher({ client, outbox: webhookOutboxFor(config, db), taskQueue: config.env.TEMPORAL_TASK_QUEUE, logger });
  return {
    worker,
    client,
    close: async () => {
      await dispatcher.close();
      await worker.close();
      await connection.close();
    },
  };
}

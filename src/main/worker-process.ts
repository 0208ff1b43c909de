import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { RunningPart } from './issuer-parts';

/** Set in the environment of the worker `dev` starts, so that process knows `dev` drives its shutdown. */
export const DEV_CHILD_ENV = 'ISSUER_DEV_CHILD';

/** The message a dev child sends over its IPC channel once its part is running. */
export const READY_MESSAGE = 'issuer-part-ready';

/**
 * `issuer worker` as a child process of `dev`, so the worker (workflow thread and activities) and the
 * gateway do not share one main thread. Same Node flags and environment (the embedded Temporal and
 * PostgreSQL addresses, the data folder with the dev KEK), logs on the same stdout/stderr.
 * The IPC channel tells it when `dev` is gone (even after a kill -9), so it never outlives `dev`.
 */
export async function startWorkerProcess(env: NodeJS.ProcessEnv, logger: Logger): Promise<RunningPart & { running: { done: Promise<void> } }> {
  const cli = fileURLToPath(new URL('../cli.ts', import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, cli, 'worker'], { env: { ...env, [DEV_CHILD_ENV]: '1' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let stopping = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.on('message', (message) => message === READY_MESSAGE && resolve());
    void exited.then(({ code, signal }) => reject(new Error(`the worker process exited before it was ready (${signal ?? `code ${code}`})`)));
  });
  logger.info({ pid: child.pid }, 'worker process started');
  // A worker that exits on its own takes dev down (src/cli.ts), as a crashed worker does in one process.
  const done = exited.then(({ code, signal }) => {
    if (!stopping) throw new Error(`the worker process exited (${signal ?? `code ${code}`})`);
  });
  done.catch(() => {}); // observed by cli.ts; never an unhandled rejection here
  let closing: Promise<void> | undefined;
  return {
    name: 'worker',
    running: { done },
    close: () =>
      (closing ??= (async () => {
        stopping = true;
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const { code, signal } = await exited;
        if (code !== 0) logger.warn({ code, signal }, 'worker process stopped uncleanly');
      })()),
  };
}

import { spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { freePort } from './free-port';

export interface TemporalDevServer {
  /** host:port of the frontend gRPC service. */
  address: string;
  /** The embedded Web UI, unless headless. */
  uiUrl: string | undefined;
  pid: number;
  /** SIGTERM, then SIGKILL after 10 s; resolves once the process has exited. Idempotent. */
  stop(): Promise<void>;
}

export interface StartTemporalDevServerOptions {
  binary: string;
  /** Frontend gRPC port; 0 picks a free one (and a free UI port unless `uiPort` is given). */
  port: number;
  /** Default: `port` + 1000, as the CLI does. */
  uiPort?: number | undefined;
  headless?: boolean | undefined;
  /** SQLite file for persistent state; omitted = in-memory. Output goes to a `.log` file beside it. */
  dbFile?: string | undefined;
  namespace: string;
  /** Name to CLI type (`Keyword`, `Text`, `Int`, `Double`, `Bool`, `Datetime`, `KeywordList`). */
  searchAttributes: Record<string, string>;
  log: (msg: string) => void;
}

const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;
const TAIL_LINES = 40;

/** `temporal.api.enums.v1.IndexedValueType` numbers by the type names the CLI flag takes. */
const INDEXED_VALUE_TYPES: Record<string, number> = {
  Text: 1,
  Keyword: 2,
  Int: 3,
  Double: 4,
  Bool: 5,
  Datetime: 6,
  KeywordList: 7,
};

class EarlyExitError extends Error {
  override readonly name = 'EarlyExitError';
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
  }
}

class SearchAttributeTypeError extends Error {
  override readonly name = 'SearchAttributeTypeError';
}

/**
 * Starts `temporal server start-dev` as a child process (same process group, so it dies with a Ctrl-C or
 * kill of the group) and resolves once the namespace answers and the search attributes are registered.
 *
 * Verified with CLI 1.9.1: restarting on an existing dbFile with the same `--namespace` and
 * `--search-attribute` flags works, also after a kill -9 (SQLite WAL recovers). start-dev silently keeps an
 * attribute whose registered type differs from the flag, so the types are checked after start.
 */
export async function startTemporalDevServer(opts: StartTemporalDevServerOptions): Promise<TemporalDevServer> {
  for (const [name, type] of Object.entries(opts.searchAttributes)) {
    if (INDEXED_VALUE_TYPES[type] === undefined) throw new Error(`search attribute ${name}: unknown type ${type}`);
  }
  // A port we picked can be taken by someone else before the server binds it: pick again.
  const attempts = opts.port === 0 ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      if (!(err instanceof EarlyExitError) || attempt >= attempts || !/address already in use/i.test(err.output)) throw err;
      opts.log(`Temporal dev server could not bind its port, retrying with another one`);
    }
  }
}

async function startOnce(opts: StartTemporalDevServerOptions): Promise<TemporalDevServer> {
  const started = Date.now();
  // Ports the caller chose are checked first: the readiness probe could otherwise reach whatever already
  // listens there (say, another dev server) before ours fails to bind and exits. Ports we pick are free.
  const port = opts.port === 0 ? await freePort() : await assertPortFree(opts.port, 'frontend');
  const uiPort = opts.headless ? undefined : await pickUiPort(opts, port);
  const address = `127.0.0.1:${port}`;

  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port)];
  args.push(...(uiPort === undefined ? ['--headless'] : ['--ui-port', String(uiPort)]));
  args.push('--namespace', opts.namespace, '--log-level', 'warn');
  for (const [name, type] of Object.entries(opts.searchAttributes)) args.push('--search-attribute', `${name}=${type}`);
  let logStream: WriteStream | undefined;
  if (opts.dbFile !== undefined) {
    await mkdir(dirname(opts.dbFile), { recursive: true });
    // WAL without fsync per commit: about twice the throughput of the defaults (CONTRIBUTING.md, "The local stack");
    // a machine crash may lose the last commits, a process crash (kill -9) does not.
    args.push('--db-filename', opts.dbFile, '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=off');
    const logFile = `${opts.dbFile.replace(/\.(db|sqlite3?)$/, '')}.log`;
    logStream = createWriteStream(logFile, { flags: 'a' });
    logStream.write(`--- ${new Date().toISOString()} ${opts.binary} ${args.join(' ')}\n`);
  }

  const tail: string[] = [];
  const child = spawn(opts.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (chunk: Buffer) => {
      logStream?.write(chunk);
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
      }
    });
  }

  // Last resort when our process exits without stop(): a child outlives its parent otherwise.
  const killOnExit = (): void => void child.kill('SIGTERM');
  process.on('exit', killOnExit);

  let stopping = false;
  let ready = false;
  const exited = new Promise<string>((resolve) => {
    child.once('error', (err) => resolve(`failed to start (${err.message})`));
    child.once('exit', (code, signal) => resolve(signal === null ? `exited with code ${code}` : `was killed by ${signal}`));
  });
  let exitReason: string | undefined;
  void exited.then((reason) => {
    exitReason = reason;
    process.removeListener('exit', killOnExit);
    logStream?.end();
    if (ready && !stopping) {
      const output = tail.length > 0 ? `; last output:\n${tail.join('\n')}` : '';
      opts.log(`Temporal dev server (pid ${child.pid}) ${reason} unexpectedly${output}`);
    }
  });

  let stopPromise: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopPromise ??= (async () => {
      stopping = true;
      if (exitReason !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        opts.log(`Temporal dev server (pid ${child.pid}) did not stop within ${STOP_GRACE_MS / 1000} s, killing it`);
        child.kill('SIGKILL');
      }, STOP_GRACE_MS);
      await exited.finally(() => clearTimeout(timer));
    })();
    return stopPromise;
  };

  try {
    await waitUntilReady(address, opts, () => exitReason);
    ready = true;
  } catch (err) {
    const diedEarly = exitReason !== undefined;
    await stop();
    if (diedEarly) {
      const output = tail.join('\n');
      throw new EarlyExitError(`Temporal dev server ${exitReason} before it was ready${output ? `:\n${output}` : ''}`, output);
    }
    throw err;
  }

  const uiUrl = uiPort === undefined ? undefined : `http://127.0.0.1:${uiPort}`;
  opts.log(
    `Temporal dev server ready at ${address}${uiUrl ? `, UI ${uiUrl}` : ''} (pid ${child.pid}, ` +
      `${opts.dbFile ?? 'in-memory'}) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return { address, uiUrl, pid: child.pid ?? 0, stop };
}

/** Polls until the namespace answers, then makes sure every search attribute exists with its type. */
async function waitUntilReady(
  address: string,
  opts: StartTemporalDevServerOptions,
  exitReason: () => string | undefined,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError: unknown;
  let connection: Connection | undefined;
  try {
    for (;;) {
      if (exitReason() !== undefined) throw new Error(`Temporal dev server ${exitReason()}`);
      if (Date.now() > deadline) {
        throw new Error(`Temporal dev server at ${address} not ready within ${READY_TIMEOUT_MS / 1000} s: ${String(lastError)}`);
      }
      try {
        // A bare TCP probe first: the gRPC channel backs off a whole second after a refused connection.
        if (connection === undefined && !(await acceptsTcp(address))) {
          await sleep(50);
          continue;
        }
        // Short per-attempt bounds so that a crashed server is noticed within a couple of seconds.
        const conn = (connection ??= await connect(address));
        await conn.withDeadline(Date.now() + 2_000, () =>
          conn.workflowService.describeNamespace({ namespace: opts.namespace }),
        );
        await ensureSearchAttributes(conn, opts);
        return;
      } catch (err) {
        if (err instanceof SearchAttributeTypeError) throw err;
        lastError = err;
        await sleep(200);
      }
    }
  } finally {
    await connection?.close();
  }
}

function pickUiPort(opts: StartTemporalDevServerOptions, port: number): Promise<number> {
  if (opts.uiPort !== undefined) return assertPortFree(opts.uiPort, 'UI');
  if (opts.port === 0) return freePort(); // port + 1000 may be taken, or above 65535
  return assertPortFree(port + 1000, 'UI');
}

async function assertPortFree(port: number, what: string): Promise<number> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: '127.0.0.1', exclusive: true }, resolve);
    });
  } catch (err) {
    throw new Error(
      `cannot start a Temporal dev server: its ${what} port 127.0.0.1:${port} is in use ` +
        `(another dev server? point TEMPORAL_ADDRESS at it, or free the port)`,
      { cause: err },
    );
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return port;
}

/** Like Connection.connect, but closes the channel of a failed attempt instead of leaving it retrying. */
async function connect(address: string): Promise<Connection> {
  const connection = Connection.lazy({ address, connectTimeout: 2_000 });
  try {
    await connection.ensureConnected();
    return connection;
  } catch (err) {
    await connection.close().catch(() => undefined);
    throw err;
  }
}

async function acceptsTcp(address: string): Promise<boolean> {
  const [host, port] = address.split(':');
  return new Promise<boolean>((resolve) => {
    const socket = createConnection({ host, port: Number(port), timeout: 1_000 });
    const done = (accepted: boolean): void => {
      socket.destroy();
      resolve(accepted);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/**
 * Checks that every search attribute exists with its type. start-dev registers the flags' attributes just
 * after its frontend answers, so missing ones are given a few seconds before we register them ourselves
 * (not needed with CLI 1.9.1, also not on restarts; kept for a CLI that skips them on an existing store).
 */
async function ensureSearchAttributes(connection: Connection, opts: StartTemporalDevServerOptions): Promise<void> {
  const graceEnds = Date.now() + 5_000;
  let missing = await missingSearchAttributes(connection, opts);
  while (Object.keys(missing).length > 0 && Date.now() < graceEnds) {
    await sleep(250);
    missing = await missingSearchAttributes(connection, opts);
  }
  if (Object.keys(missing).length === 0) return;
  opts.log(`registering search attributes ${Object.keys(missing).join(', ')} in namespace ${opts.namespace}`);
  await connection.operatorService.addSearchAttributes({ namespace: opts.namespace, searchAttributes: missing });
}

async function missingSearchAttributes(
  connection: Connection,
  { namespace, searchAttributes, dbFile }: StartTemporalDevServerOptions,
): Promise<Record<string, number>> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing: Record<string, number> = {};
  for (const [name, type] of Object.entries(searchAttributes)) {
    const wanted = INDEXED_VALUE_TYPES[type]!;
    const existing = customAttributes?.[name];
    if (existing === undefined || existing === null) {
      missing[name] = wanted;
    } else if (existing !== wanted) {
      // start-dev keeps the stored type without a word; workflows upserting the wanted type would fail later.
      const stored = Object.keys(INDEXED_VALUE_TYPES).find((key) => INDEXED_VALUE_TYPES[key] === existing);
      throw new SearchAttributeTypeError(
        `search attribute ${name} is registered as ${stored ?? existing} in namespace ${namespace}, ` +
          `expected ${type}${dbFile ? ` (delete ${dbFile} to start afresh)` : ''}`,
      );
    }
  }
  return missing;
}

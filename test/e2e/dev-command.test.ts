import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { freePort } from '../../src/runtime/free-port';

/**
 * The README's run command, from the outside: `dev` on a fresh data folder brings up the whole
 * stack, answers the seed's upload, stops everything on Ctrl-C, and comes back after a kill -9.
 */
const DEV_KEY = 'e2e-dev-key-0123456789abcdef';

interface DevRun {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

async function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function ports() {
  // The Temporal UI takes the frontend port + 1000, which must be free too.
  let temporal = await freePort();
  while (temporal > 64000 || !(await canListen(temporal + 1000))) temporal = await freePort();
  return { PORT: await freePort(), GRPC_PORT: await freePort(), TEMPORAL_DEV_PORT: temporal, POSTGRES_DEV_PORT: await freePort() };
}

function startDev(dataDir: string, portEnv: Record<string, number>): DevRun {
  const env: NodeJS.ProcessEnv = { ...process.env, ISSUER_DATA_DIR: dataDir, ISSUER_DEV_API_KEY: DEV_KEY, LOG_LEVEL: 'info' };
  for (const [k, v] of Object.entries(portEnv)) env[k] = String(v);
  delete env.TEMPORAL_ADDRESS;
  delete env.DATABASE_URL;
  // Its own process group, as a terminal gives a foreground job: Ctrl-C is SIGINT to the group.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'dev'], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function waitForBanner(run: DevRun, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!run.output().includes('Press Ctrl-C to stop everything.')) {
    if (run.child.exitCode !== null) throw new Error(`dev exited early:\n${run.output().slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`dev did not come up:\n${run.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Every live process whose ancestry includes `root` (read from /proc). */
function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // the process ended while we looked
    }
  }
  const found: number[] = [];
  for (const pid of parents.keys()) {
    for (let p = parents.get(pid); p && p > 1; p = parents.get(p)) if (p === root) found.push(pid);
  }
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const upload = (base: string, body: unknown, key = DEV_KEY) =>
  fetch(`${base}/api/v1/upload`, { method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) }, body: typeof body === 'string' ? body : JSON.stringify(body) });

const seedUpload = {
  meta: { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: 'diploma-2025-001234', real_data: true, credential_valid_from: 1735689600, credential_valid_to: 1767225600 },
  identities: [{ authentic_source_person_id: 'EMP-12345', family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15' }],
  document_data: { degree_type: 'Bachelor of Science', field_of_study: 'Computer Science', issuing_institution: 'Example University', graduation_date: '2025-05-15', gpa: '3.8', credits_earned: 120 },
  document_data_version: '1.0.0',
};

describe('`npm run dev`: the whole stack in one process tree', { timeout: 600_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'issuer-dev-e2e-'));
  chmodSync(dataDir, 0o755);
  const runs: DevRun[] = [];
  after(() => {
    for (const run of runs) {
      if (run.child.exitCode !== null || run.child.signalCode !== null) continue;
      for (const pid of [run.child.pid!, ...descendants(run.child.pid!)]) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('comes up on a fresh data folder, serves the seed upload, and Ctrl-C leaves no process behind', async () => {
    const p = await ports();
    const run = startDev(dataDir, p);
    runs.push(run);
    await waitForBanner(run);
    const base = `http://localhost:${p.PORT}`;
    assert.match(run.output(), new RegExp(`Temporal UI  http://127\\.0\\.0\\.1:${p.TEMPORAL_DEV_PORT + 1000}`));
    assert.match(run.output(), new RegExp(`Dev API key  ${DEV_KEY}`));

    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${p.TEMPORAL_DEV_PORT + 1000}/`)).status, 200, 'the Temporal UI answers');
    const first = await upload(base, seedUpload);
    assert.equal(first.status, 200);
    assert.equal(((await first.json()) as { data: { result: string } }).data.result, 'created');
    assert.equal(((await (await upload(base, seedUpload)).json()) as { data: { result: string } }).data.result, 'unchanged');
    assert.equal((await upload(base, seedUpload, '')).status, 401);
    assert.equal((await upload(base, '{"meta": {')).status, 400);

    const tree = descendants(run.child.pid!);
    assert.ok(tree.length >= 2, `temporal and postgres run under dev (saw ${tree.length} descendants)`);
    process.kill(-run.child.pid!, 'SIGINT');
    assert.equal(await run.exited, 0, run.output().slice(-2000));
    // Children may still be finishing their own exit on a busy machine: give them a few seconds, no more.
    let survivors = [run.child.pid!, ...tree].filter(alive);
    for (let i = 0; i < 50 && survivors.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      survivors = survivors.filter(alive);
    }
    const names = survivors.map((pid) => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').slice(0, 120); } catch { return String(pid); } });
    assert.deepEqual(names, [], 'no temporal, postgres or node process survives Ctrl-C');
  });

  test('after a kill -9 of the whole tree, dev comes back on the same data and the document is still there', async () => {
    const p = await ports();
    const crashed = startDev(dataDir, p);
    runs.push(crashed);
    await waitForBanner(crashed);
    const tree = descendants(crashed.child.pid!);
    for (const pid of [crashed.child.pid!, ...tree]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await crashed.exited;
    // As after a real crash, the processes are gone (reaped) before anyone restarts; their files stay.
    for (let i = 0; i < 100 && [crashed.child.pid!, ...tree].some(alive); i++) await new Promise((r) => setTimeout(r, 100));

    const run = startDev(dataDir, p);
    runs.push(run);
    await waitForBanner(run);
    const base = `http://localhost:${p.PORT}`;
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    const read = await fetch(`${base}/api/v1/document`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': DEV_KEY },
      body: JSON.stringify({ authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: 'diploma-2025-001234' }),
    });
    assert.equal(read.status, 200);
    process.kill(run.child.pid!, 'SIGTERM');
    assert.equal(await run.exited, 0);
  });
});

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/runtime/embedded-postgres';
import { findOrInstallTemporalCli } from '../../src/runtime/temporal-cli';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/runtime/temporal-dev-server';
import { SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes';

const NAMESPACE = 'default';
const KEYWORD = 2; // temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD

let workDir: string;
let temporalBinary: string;
const cleanups: (() => Promise<void>)[] = [];

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'issuer-runtime-'));
  // mkdtemp makes it 0700; as root, PostgreSQL runs as the postgres user and must get through it.
  await chmod(workDir, 0o755);
  temporalBinary = await findOrInstallTemporalCli({
    explicitPath: process.env.TEMPORAL_CLI_PATH,
    log: (msg) => process.stderr.write(`${msg}\n`),
  });
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await rm(workDir, { recursive: true, force: true });
});

/** Starts a server and registers its stop() for cleanup, so a failed assertion leaves no process behind. */
async function tracked<T extends { stop(): Promise<void> }>(started: Promise<T>): Promise<T> {
  const server = await started;
  cleanups.push(() => server.stop());
  return server;
}

async function customSearchAttributes(server: TemporalDevServer): Promise<Record<string, unknown>> {
  const connection = await Connection.connect({ address: server.address });
  try {
    const info = await connection.workflowService.describeNamespace({ namespace: NAMESPACE });
    assert.equal(info.namespaceInfo?.name, NAMESPACE);
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: NAMESPACE });
    return { ...customAttributes };
  } finally {
    await connection.close();
  }
}

function assertRegistered(attributes: Record<string, unknown>): void {
  for (const name of Object.keys(SEARCH_ATTRIBUTES)) {
    assert.equal(attributes[name], KEYWORD, `search attribute ${name} is registered as Keyword`);
  }
}

async function parentPid(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const match = status?.match(/^PPid:\s+(\d+)$/m);
  return match ? Number(match[1]) : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntilDead(pid: number): Promise<void> {
  for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(50);
  assert.equal(isAlive(pid), false, `process ${pid} is gone`);
}

test('starts a persistent Temporal dev server with the four search attributes and restarts it on the same database', async (t) => {
  const log = (msg: string): void => t.diagnostic(msg);
  const options = {
    binary: temporalBinary,
    port: 0,
    dbFile: join(workDir, 'temporal-restart', 'temporal.db'),
    namespace: NAMESPACE,
    searchAttributes: SEARCH_ATTRIBUTES,
    log,
  };

  const first = await tracked(startTemporalDevServer(options));
  assertRegistered(await customSearchAttributes(first));
  if (process.platform === 'linux') assert.equal(await parentPid(first.pid), process.pid, 'the dev server is our child');
  assert.ok(first.uiUrl, 'the UI is on by default');
  const ui = await fetch(first.uiUrl);
  assert.equal(ui.status, 200, 'the UI answers');
  await ui.body?.cancel();
  await first.stop();
  await first.stop(); // idempotent
  assert.equal(isAlive(first.pid), false);

  const second = await tracked(startTemporalDevServer(options));
  assertRegistered(await customSearchAttributes(second));
  await second.stop();
});

test('restarts the Temporal dev server on the same database after a SIGKILL', async (t) => {
  const log = (msg: string): void => t.diagnostic(msg);
  const options = {
    binary: temporalBinary,
    port: 0,
    headless: true,
    dbFile: join(workDir, 'temporal-kill', 'temporal.db'),
    namespace: NAMESPACE,
    searchAttributes: SEARCH_ATTRIBUTES,
    log,
  };

  const killed = await tracked(startTemporalDevServer(options));
  assert.equal(killed.uiUrl, undefined);
  assertRegistered(await customSearchAttributes(killed));
  process.kill(killed.pid, 'SIGKILL');
  await waitUntilDead(killed.pid);
  await killed.stop(); // resolves for a process that is already gone

  const revived = await tracked(startTemporalDevServer(options));
  assertRegistered(await customSearchAttributes(revived));
  await revived.stop();
});

test('starts embedded PostgreSQL and keeps written data across a SIGKILL of the postmaster', async (t) => {
  const log = (msg: string): void => t.diagnostic(msg);
  const dataDir = join(workDir, 'postgres', 'cluster');
  const options = { dataDir, port: 0, database: 'issuer_test', log };

  const first = await tracked(startEmbeddedPostgres(options));
  assert.match(first.url, /^postgres:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/issuer_test$/);
  assert.match(first.adminUrl, /\/postgres$/);
  const client = new pg.Client({ connectionString: first.url });
  await client.connect();
  try {
    assert.deepEqual((await client.query('select 1 as one')).rows, [{ one: 1 }]);
    await client.query('create table kept (note text)');
    await client.query(`insert into kept values ('written before the kill')`);
  } finally {
    await client.end();
  }

  const postmasterPid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  assert.ok(postmasterPid > 0);
  process.kill(postmasterPid, 'SIGKILL');
  await waitUntilDead(postmasterPid);
  await first.stop(); // resolves for a postmaster that is already gone

  const second = await tracked(startEmbeddedPostgres(options));
  const again = new pg.Client({ connectionString: second.url });
  await again.connect();
  try {
    assert.deepEqual((await again.query('select note from kept')).rows, [{ note: 'written before the kill' }]);
  } finally {
    await again.end();
  }
  await second.stop();
  await second.stop(); // idempotent
});

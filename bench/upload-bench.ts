/**
 * `npm run bench -- upload`: sustained single-document upload throughput (seed 000 `POST /upload`)
 * through the real gateway process, next to a raw knex insert of the same rows into the same
 * PostgreSQL, measured in the same run. Prints documents/s, latency percentiles and peak RSS.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDocumentsRepository } from '../src/db/documents-repository';
import { createDb } from '../src/db/knex';
import { startEmbeddedPostgres } from '../src/runtime/embedded-postgres';
import { freePort } from '../src/runtime/free-port';
import { findOrInstallTemporalCli } from '../src/runtime/temporal-cli';
import { startTemporalDevServer } from '../src/runtime/temporal-dev-server';
import { SEARCH_ATTRIBUTES } from '../src/temporal/search-attributes';
import { drive, peakRssMiB, percentile } from './bench-kit';

const DOCUMENTS = Number(process.env.BENCH_DOCUMENTS ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const KEY = 'bench-dev-api-key-0123456789';

const body = (i: number) =>
  JSON.stringify({
    meta: { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: `bench-${i}`, real_data: false, credential_valid_from: 1735689600, credential_valid_to: 1767225600 },
    identities: [{ authentic_source_person_id: `EMP-${i}`, family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15' }],
    document_display: { description_short: 'Bachelor of Science in Computer Science' },
    document_data: { degree_type: 'Bachelor of Science', field_of_study: 'Computer Science', issuing_institution: 'Example University', graduation_date: '2025-05-15', gpa: '3.8', credits_earned: 120 },
    document_data_version: '1.0.0',
  });


function summary(label: string, n: number, run: { seconds: number; latencies: number[] }) {
  const sorted = [...run.latencies].sort((a, b) => a - b);
  const rate = n / run.seconds;
  console.log(`${label.padEnd(34)} ${rate.toFixed(0).padStart(6)} docs/s   p50 ${percentile(sorted, 50).toFixed(1)} ms  p95 ${percentile(sorted, 95).toFixed(1)} ms  p99 ${percentile(sorted, 99).toFixed(1)} ms`);
  return rate;
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** CPU seconds of a process tree (live descendants plus what exited children left in the parent's counters). */
function treeCpuSeconds(root: number): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pid = Number(entry);
      if (pid === root) total += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100;
      else if (Number(fields[1]) === root) total += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // exited while we looked
    }
  }
  return total;
}


async function waitReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`gateway exited:\n${output()}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gateway did not become ready:\n${output()}`);
}

export async function runUploadBench(): Promise<void> {
  const log = () => {};
  const work = mkdtempSync(join(tmpdir(), 'issuer-bench-'));
  chmodSync(work, 0o755);
  const binary = await findOrInstallTemporalCli({ explicitPath: process.env.TEMPORAL_CLI_PATH, log });
  const [temporal, pg] = await Promise.all([
    startTemporalDevServer({ binary, port: 0, headless: true, namespace: 'default', searchAttributes: SEARCH_ATTRIBUTES, log }),
    startEmbeddedPostgres({ dataDir: join(work, 'postgres'), port: 0, database: 'issuer', log }),
  ]);
  let gateway: ChildProcess | undefined;
  try {
    const port = await freePort();
    const env = { ...process.env, DATABASE_URL: pg.url, TEMPORAL_ADDRESS: temporal.address, PORT: String(port), ISSUER_DEV_API_KEY: KEY, ISSUER_DATA_DIR: join(work, 'data'), ISSUER_CONFIG: 'config/dev.yaml', LOG_LEVEL: 'warn' };
    await new Promise<void>((resolve, reject) => {
      const migrate = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'migrate'], { env, stdio: 'inherit' });
      migrate.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`migrate exited ${code}`))));
    });
    console.log(`upload benchmark: ${DOCUMENTS} documents, ${CONCURRENCY} in flight, ${cpus().length} cores shared by client, gateway and PostgreSQL`);
    console.log('(the upload path makes no Temporal round trip, so Temporal\'s own ceiling does not bound it)\n');

    // Baseline: the same rows inserted with knex straight into PostgreSQL, same concurrency.
    const db = createDb(pg.url, { poolMax: CONCURRENCY });
    const rows = (i: number) => {
      const doc = JSON.parse(body(i));
      return { authentic_source: doc.meta.authentic_source, vct: doc.meta.vct, document_id: `raw-${i}`, meta: JSON.stringify(doc.meta), document_data: JSON.stringify(doc.document_data), content_hash: String(i) };
    };
    await drive(200, CONCURRENCY, async (i) => void (await db('documents').insert(rows(-1 - i)))); // warm-up
    const baseline = summary('raw knex insert (baseline)', DOCUMENTS, await drive(DOCUMENTS, CONCURRENCY, async (i) => void (await db('documents').insert(rows(i)))));
    // The same upload through the repository in this process: the database share of the cost.
    const documents = createDocumentsRepository(db, { dateFormats: ['2006-01-02'] });
    const audit = { actor: 'source:hr.example.org', action: 'document.upload', target: {} };
    summary('documents repository upsert', DOCUMENTS, await drive(DOCUMENTS, CONCURRENCY, async (i) => void (await documents.upsert({ ...JSON.parse(body(i)), meta: { ...JSON.parse(body(i)).meta, document_id: `repo-${i}` } }, audit))));
    await db.destroy();

    gateway = spawn(process.execPath, [...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []), '--import', 'tsx', 'src/cli.ts', 'gateway'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    gateway.stdout!.on('data', (c: Buffer) => (out += c));
    gateway.stderr!.on('data', (c: Buffer) => (out += c));
    await waitReady(`http://127.0.0.1:${port}/readyz`, gateway, () => out);

    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const post = (i: number) =>
      new Promise<void>((resolve, reject) => {
        const payload = body(i);
        const req = request({ host: '127.0.0.1', port, path: '/api/v1/upload', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'x-api-key': KEY } }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`upload ${i}: HTTP ${res.statusCode}`))));
        });
        req.on('error', reject);
        req.end(payload);
      });
    await drive(500, CONCURRENCY, (i) => post(1_000_000 + i)); // warm-up: JIT, pool, prepared caches
    const postmasterPid = Number(readFileSync(join(work, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const cpuBefore = { gateway: cpuSeconds(gateway.pid!), client: process.cpuUsage(), postgres: treeCpuSeconds(postmasterPid) };
    const run = await drive(DOCUMENTS, CONCURRENCY, post);
    const uploads = summary('POST /api/v1/upload (gateway)', DOCUMENTS, run);
    const gatewayCpu = cpuSeconds(gateway.pid!) - cpuBefore.gateway;
    const clientCpu = (process.cpuUsage(cpuBefore.client).user + process.cpuUsage(cpuBefore.client).system) / 1e6;
    const postgresCpu = treeCpuSeconds(postmasterPid) - cpuBefore.postgres;
    const perUpload = (cpu: number) => `${((cpu / DOCUMENTS) * 1e6).toFixed(0)} µs (${((cpu / run.seconds) * 100).toFixed(0)}% of a core)`;
    console.log(`CPU per upload: gateway ${perUpload(gatewayCpu)}, PostgreSQL ${perUpload(postgresCpu)}, bench client ${perUpload(clientCpu)}`);
    agent.destroy();

    console.log(`\nratio upload / raw insert: ${(uploads / baseline).toFixed(2)}   (target: >= 2000 uploads/s)`);
    console.log(`peak RSS: gateway ${peakRssMiB(gateway.pid!).toFixed(0)} MiB, bench client ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB, Temporal ${peakRssMiB(temporal.pid).toFixed(0)} MiB`);
  } finally {
    gateway?.kill('SIGTERM');
    await new Promise((r) => (gateway && gateway.exitCode === null ? gateway.once('exit', r) : r(undefined)));
    await Promise.all([temporal.stop(), pg.stop()]);
    rmSync(work, { recursive: true, force: true });
  }
}

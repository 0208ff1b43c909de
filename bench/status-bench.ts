/**
 * `npm run bench -- status`: revocations/s of 10,000 credentials through the API (seed 001
 * `POST /api/v1/credentials/:id/revoke` on the real gateway process) and the time until all of them
 * are visible in the served BitstringStatusListCredential; then the time to re-sign and publish a
 * Token Status List of 1,000,000 entries beside the bare zlib of the same list, in the same run.
 * Prints peak RSS.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { createDevPki } from '../src/credentials/dev-pki';
import { createStatusListPublisher } from '../src/credentials/status-list-publisher';
import { packTokenStatusList, zlibStatusList } from '../src/credentials/status-list-token';
import { createLocalSigner, generateEs256PrivateJwk } from '../src/credentials/signer';
import type { StatusListRow } from '../src/db/status-lists-repository';
import { createMemoryStatusListTokenStore } from '../src/db/status-list-tokens-repository';
import { startEmbeddedPostgres } from '../src/runtime/embedded-postgres';
import { freePort } from '../src/runtime/free-port';
import { findOrInstallTemporalCli } from '../src/runtime/temporal-cli';
import { startTemporalDevServer } from '../src/runtime/temporal-dev-server';
import { SEARCH_ATTRIBUTES } from '../src/temporal/search-attributes';
import { drive, formatBudget, peakRssMiB, percentile, startCpuBudget } from './bench-kit';

export const description = 'revocations/s for 10,000 credentials through the API, time until visible in the served list; re-sign of a 1,000,000-entry list vs bare zlib';

const CREDENTIALS = Number(process.env.BENCH_CREDENTIALS ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const LIST_ENTRIES = 1_000_000;
const KEY = 'bench-dev-api-key-0123456789';

const credentialBody = JSON.stringify({
  credentialType: 'IdentityCredential',
  format: 'vc+jwt',
  recipientDid: 'did:example:bench-holder',
  data: { issuerName: 'Bench', legalName: 'Bench AB', streetAddress: 'S', addressLocality: 'L', addressRegion: 'R', postalCode: '1', addressCountry: 'SE', parentOrganization: 'P' },
});

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

/** Bits set in a served BitstringStatusListCredential (W3C v1.0: gzip, Multibase base64url, MSB first). */
async function revokedIn(url: string, indices: number[]): Promise<number> {
  const jwt = await (await fetch(url)).text();
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as { credentialSubject: { encodedList: string } };
  const bits = gunzipSync(Buffer.from(payload.credentialSubject.encodedList.slice(1), 'base64url'));
  return indices.filter((i) => (bits[i >> 3]! >> (7 - (i & 7))) & 1).length;
}

/** Re-sign + publish of a 1,000,000-entry, 2-bit Token Status List (10% non-zero; both forms, JWT and CWT, from one zlib), in this process, beside bare zlib of the same packed list. */
async function listSigning(): Promise<void> {
  const entries = Array.from({ length: LIST_ENTRIES / 10 }, () => ({ idx: randomInt(LIST_ENTRIES), status: 1 + randomInt(2) }));
  const list: StatusListRow = { id: 'token/status/0', family: 'token', purpose: 'status', number: 0, bits: 2, size: LIST_ENTRIES, allocated: LIST_ENTRIES };
  let version = 0;
  const signer = await createLocalSigner(generateEs256PrivateJwk());
  // The publisher signs both forms of a Token Status List together: the CWT with a Document Signer (x5chain).
  const { documentSigner: ds } = await createDevPki();
  const documentSigner = await createLocalSigner(ds.privateJwk, { x5c: ds.x5c });
  const publisher = createStatusListPublisher({
    issuerUrl: 'https://issuer.example.org',
    lists: { list: async () => list, lists: async () => [list], changeMark: async () => String(version), snapshot: async () => ({ list, entries, mark: String(version) }) },
    tokens: createMemoryStatusListTokenStore(),
    keyStore: { signer: async (purpose) => (purpose === 'document_signer' ? documentSigner : signer) },
    ttlSeconds: 300,
    validitySeconds: 86_400,
  });
  const runs = 20;
  const signTimes: number[] = [];
  const zlibTimes: number[] = [];
  let size = 0;
  for (let i = 0; i < runs + 3; i++) {
    version++; // a change: the next read re-signs
    const t0 = performance.now();
    const published = await publisher.publish(list.id, 'jwt');
    const t1 = performance.now();
    zlibStatusList(packTokenStatusList(LIST_ENTRIES, 2, entries));
    const t2 = performance.now();
    size = String(published!.body).length;
    if (i >= 3) {
      signTimes.push(t1 - t0);
      zlibTimes.push(t2 - t1);
    }
  }
  const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
  console.log(`\n1,000,000-entry Token Status List (2 bits, ${(entries.length / 1000).toFixed(0)}k non-zero), median of ${runs}:`);
  console.log(`  re-sign + publish (pack, zlib, JWT + CWT ES256)   ${median(signTimes).toFixed(1)} ms   (target < 100 ms; JWT ${(size / 1024).toFixed(0)} KiB)`);
  console.log(`  bare pack + zlib of the same list                ${median(zlibTimes).toFixed(1)} ms`);
  console.log('  (excludes reading the entries from PostgreSQL, measured above as part of visibility)');
}

export async function run(): Promise<void> {
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
    const base = `http://127.0.0.1:${port}`;
    const env = { ...process.env, DATABASE_URL: pg.url, TEMPORAL_ADDRESS: temporal.address, PORT: String(port), ISSUER_URL: base, ISSUER_DEV_API_KEY: KEY, ISSUER_DATA_DIR: join(work, 'data'), ISSUER_CONFIG: 'config/dev.yaml', LOG_LEVEL: 'warn' };
    await new Promise<void>((resolve, reject) => {
      const migrate = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'migrate'], { env, stdio: 'inherit' });
      migrate.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`migrate exited ${code}`))));
    });
    gateway = spawn(process.execPath, [...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof-status'] : []), '--import', 'tsx', 'src/cli.ts', 'gateway'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    gateway.stdout!.on('data', (c: Buffer) => (out += c));
    gateway.stderr!.on('data', (c: Buffer) => (out += c));
    await waitReady(`${base}/readyz`, gateway, () => out);
    console.log(`status benchmark: ${CREDENTIALS} credentials, ${CONCURRENCY} in flight, ${cpus().length} cores shared by client, gateway and PostgreSQL`);

    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const post = (path: string, payload: string) =>
      new Promise<string>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), authorization: `Bearer ${KEY}` } }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c));
          res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${path}: HTTP ${res.statusCode} ${body}`))));
        });
        req.on('error', reject);
        req.end(payload);
      });

    // Setup: the credentials (each with a random free index of the revocation list).
    const created: { id: string; url: string; idx: number }[] = [];
    const creation = await drive(CREDENTIALS, CONCURRENCY, async () => {
      const body = JSON.parse(await post('/api/v1/credentials', credentialBody)) as { id: string; data: { id: string } };
      const vc = JSON.parse(Buffer.from(body.data.id.slice('data:application/vc+jwt,'.length).split('.')[1]!, 'base64url').toString('utf8')) as { credentialStatus: { statusListCredential: string; statusListIndex: string } };
      created.push({ id: body.id, url: vc.credentialStatus.statusListCredential, idx: Number(vc.credentialStatus.statusListIndex) });
    });
    console.log(`created ${CREDENTIALS} credentials at ${(CREDENTIALS / creation.seconds).toFixed(0)}/s (setup)`);
    const lists = new Map<string, number[]>();
    for (const c of created) lists.set(c.url, [...(lists.get(c.url) ?? []), c.idx]);
    for (const [url, indices] of lists) await revokedIn(url, indices); // the first signing of each list is not part of the figure

    const cpu = startCpuBudget({ gateway: gateway.pid });
    const started = performance.now();
    const revocation = await drive(CREDENTIALS, CONCURRENCY, async (i) => void (await post(`/api/v1/credentials/${created[i]!.id}/revoke`, '{}')));
    const answered = performance.now();
    const sorted = [...revocation.latencies].sort((a, b) => a - b);
    console.log(`POST /api/v1/credentials/:id/revoke   ${(CREDENTIALS / revocation.seconds).toFixed(0)} revocations/s   p50 ${percentile(sorted, 50).toFixed(1)} ms  p95 ${percentile(sorted, 95).toFixed(1)} ms  p99 ${percentile(sorted, 99).toFixed(1)} ms`);
    let visible = 0;
    for (;;) {
      visible = 0;
      for (const [url, indices] of lists) visible += await revokedIn(url, indices);
      if (visible === CREDENTIALS || performance.now() - answered > 30_000) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const allVisible = performance.now();
    console.log(`all ${visible}/${CREDENTIALS} revocations visible in the served list(s) ${((allVisible - started) / 1000).toFixed(2)} s after the first request (target <= 10 s), ${((allVisible - answered) / 1000).toFixed(3)} s after the last 200`);
    console.log(`CPU ms per revocation (machine = parts; until all visible)\n  ${formatBudget('revoke', cpu.end(CREDENTIALS))}`);
    agent.destroy();

    await listSigning();
    console.log(`\npeak RSS: gateway ${peakRssMiB(gateway.pid!).toFixed(0)} MiB, bench client ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  } finally {
    gateway?.kill('SIGTERM');
    await new Promise((r) => (gateway && gateway.exitCode === null ? gateway.once('exit', r) : r(undefined)));
    await Promise.all([temporal.stop(), pg.stop()]);
    rmSync(work, { recursive: true, force: true });
  }
}

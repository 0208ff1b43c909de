/**
 * `npm run bench -- issuance`: documents through upload → notification → offer → token → nonce →
 * credential (SD-JWT VC), against real gateway and worker processes, Temporal and PostgreSQL;
 * credentials/s and per-step latency, beside Temporal's bare ceiling and the in-process signing
 * rate measured in the same run. BENCH_SHAPE=dev runs one `issuer dev` (what `npm run dev` runs) instead of
 * separate gateway and worker processes; both print each process's CPU share during the drive and peak RSS,
 * and then the CPU of each wallet step run alone (and of the probe's start and Updates run alone),
 * which a noisy machine blurs far less than the mixed drive.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../src/config/config';
import { createIssuanceService } from '../src/credentials/issuance-service';
import { createKeyStore, keyStoreOptions } from '../src/credentials/key-store';
import { createDb } from '../src/db/knex';
import { startEmbeddedPostgres } from '../src/runtime/embedded-postgres';
import { freePort } from '../src/runtime/free-port';
import { findOrInstallTemporalCli } from '../src/runtime/temporal-cli';
import { startTemporalDevServer } from '../src/runtime/temporal-dev-server';
import { SEARCH_ATTRIBUTES } from '../src/temporal/search-attributes';
import { CEILING_PROBE_WORKFLOW_TYPE, type CeilingProbeWorkflow, finishProbeUpdate } from '../workflows/contracts/ceiling-probe';
import { credentialOfferWorkflowId } from '../workflows/contracts/credential-offer';
import { type CpuBudget, drive, formatBudget, peakRssMiB, percentile, startCpuBudget } from './bench-kit';

export const description = 'documents through upload → notification → token → nonce → credential: credentials/s, per-step latency';

const DOCUMENTS = Number(process.env.BENCH_DOCUMENTS ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
/** Documents of the per-step pass (each step alone for all of them). */
const STEP_DOCUMENTS = Math.min(200, DOCUMENTS);
const KEY = 'bench-dev-api-key-0123456789';
const GRANT = 'urn:ietf:params:oauth:grant-type:pre-authorized_code';
const STEPS = ['upload', 'notification', 'offer', 'token', 'nonce', 'credential'] as const;
/** `production`: gateway and worker as separate `issuer gateway` / `issuer worker` processes; `dev`: one `issuer dev` (gateway, gRPC and worker in one process). */
const SHAPE = process.env.BENCH_SHAPE === 'dev' ? 'dev' : 'production';

/** The pid of `parent`'s child whose command line contains `text`. */
function childPid(parent: number, text: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== parent) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').includes(text)) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  return undefined;
}

function spawnPart(part: string, env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string } {
  // BENCH_PROFILE=<dir> writes each part's V8 CPU profile there (node --cpu-prof), for finding where its time goes.
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'src/cli.ts', part], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out = (out + c).slice(-4000)));
  child.stderr!.on('data', (c: Buffer) => (out = (out + c).slice(-4000)));
  return { child, output: () => out };
}

export async function run(): Promise<void> {
  const log = () => {};
  const work = mkdtempSync(join(tmpdir(), 'issuer-bench-issuance-'));
  chmodSync(work, 0o755);
  const binary = await findOrInstallTemporalCli({ explicitPath: process.env.TEMPORAL_CLI_PATH, log });
  const [temporal, pg] = await Promise.all([
    startTemporalDevServer({ binary, port: 0, headless: true, namespace: 'default', searchAttributes: SEARCH_ATTRIBUTES, log }),
    startEmbeddedPostgres({ dataDir: join(work, 'postgres'), port: 0, database: 'issuer', log, settings: ['shared_preload_libraries=pg_stat_statements'] }),
  ]);
  const parts: ReturnType<typeof spawnPart>[] = [];
  try {
    // The dev configuration without the PIN (the bench measures the machine path, not the mail round trip).
    const file = parse(readFileSync('config/dev.yaml', 'utf8')) as Record<string, any>;
    file.issuer.pre_authorized_code.pin_required = false;
    for (const type of Object.values(file.authentic_sources['hr.example.org'].credential_types) as { vctm_path?: string }[]) {
      if (type.vctm_path) type.vctm_path = join(process.cwd(), 'config', type.vctm_path);
    }
    writeFileSync(join(work, 'issuer.yaml'), stringify(file));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = { ...process.env, GRPC_PORT: String(await freePort()), ISSUER_CONFIG: join(work, 'issuer.yaml'), ISSUER_DATA_DIR: join(work, 'data'), ISSUER_DEV_API_KEY: KEY, DATABASE_URL: pg.url, TEMPORAL_ADDRESS: temporal.address, PORT: String(port), ISSUER_URL: base, LOG_LEVEL: 'warn' };
    await new Promise<void>((resolve, reject) => spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'migrate'], { env, stdio: 'ignore' }).on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`migrate: ${c}`)))));
    if (SHAPE === 'dev') parts.push(spawnPart('dev', env));
    else parts.push(spawnPart('worker', env), spawnPart('gateway', env));
    for (let i = 0; ; i++) {
      if (parts.some(({ child }) => child.exitCode !== null)) throw new Error(`a part exited:\n${parts.map((p) => p.output()).join('\n')}`);
      if (await fetch(`${base}/readyz`).then((r) => r.ok, () => false)) break;
      if (i > 600) throw new Error('gateway did not become ready');
      await new Promise((r) => setTimeout(r, 100));
    }
    // The processes whose CPU and memory are reported: in the dev shape, `issuer dev` (gateway and gRPC) and the worker it started.
    const gatewayPid = SHAPE === 'dev' ? parts[0]!.child.pid! : parts[1]!.child.pid!;
    const workerPid = SHAPE === 'dev' ? childPid(gatewayPid, 'cli.ts worker') : parts[0]!.child.pid!;
    const gatewayLabel = SHAPE === 'dev' ? `dev (gateway + gRPC${workerPid ? '' : ' + worker'})` : 'gateway';
    const pidsOf = () => ({ [gatewayLabel]: gatewayPid, ...(workerPid ? { worker: workerPid } : {}), Temporal: temporal.pid });

    console.log(`issuance benchmark (${SHAPE} shape: ${SHAPE === 'dev' ? 'one `issuer dev` process' : 'separate gateway and worker processes'}): ${DOCUMENTS} documents, ${CONCURRENCY} in flight; ${cpus().length} cores shared by client, gateway, worker, Temporal and PostgreSQL; load ${loadavg()[0]!.toFixed(1)}`);

    // Baseline 1: Temporal's bare ceilings, same server, same worker: start + one Update + completion,
    // and start + two Updates + completion (an offer's own shape: redeem, then issue), with the Updates' latency.
    const connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection });
    const probes = 300;
    const ceilings: { updates: number; rate: number; updateLatencies: number[]; budget: CpuBudget; historyLength: number }[] = [];
    for (const updates of [1, 2]) {
      const updateLatencies: number[] = [];
      const cpu = startCpuBudget(pidsOf());
      let lastProbe = '';
      const { seconds: probeSeconds } = await drive(probes, CONCURRENCY, async (i) => {
        const handle = await client.workflow.start<CeilingProbeWorkflow>(CEILING_PROBE_WORKFLOW_TYPE, { taskQueue: 'issuer', workflowId: (lastProbe = `probe-${updates}-${i}-${Date.now()}`), args: [{ updates }] });
        for (let u = 0; u < updates; u++) {
          const t = performance.now();
          await handle.executeUpdate(finishProbeUpdate, { args: ['x'] });
          updateLatencies.push(performance.now() - t);
        }
        await handle.result();
      });
      const budget = cpu.end(probes);
      const { historyLength } = await client.workflow.getHandle(lastProbe).describe();
      ceilings.push({ updates, rate: probes / probeSeconds, updateLatencies: updateLatencies.sort((a, b) => a - b), budget, historyLength });
    }
    for (const c of ceilings) {
      console.log(`  Temporal ceiling (start + ${c.updates} Update${c.updates > 1 ? 's' : ' '} + complete) ${c.rate.toFixed(0).padStart(6)} workflows/s   Update p50 ${percentile(c.updateLatencies, 50).toFixed(1)} ms, p99 ${percentile(c.updateLatencies, 99).toFixed(1)} ms`);
    }
    const ceiling = ceilings[1]!;

    // Baseline 2: in-process SD-JWT VC signing with the same keys and type metadata.
    const config = loadConfig(env);
    const db = createDb(pg.url, { poolMax: 2 });
    const keyStore = createKeyStore(keyStoreOptions(config, db));
    await keyStore.ensureProvisioned();
    const issuance = createIssuanceService({ config, keyStore });
    const holderJwk = await exportJWK((await generateKeyPair('ES256')).publicKey);
    const documentData = { degree_type: 'Bachelor of Science', field_of_study: 'Computer Science', issuing_institution: 'Example University', graduation_date: '2025-05-15', gpa: '3.8', credits_earned: 120 };
    let signed = 0;
    const signStart = performance.now();
    while (performance.now() - signStart < 1500) {
      await issuance.makeSdJwt({ vct: 'urn:eudi:diploma:1', documentData, holderJwk });
      signed++;
    }
    const signingRate = signed / ((performance.now() - signStart) / 1000);
    console.log(`  in-process SD-JWT VC signing (one thread)     ${signingRate.toFixed(0).padStart(6)} credentials/s`);

    // PostgreSQL's own count of transactions (each statement outside a transaction is one) and rows,
    // read before and after the drive: round trips per credential, a figure a loaded machine cannot blur.
    const pgCounters = async () => {
      await new Promise((r) => setTimeout(r, 1200)); // statistics reach pg_stat_database within a second
      const { rows } = await db.raw(`select xact_commit + xact_rollback as transactions, tup_returned + tup_fetched as rows_read, tup_inserted + tup_updated + tup_deleted as rows_written from pg_stat_database where datname = current_database()`);
      return Object.fromEntries(Object.entries(rows[0] as Record<string, string>).map(([k, v]) => [k, Number(v)]));
    };

    // The flow, as wallets and the source drive it.
    const latencies: Record<(typeof STEPS)[number], number[]> = { upload: [], notification: [], offer: [], token: [], nonce: [], credential: [] };
    const timed = async <T>(step: (typeof STEPS)[number], fn: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      const value = await fn();
      latencies[step].push(performance.now() - t);
      return value;
    };
    const json = async (res: Response) => {
      const body = await res.json();
      if (!res.ok) throw new Error(`${res.url}: ${res.status} ${JSON.stringify(body)}`);
      return body as any;
    };
    const source = { 'content-type': 'application/json', 'x-api-key': KEY };
    const keys = await Promise.all(Array.from({ length: CONCURRENCY }, () => generateKeyPair('ES256')));
    const jwks = await Promise.all(keys.map((k) => exportJWK(k.publicKey)));
    // One document's way through the wallet path, step by step: the drive runs the steps in order per
    // document; the per-step pass below runs each step for every document before the next one.
    type Step = (typeof STEPS)[number];
    interface Holder { documentId: string; key: number; qr?: { deep_link: string }; offer?: any; accessToken?: string; nonce?: string; proof?: string }
    const walletStep: Record<Step, (h: Holder) => Promise<void>> = {
      upload: async (h) => void (await json(await fetch(`${base}/api/v1/upload`, { method: 'POST', headers: source, body: JSON.stringify({ meta: { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: h.documentId }, identities: [{ family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15' }], document_data: documentData }) }))),
      notification: async (h) => void (h.qr = (await json(await fetch(`${base}/api/v1/notification`, { method: 'POST', headers: source, body: JSON.stringify({ authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: h.documentId }) }))).qr),
      offer: async (h) => void (h.offer = await json(await fetch(decodeURIComponent(h.qr!.deep_link.split('credential_offer_uri=')[1]!)))),
      token: async (h) => void (h.accessToken = (await json(await fetch(`${base}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: GRANT, 'pre-authorized_code': h.offer.grants[GRANT]['pre-authorized_code'] }) }))).access_token),
      nonce: async (h) => void (h.nonce = (await json(await fetch(`${base}/nonce`, { method: 'POST' }))).c_nonce),
      credential: async (h) => void (await json(await fetch(`${base}/credential`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${h.accessToken}` }, body: JSON.stringify({ credential_configuration_id: 'urn:eudi:diploma:1', proofs: { jwt: [h.proof] } }) }))),
    };
    /** The wallet's key proof (OpenID4VCI 1.0 §8.2.1.1), signed between the nonce and the credential request: the wallet's own work, not timed. */
    const signProof = async (h: Holder) => {
      h.proof = await new SignJWT({ nonce: h.nonce }).setProtectedHeader({ alg: 'ES256', typ: 'openid4vci-proof+jwt', jwk: jwks[h.key]! }).setAudience(base).setIssuedAt().sign(keys[h.key]!.privateKey);
    };
    const holder = (id: string, i: number): Holder => ({ documentId: id, key: i % keys.length });
    const flow = async (i: number) => {
      const h = holder(`bench-${i}`, i);
      for (const step of STEPS) {
        if (step === 'credential') await signProof(h);
        await timed(step, () => walletStep[step](h));
      }
    };
    await drive(Math.min(32, DOCUMENTS), CONCURRENCY, (i) => flow(1_000_000 + i)); // warm-up
    for (const step of STEPS) latencies[step].length = 0;
    await db.raw('create extension if not exists pg_stat_statements');
    await db.raw('select pg_stat_statements_reset()');
    const pgBefore = await pgCounters();
    const driveCpu = startCpuBudget(pidsOf());
    const { seconds } = await drive(DOCUMENTS, CONCURRENCY, flow);
    const driveBudget = driveCpu.end(DOCUMENTS);
    const pgAfter = await pgCounters();
    // Where PostgreSQL's reads go, table by table (whole run, warm-up included): a table read by sequential scan shows here first.
    const { rows: tableReads } = await db.raw(`select relname, seq_scan, seq_tup_read, idx_scan, idx_tup_fetch, n_tup_ins + n_tup_upd + n_tup_del as written from pg_stat_user_tables order by seq_tup_read + coalesce(idx_tup_fetch, 0) desc limit 8`);
    // The statements behind those figures, most frequent first (pg_stat_statements, drive only).
    const { rows: statements } = await db.raw(`select calls, rows, round(total_exec_time::numeric, 1) as ms, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) as query from pg_stat_statements where query not like '%pg_stat%' order by calls desc limit 25`);
    await db.destroy();
    // Each step alone, for every document of a second set before the next step (and the probe's own
    // three steps the same way): what one call costs each process, without the other steps' load
    // mixed in, so a change to one step shows in its own line.
    const stepBudgets: [string, CpuBudget][] = [];
    const holders = Array.from({ length: STEP_DOCUMENTS }, (_, i) => holder(`bench-step-${i}`, i));
    for (const step of STEPS) {
      if (step === 'credential') await drive(STEP_DOCUMENTS, CONCURRENCY, (i) => signProof(holders[i]!));
      const cpu = startCpuBudget(pidsOf());
      await drive(STEP_DOCUMENTS, CONCURRENCY, (i) => walletStep[step](holders[i]!));
      stepBudgets.push([step, cpu.end(STEP_DOCUMENTS)]);
    }
    const probeHandles: WorkflowHandle<CeilingProbeWorkflow>[] = [];
    const probeSteps: [string, (i: number) => Promise<void>][] = [
      ['probe start', async (i) => void (probeHandles[i] = await client.workflow.start<CeilingProbeWorkflow>(CEILING_PROBE_WORKFLOW_TYPE, { taskQueue: 'issuer', workflowId: `probe-step-${i}-${Date.now()}`, args: [{ updates: 2 }] }))],
      ['probe Update 1', async (i) => void (await probeHandles[i]!.executeUpdate(finishProbeUpdate, { args: ['x'] }))],
      ['probe Update 2, result', async (i) => void (await probeHandles[i]!.executeUpdate(finishProbeUpdate, { args: ['x'] }), await probeHandles[i]!.result())],
    ];
    for (const [label, task] of probeSteps) {
      const cpu = startCpuBudget(pidsOf());
      await drive(STEP_DOCUMENTS, CONCURRENCY, task);
      stepBudgets.push([label, cpu.end(STEP_DOCUMENTS)]);
    }
    const { historyLength: offerHistoryLength } = await client.workflow.getHandle(credentialOfferWorkflowId('hr.example.org', 'urn:eudi:diploma:1', 'bench-0')).describe();
    const rate = DOCUMENTS / seconds;

    console.log(`\n  end to end                                    ${rate.toFixed(0).padStart(6)} credentials/s   `);
    for (const step of STEPS) {
      const sorted = latencies[step].sort((a, b) => a - b);
      console.log(`    ${step.padEnd(13)} p50 ${percentile(sorted, 50).toFixed(1).padStart(6)} ms   p95 ${percentile(sorted, 95).toFixed(1).padStart(6)} ms   p99 ${percentile(sorted, 99).toFixed(1).padStart(6)} ms`);
    }
    const ratio = rate / ceiling.rate;
    console.log(`  ratio to the two-Update ceiling ${ratio.toFixed(2)} (target >= 0.75: ${ratio >= 0.75 ? 'met' : 'NOT MET'}), to the one-Update ceiling ${(rate / ceilings[0]!.rate).toFixed(2)}, to in-process signing ${(rate / signingRate).toFixed(3)}`);
    const ceilingP99 = percentile(ceiling.updateLatencies, 99);
    for (const step of ['token', 'credential'] as const) {
      const p99 = percentile(latencies[step], 99);
      console.log(`  ${step} p99 ${p99.toFixed(1)} ms vs the ceiling's Update p99 ${ceilingP99.toFixed(1)} ms (target: no higher): ${p99 <= ceilingP99 ? 'met' : 'NOT MET'}`);
    }
    console.log('  Temporal round trips per credential: start (notification), Update redeem (token), Update issue with a local signing activity (credential)');
    console.log(`  history events: an offer after its credential ${offerHistoryLength} (still open: the issuance window), a completed probe ${ceiling.historyLength}`);
    const perCredential = (key: string) => ((pgAfter[key]! - pgBefore[key]!) / DOCUMENTS).toFixed(1);
    console.log(`  PostgreSQL per credential (the whole issuer, gateway and worker): ${perCredential('transactions')} transactions, ${perCredential('rows_read')} rows read, ${perCredential('rows_written')} rows written`);
    console.log('  PostgreSQL statements per credential (calls, rows, exec ms in all):');
    for (const st of statements as { calls: string; rows: string; ms: string; query: string }[]) console.log(`    ${(Number(st.calls) / DOCUMENTS).toFixed(2).padStart(6)}  ${(Number(st.rows) / Number(st.calls)).toFixed(1).padStart(6)} rows  ${String(st.ms).padStart(8)} ms  ${st.query}`);
    console.log(`  PostgreSQL reads by table (whole run): ${(tableReads as Record<string, string | null>[]).map((t) => `${t.relname} seq ${t.seq_scan}/${t.seq_tup_read} idx ${t.idx_scan ?? 0}/${t.idx_tup_fetch ?? 0} w ${t.written}`).join('; ')}`);
    const cores = Object.entries(driveBudget.perProcessMs).map(([name, perCredential]) => `${name} ${((perCredential * rate) / 1000).toFixed(2)}`);
    console.log(`  CPU during the drive (cores): ${cores.join(', ')}${workerPid ? '' : ', worker (in the dev process)'}; the machine ${((driveBudget.machineMs * rate) / 1000).toFixed(2)} of ${cpus().length}`);
    // The budget that bounds the ratio: what one credential costs every process, beside one probe workflow.
    console.log(`  CPU per workflow (ms): ${formatBudget('ceiling probe (2 Updates)', ceiling.budget)}`);
    console.log(`                         ${formatBudget('issuer credential', driveBudget)}`);
    console.log(`  CPU per call, each step alone (${STEP_DOCUMENTS} documents, ${CONCURRENCY} in flight; ms; a workflow task the call causes is counted where it runs):`);
    for (const [label, budget] of stepBudgets) console.log(`    ${formatBudget(label, budget)}`);
    const sum = (labels: readonly string[]) => stepBudgets.filter(([l]) => labels.includes(l)).reduce((a, [, b]) => a + b.machineMs, 0);
    const probeTotal = sum(probeSteps.map(([l]) => l));
    console.log(`    the six steps ${sum(STEPS).toFixed(1)} ms against the probe's three ${probeTotal.toFixed(1)} ms: ratio of costs ${(probeTotal / sum(STEPS)).toFixed(2)}`);
    // What a 0.75 ratio of costs leaves: the steps that make no Temporal call are the seeds' own
    // requests, so whatever they cost comes out of what the three Temporal steps may add to the probe's.
    const [start, update1, update2] = probeSteps.map(([l]) => sum([l]));
    const budget = probeTotal / 0.75;
    const plain = sum(['upload', 'offer', 'nonce']);
    const extras = { notification: sum(['notification']) - start!, token: sum(['token']) - update1!, credential: sum(['credential']) - update2! };
    console.log(
      `    a ratio of costs of 0.75 allows the six steps ${budget.toFixed(1)} ms; upload, offer and nonce (no Temporal call) take ${plain.toFixed(1)}, so notification, token and credential may add ${(budget - plain - probeTotal).toFixed(1)} ms to the probe's start and Updates; they add ${(extras.notification + extras.token + extras.credential).toFixed(1)} (${Object.entries(extras).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')})`,
    );
    console.log(`  at this cost the machine's ${cpus().length} cores bound the issuer at ${((cpus().length * 1000) / driveBudget.machineMs).toFixed(0)} credentials/s and the probe at ${((cpus().length * 1000) / ceiling.budget.machineMs).toFixed(0)} workflows/s`);
    console.log(`  peak RSS: ${gatewayLabel} ${peakRssMiB(gatewayPid).toFixed(0)} MiB, ${workerPid ? `worker ${peakRssMiB(workerPid).toFixed(0)} MiB, ` : ''}Temporal ${peakRssMiB(temporal.pid).toFixed(0)} MiB, bench ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
    await connection.close();
  } finally {
    for (const { child } of parts) child.kill('SIGTERM');
    await Promise.all(parts.map(({ child }) => new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)))));
    await Promise.all([temporal.stop(), pg.stop()]);
    rmSync(work, { recursive: true, force: true });
  }
}

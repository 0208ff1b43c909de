/**
 * The test command. Starts (or reuses) one Temporal dev server and one PostgreSQL for the whole
 * run, bundles the workflows once, then runs every test file with node's test runner; each file
 * gets its own database and task queue from test/support.
 *
 *   npm test              unit + integration + end-to-end
 *   npm test -- unit      unit tests only (no services)
 *
 * Reuse instead of starting: TEMPORAL_ADDRESS (a Temporal frontend whose namespace has the custom
 * search attributes) and DATABASE_URL (a PostgreSQL role allowed to CREATE DATABASE).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEmbeddedPostgres } from '../src/runtime/embedded-postgres';
import { findOrInstallTemporalCli } from '../src/runtime/temporal-cli';
import { startTemporalDevServer } from '../src/runtime/temporal-dev-server';
import { SEARCH_ATTRIBUTES } from '../src/temporal/search-attributes';
import { bundleWorkflows } from '../src/worker/issuer-worker';

const SUITES = ['unit', 'integration', 'e2e'] as const;
type Suite = (typeof SUITES)[number];

const log = (msg: string) => process.stderr.write(`[test] ${msg}\n`);

async function main(): Promise<number> {
  const requested = process.argv.slice(2).filter((a): a is Suite => (SUITES as readonly string[]).includes(a));
  const suites: Suite[] = requested.length ? requested : [...SUITES];
  // TEST_FILES narrows a run to some files (space-separated), e.g. while working on one test.
  const only = process.env.TEST_FILES?.split(/\s+/).filter(Boolean);
  const files = only?.length ? only : suites.flatMap((suite) => testFiles(suite));
  if (files.length === 0) throw new Error('no test files found');

  const cleanups: (() => Promise<void>)[] = [];
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' };
  try {
    if (suites.some((s) => s !== 'unit')) {
      const work = mkdtempSync(join(tmpdir(), 'issuer-test-'));
      chmodSync(work, 0o755); // the embedded PostgreSQL runs as the postgres user when we are root
      cleanups.push(async () => rmSync(work, { recursive: true, force: true }));
      const started = performance.now();
      const binary = await findOrInstallTemporalCli({ explicitPath: process.env.TEMPORAL_CLI_PATH, log });
      env.TEMPORAL_CLI_PATH = binary;
      const [temporalAddress, pgAdminUrl, bundle] = await Promise.all([
        process.env.TEMPORAL_ADDRESS ??
          startTemporalDevServer({ binary, port: 0, headless: true, namespace: 'default', searchAttributes: SEARCH_ATTRIBUTES, log }).then((server) => {
            cleanups.push(() => server.stop());
            return server.address;
          }),
        process.env.DATABASE_URL ??
          startEmbeddedPostgres({ dataDir: join(work, 'postgres'), port: 0, database: 'postgres', log }).then((pg) => {
            cleanups.push(() => pg.stop());
            return pg.adminUrl;
          }),
        bundleWorkflows(),
      ]);
      const bundlePath = join(work, 'workflow-bundle.js');
      writeFileSync(bundlePath, bundle.code);
      Object.assign(env, { TEST_TEMPORAL_ADDRESS: temporalAddress, TEST_PG_ADMIN_URL: pgAdminUrl, TEST_WORKFLOW_BUNDLE: bundlePath });
      log(`services ready in ${((performance.now() - started) / 1000).toFixed(1)} s: Temporal ${temporalAddress}, PostgreSQL ${new URL(pgAdminUrl).host}`);
    }
    // The unit files first, then the rest: the time-skipping test server stalled once (a webhook
    // retry test timed out in a full run, and passed alone); this keeps the unit files away from the
    // load of the integration and crash tests.
    const unit = (f: string) => f.startsWith(join('test', 'unit'));
    let code = 0;
    for (const batch of [files.filter(unit), files.filter((f) => !unit(f))]) if (batch.length) code = (await runNodeTests(batch, env)) || code;
    return code;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: Error) => log(`cleanup failed: ${err.message}`));
  }
}

function testFiles(suite: Suite): string[] {
  const dir = resolve('test', suite);
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith('.test.ts')).sort().map((n) => join('test', suite, n));
}

function runNodeTests(files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolvePromise) => {
    // Two files at a time on this 2-core machine; each file isolates its database and task queue.
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', '--test-timeout=300000', ...files], { stdio: 'inherit', env });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => resolvePromise(code ?? (signal ? 1 : 0)));
  });
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    log(`harness failed: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);

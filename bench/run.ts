/**
 * Benchmarks: `npm run bench -- <suite> [<suite> ...] [--flags]`.
 *
 * A suite is a file `bench/<suite>-bench.ts` exporting `run(flags: string[]): Promise<void>` (a
 * function named `run<Suite>Bench` is accepted too) and, optionally, a one-line `description`. The
 * suite is dispatched by its file name, so adding one (`upload`, `issuance`, ...) needs no change
 * here. Suites print their own figures and keep to about ten seconds each.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

type SuiteModule = { run?: SuiteRun; description?: string; [name: string]: unknown };
type SuiteRun = (flags: string[]) => Promise<void>;

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const SUFFIX = '-bench.ts';
const fileOf = (suite: string) => `${BENCH_DIR}${suite}${SUFFIX}`;

function availableSuites(): string[] {
  return readdirSync(BENCH_DIR)
    .filter((f) => f.endsWith(SUFFIX))
    .map((f) => f.slice(0, -SUFFIX.length))
    .sort();
}

async function load(suite: string): Promise<SuiteRun> {
  const mod = (await import(fileOf(suite))) as SuiteModule;
  const named = `run${suite.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase())}Bench`;
  const run = mod.run ?? (typeof mod[named] === 'function' ? (mod[named] as SuiteRun) : undefined);
  if (!run) throw new Error(`bench/${suite}${SUFFIX} exports neither run() nor ${named}()`);
  return run;
}

/** A suite's `description` constant, else the first line of its leading doc comment; read, not imported. */
function describe(suite: string): string {
  const text = readFileSync(fileOf(suite), 'utf8');
  const constant = /export const description = (['"`])(.*?)\1/.exec(text)?.[2];
  const docLine = /^\/\*\*\s*\n?\s*\*?\s*(.+)$/m.exec(text)?.[1];
  return constant ?? docLine?.trim() ?? '';
}

function usage(): string {
  const lines = availableSuites().map((suite) => `  ${suite.padEnd(10)} ${describe(suite)}`.trimEnd());
  return `usage: npm run bench -- <suite> [<suite> ...]\n\nsuites (bench/<suite>${SUFFIX}):\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const suites = argv.filter((a) => !a.startsWith('-'));
  const flags = argv.filter((a) => a.startsWith('-'));
  const unknown = suites.filter((s) => !/^[a-z0-9-]+$/.test(s) || !existsSync(fileOf(s)));
  if (suites.length === 0 || unknown.length > 0) {
    if (unknown.length > 0) process.stderr.write(`unknown suite: ${unknown.join(', ')}\n`);
    process.stderr.write(usage());
    return 2;
  }
  process.stdout.write(`node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'})\n`);
  for (const suite of suites) {
    const run = await load(suite);
    process.stdout.write(`\n== ${suite} ==\n`);
    await run(flags);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);

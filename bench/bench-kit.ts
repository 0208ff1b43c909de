import { readFileSync } from 'node:fs';
/** Small measuring helpers shared by the benchmark suites. */

export interface RateResult {
  operations: number;
  seconds: number;
  /** Operations per second (wall clock). */
  rate: number;
  /** CPU time (user + system) this process spent per operation, in microseconds. */
  cpuMicrosPerOperation: number;
}

/** CPU time (user + system) of this process so far, in microseconds. */
export function cpuMicros(usage: NodeJS.CpuUsage = process.cpuUsage()): number {
  return usage.user + usage.system;
}

/** Runs `fn` back to back for `durationMs` (after `warmupMs`) and reports the rate. */
export async function measureRate(fn: () => unknown, durationMs: number, warmupMs = Math.min(300, durationMs / 4)): Promise<RateResult> {
  const warmupEnd = performance.now() + warmupMs;
  while (performance.now() < warmupEnd) await fn();
  let operations = 0;
  const cpuStart = cpuMicros();
  const started = performance.now();
  const end = started + durationMs;
  while (performance.now() < end) {
    await fn();
    operations++;
  }
  const seconds = (performance.now() - started) / 1000;
  return { operations, seconds, rate: operations / seconds, cpuMicrosPerOperation: (cpuMicros() - cpuStart) / operations };
}

export interface LoadResult extends RateResult {
  /** Latencies in milliseconds, sorted. */
  latenciesMs: number[];
  errors: number;
}

/**
 * Keeps `concurrency` calls of `fn` in flight for `durationMs` (after `warmupMs`), recording each
 * latency. `onMeasured(start|end)` runs just before and after the measured window (to sample another
 * process's CPU time, for instance).
 */
export async function measureLoad(
  fn: () => Promise<unknown>,
  opts: { concurrency: number; durationMs: number; warmupMs?: number; onWindow?: (edge: 'start' | 'end') => Promise<void> },
): Promise<LoadResult> {
  const runFor = async (ms: number, record: boolean) => {
    const latencies: number[] = [];
    let errors = 0;
    const end = performance.now() + ms;
    const worker = async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          await fn();
          if (record) latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
    return { latencies, errors, seconds: (performance.now() - started) / 1000 };
  };
  await runFor(opts.warmupMs ?? 500, false);
  await opts.onWindow?.('start');
  const cpuStart = cpuMicros();
  const { latencies, errors, seconds } = await runFor(opts.durationMs, true);
  const cpu = cpuMicros() - cpuStart;
  await opts.onWindow?.('end');
  latencies.sort((a, b) => a - b);
  return { operations: latencies.length, seconds, rate: latencies.length / seconds, cpuMicrosPerOperation: cpu / latencies.length, latenciesMs: latencies, errors };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const perSecond = (rate: number) => `${Math.round(rate).toLocaleString('en-US')}/s`;
export const ms = (value: number) => `${value.toFixed(2)} ms`;
export const micros = (value: number) => `${Math.round(value)} µs`;
/** process.resourceUsage().maxRSS is in kilobytes. */
export const megabytes = (kilobytes: number) => `${(kilobytes / 1024).toFixed(0)} MB`;

export function line(label: string, value: string, note = ''): void {
  process.stdout.write(`  ${label.padEnd(44)} ${value.padStart(12)}${note ? `   ${note}` : ''}\n`);
}

/** Runs `task(i)` for i in [0, n) with `concurrency` in flight; returns wall time and per-call latencies (ms). */
export async function drive(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<{ seconds: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        await task(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, latencies };
}


/** Peak resident set (VmHWM) of a process, in MiB. */
export function peakRssMiB(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

/** CPU seconds the whole machine has spent busy so far (all cores; /proc/stat, clock ticks of 1/100 s, idle and iowait excluded). */
export function machineBusySeconds(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields as number[];
  return (user! + nice! + system! + irq! + softirq! + steal!) / 100;
}

/** CPU seconds a process has used so far (utime + stime of /proc/<pid>/stat, in clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU spent per operation by each named process, by this bench process, and by the whole machine (PostgreSQL and anything else included). */
export interface CpuBudget {
  perProcessMs: Record<string, number>;
  benchMs: number;
  machineMs: number;
}

export function startCpuBudget(pids: Record<string, number | undefined>) {
  const read = () => ({
    processes: Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, pid ? cpuSeconds(pid) : 0])),
    bench: cpuMicros() / 1e6,
    machine: machineBusySeconds(),
  });
  const before = read();
  return {
    end(operations: number): CpuBudget {
      const after = read();
      const per = (a: number, b: number) => ((a - b) * 1000) / operations;
      return {
        perProcessMs: Object.fromEntries(Object.keys(pids).map((name) => [name, per(after.processes[name]!, before.processes[name]!)])),
        benchMs: per(after.bench, before.bench),
        machineMs: per(after.machine, before.machine),
      };
    },
  };
}

export function formatBudget(label: string, budget: CpuBudget): string {
  const known = Object.values(budget.perProcessMs).reduce((a, b) => a + b, 0) + budget.benchMs;
  const parts = [...Object.entries(budget.perProcessMs).map(([name, v]) => `${name} ${v.toFixed(1)}`), `bench client ${budget.benchMs.toFixed(1)}`, `PostgreSQL and the rest ${Math.max(0, budget.machineMs - known).toFixed(1)}`];
  return `${label.padEnd(26)} ${budget.machineMs.toFixed(1).padStart(5)} = ${parts.join(' + ')}`;
}

import { type LogLevel, type LogMetadata, Runtime } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createLogger } from '../logger';

let installed = false;

/**
 * Installs the SDK runtime once per process: its logs go to our pino logger (not the console),
 * and it does not stop workers on signals by itself, because our entry point owns the shutdown order.
 * With `sdkMetricsAddress` (TEMPORAL_SDK_METRICS_ADDRESS) the runtime's own Prometheus exporter
 * serves the SDK's worker metrics (task latencies, slots, polls, cache) at `http://<address>/metrics`.
 */
export function installTemporalRuntime(logger: Logger = createLogger('warn', 'temporal-sdk'), { sdkMetricsAddress }: { sdkMetricsAddress?: string | undefined } = {}): void {
  if (installed) return;
  installed = true;
  const forward = (level: LogLevel, message: string, meta?: LogMetadata) => {
    const method = ({ TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const)[level];
    logger[method]({ temporal: meta }, message);
  };
  Runtime.install({
    shutdownSignals: [],
    ...(sdkMetricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: sdkMetricsAddress, countersTotalSuffix: true } } } } : {}),
    logger: {
      log: forward,
      trace: (m, meta) => forward('TRACE', m, meta),
      debug: (m, meta) => forward('DEBUG', m, meta),
      info: (m, meta) => forward('INFO', m, meta),
      warn: (m, meta) => forward('WARN', m, meta),
      error: (m, meta) => forward('ERROR', m, meta),
    },
  });
}

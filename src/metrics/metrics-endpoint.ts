import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config/config';
import { registry } from './metrics';

/**
 * Who may read `/metrics`: with METRICS_TOKEN set, a request with `Authorization: Bearer <token>`;
 * without it, anyone in development and nobody in production (the endpoint answers 404 there, so a
 * public gateway does not publish its traffic figures by default).
 */
export function metricsAccess(config: Config): (authorization: string | undefined) => 'allowed' | 'unauthorized' | 'hidden' {
  const token = config.env.METRICS_TOKEN;
  if (!token) return () => (config.file.environment === 'production' ? 'hidden' : 'allowed');
  const expected = createHash('sha256').update(token).digest();
  return (authorization) => {
    const presented = /^Bearer (\S{1,512})$/.exec(authorization ?? '')?.[1];
    if (!presented) return 'unauthorized';
    return timingSafeEqual(createHash('sha256').update(presented).digest(), expected) ? 'allowed' : 'unauthorized';
  };
}

/** Writes the registry in the Prometheus text format, or the refusal `metricsAccess` decided. */
export async function answerMetrics(access: ReturnType<typeof metricsAccess>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const verdict = access(req.headers.authorization);
  if (verdict !== 'allowed') {
    const status = verdict === 'hidden' ? 404 : 401;
    if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(status === 404 ? { error: 'NOT_FOUND', message: 'No such endpoint' } : { error: 'UNAUTHORIZED', message: 'A Bearer METRICS_TOKEN is required' }));
    return;
  }
  const body = await registry.metrics();
  res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(body);
}

/**
 * `/metrics` on its own port (METRICS_PORT) for the parts without an HTTP server of their own: the
 * `worker` and `grpc` commands. Anything but GET /metrics is a 404.
 */
export async function startMetricsServer(config: Config, port: number, logger: Logger): Promise<{ url: string; close(): Promise<void> }> {
  const access = metricsAccess(config);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'NOT_FOUND', message: 'Only GET /metrics is served here' }));
      return;
    }
    answerMetrics(access, req, res).catch((err: Error) => {
      logger.error({ err: err.message }, 'metrics collection failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  const host = config.env.METRICS_HOST ?? (config.file.environment === 'production' ? '0.0.0.0' : '127.0.0.1');
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, () => resolve()));
  const address = server.address();
  const url = `http://${host}:${typeof address === 'object' && address ? address.port : port}/metrics`;
  logger.info({ url }, 'metrics listening');
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

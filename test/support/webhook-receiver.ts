import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: Buffer;
  status: number;
}

/**
 * A webhook subscriber on loopback that answers from a script of statuses (then `statusFor(body)`
 * when it gives one, then `downStatus` while that is set, else 200), records every request, and can
 * go down and come back on its port.
 */
export function webhookReceiver() {
  const received: ReceivedWebhook[] = [];
  const script: { status: number; retryAfter?: string }[] = [];
  const state: { downStatus?: number; statusFor?: (body: Buffer) => number | undefined } = {};
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks);
          const next = script.shift() ?? { status: state.statusFor?.(body) ?? state.downStatus ?? 200 };
          received.push({ headers: req.headers, body, status: next.status });
          res.statusCode = next.status;
          if (next.retryAfter) res.setHeader('retry-after', next.retryAfter);
          res.end();
        });
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as AddressInfo).port;
        resolve();
      });
    });
  const close = () =>
    new Promise<void>((resolve) => {
      if (!server) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
      server = undefined;
    });
  return { received, script, state, listen, close, url: (path: string) => `http://127.0.0.1:${port}${path}` };
}

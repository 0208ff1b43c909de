import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One webhook event as a receiver gets it (docs/conventions.md, Webhooks). */
export interface ReceivedEvent {
  id: string;
  type: string;
  occurred_at: string;
  data: Record<string, unknown>;
}

/** An authentic source's notification_endpoint on loopback: answers 204 and records the events it is told. */
export async function startHookReceiver() {
  const events: ReceivedEvent[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      events.push(JSON.parse(body));
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, events, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks` };
}

import { createServer } from 'node:net';

/**
 * A TCP port that is free right now on `host`: the kernel picks it for a throwaway listener.
 * Another process may take it before the caller binds it, so callers that can retry should.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close(() => reject(new Error(`could not read the port of a listener on ${host}`)));
        return;
      }
      server.close((err) => (err ? reject(err) : resolve(address.port)));
    });
  });
}

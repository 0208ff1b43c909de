import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { ServiceError } from '@temporalio/client';
import express from 'express';
import { InvalidDpopProof, InvalidGrant, InvalidToken, oauthErrorHandler } from '../../src/oid4vci/oauth-errors';

/**
 * The wallet endpoints' one error handler (RFC 6749 §5.2 bodies): OAuth errors pass as they are,
 * with their challenge (RFC 6750 §3, RFC 9449 §7.1); an outage or a bug is a 5xx, never blamed on
 * the wallet (the review found a bare catch that turned a Temporal outage into invalid_grant).
 */
async function answer(error: unknown): Promise<{ status: number; body: any; headers: Headers; logged: unknown[] }> {
  const logged: unknown[] = [];
  const app = express();
  app.post('/token', () => {
    throw error;
  });
  app.use(oauthErrorHandler({ error: (entry: unknown) => logged.push(entry) }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/token`, { method: 'POST' });
    return { status: res.status, body: await res.json(), headers: res.headers, logged };
  } finally {
    server.close();
  }
}

test('an OAuth error is answered with its code, description and no-store, and is not logged as a failure', async () => {
  const { status, body, headers, logged } = await answer(new InvalidGrant('Wrong tx_code; 2 attempt(s) left'));
  assert.equal(status, 400);
  assert.deepEqual(body, { error: 'invalid_grant', error_description: 'Wrong tx_code; 2 attempt(s) left' });
  assert.equal(headers.get('cache-control'), 'no-store');
  assert.equal(logged.length, 0);
});

test('401 answers carry their WWW-Authenticate challenge (RFC 6750 §3, RFC 9449 §7.1)', async () => {
  const token = await answer(new InvalidToken('Missing, unknown or expired access token', 'DPoP'));
  assert.equal(token.status, 401);
  assert.equal(token.headers.get('www-authenticate'), 'DPoP error="invalid_token"');
  const dpop = await answer(new InvalidDpopProof('bad proof', 401));
  assert.equal(dpop.status, 401);
  assert.equal(dpop.headers.get('www-authenticate'), 'DPoP error="invalid_dpop_proof"');
  const atToken = await answer(new InvalidDpopProof('bad proof'));
  assert.equal(atToken.status, 400, 'at the token endpoint a bad DPoP proof is a 400 without a challenge');
  assert.equal(atToken.headers.get('www-authenticate'), null);
});

test('Temporal unreachable is 503 temporarily_unavailable, not invalid_grant', async () => {
  const { status, body, logged } = await answer(new ServiceError('14 UNAVAILABLE: No connection established'));
  assert.equal(status, 503);
  assert.equal(body.error, 'temporarily_unavailable');
  assert.equal(logged.length, 1, 'the failure is logged');
});

test('any other failure is 500 server_error, and its message does not reach the wallet', async () => {
  const { status, body } = await answer(new Error('connect ECONNREFUSED 10.0.0.5:5432 password=hunter2'));
  assert.equal(status, 500);
  assert.equal(body.error, 'server_error');
  assert.doesNotMatch(JSON.stringify(body), /ECONNREFUSED|hunter2/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenBuckets } from '../../src/gateway/rate-limit';

test('a client may spend its burst at once, then waits for the sustained rate', () => {
  let now = 0;
  const buckets = new TokenBuckets(2, 3, () => now);
  assert.deepEqual([buckets.take('a'), buckets.take('a'), buckets.take('a')], [0, 0, 0]);
  assert.equal(buckets.take('a'), 1, 'the fourth request waits about one second');
  assert.equal(buckets.take('b'), 0, 'another client has its own bucket');
  now += 500; // half a second refills one token at 2/s
  assert.equal(buckets.take('a'), 0);
  assert.equal(buckets.take('a'), 1);
});

test('peek reports the wait without spending a token', () => {
  let now = 0;
  const buckets = new TokenBuckets(0.2, 1, () => now);
  assert.equal(buckets.peek('x'), 0);
  buckets.take('x');
  assert.equal(buckets.peek('x'), 5);
  assert.equal(buckets.peek('x'), 5);
  now += 5000;
  assert.equal(buckets.peek('x'), 0);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Db } from '../../src/db/knex';
import { createStatusListsRepository } from '../../src/db/status-lists-repository';

/**
 * The change mark (status-lists-repository.ts `announceChange`) moves after the commit of the change
 * it announces: a caller never joins an advance sent before its call (that advance may have read the
 * sequence before the caller's commit), but callers that arrive while one is in flight share the one
 * queued behind it. A fake connection records when each `nextval` is sent and lets the test finish it.
 */
function fakeDb() {
  const sent: { resolve: () => void; reject: (err: Error) => void }[] = [];
  const db = {
    raw: (sql: string) => {
      assert.match(sql, /nextval\('status_list_change_seq'\)/);
      return new Promise<void>((resolve, reject) => sent.push({ resolve, reject }));
    },
  } as unknown as Db;
  return { db, sent };
}
const tick = () => new Promise((r) => setImmediate(r));

test('announceChange: a caller during an advance in flight gets a later advance, shared with the others that arrive meanwhile', async () => {
  const { db, sent } = fakeDb();
  const lists = createStatusListsRepository(db);
  const done: string[] = [];
  const first = lists.announceChange().then(() => done.push('first'));
  assert.equal(sent.length, 1, 'no advance in flight: sent at once');
  const second = lists.announceChange().then(() => done.push('second'));
  const third = lists.announceChange().then(() => done.push('third'));
  await tick();
  assert.equal(sent.length, 1, 'the later callers wait: the advance in flight may predate their commits');
  sent[0]!.resolve();
  await first;
  await tick();
  assert.deepEqual(done, ['first'], 'the later callers are not answered by the earlier advance');
  assert.equal(sent.length, 2, 'one advance sent after their calls, for both');
  sent[1]!.resolve();
  await Promise.all([second, third]);
  assert.deepEqual(done, ['first', 'second', 'third']);
  // Idle again: the next caller sends its own at once.
  const fourth = lists.announceChange();
  assert.equal(sent.length, 3);
  sent[2]!.resolve();
  await fourth;
});

test('announceChange: a failed advance fails its callers, and the queued one still runs after it', async () => {
  const { db, sent } = fakeDb();
  const lists = createStatusListsRepository(db);
  const first = lists.announceChange();
  const second = lists.announceChange();
  sent[0]!.reject(new Error('connection lost'));
  await assert.rejects(first, /connection lost/);
  await tick();
  assert.equal(sent.length, 2, 'the queued advance was sent');
  sent[1]!.resolve();
  await second;
});

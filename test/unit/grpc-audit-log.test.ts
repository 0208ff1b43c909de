import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import type { AuditEntry } from '../../src/db/audit-log-repository';
import { createGrpcAuditLog } from '../../src/grpc/grpc-audit-log';

const entry = (n: number): AuditEntry => ({ actor: 'grpc:test', action: `grpc.call${n}` });
const silent = pino({ level: 'silent' });

/** A writer whose statements finish only when the test says so. */
function gatedWriter() {
  const statements: AuditEntry[][] = [];
  const gates: (() => void)[] = [];
  const write = (entries: readonly AuditEntry[]) =>
    new Promise<void>((resolve) => {
      statements.push([...entries]);
      gates.push(resolve);
    });
  const release = async () => {
    gates.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { write, statements, release };
}

test('rows recorded while an INSERT is in flight go out together in the next one (group commit), and each call resolves only once its row is written', async () => {
  const writer = gatedWriter();
  const audit = createGrpcAuditLog(writer.write, silent);
  const settled: number[] = [];
  const calls = [0, 1, 2, 3].map((n) => audit.record(entry(n)).then(() => settled.push(n)));
  assert.deepEqual(writer.statements.map((s) => s.map((e) => e.action)), [['grpc.call0']]);
  assert.deepEqual(settled, [], 'nothing resolves before its statement finishes');
  await writer.release();
  assert.deepEqual(settled, [0]);
  assert.deepEqual(writer.statements.map((s) => s.length), [1, 3]);
  await writer.release();
  await Promise.all(calls);
  assert.deepEqual(settled, [0, 1, 2, 3]);
  await audit.close();
});

test('a failed INSERT fails the calls whose rows it carried, and later rows are still written', async () => {
  let fail = true;
  const written: string[] = [];
  const audit = createGrpcAuditLog(async (entries) => {
    if (fail) throw new Error('database down');
    written.push(...entries.map((e) => e.action));
  }, silent);
  await assert.rejects(audit.record(entry(1)), /database down/);
  fail = false;
  await audit.record(entry(2));
  assert.deepEqual(written, ['grpc.call2']);
});

test('close waits for the rows already queued', async () => {
  const writer = gatedWriter();
  const audit = createGrpcAuditLog(writer.write, silent);
  void audit.record(entry(1));
  void audit.record(entry(2));
  let closed = false;
  const closing = audit.close().then(() => (closed = true));
  await writer.release();
  assert.equal(closed, false);
  await writer.release();
  await closing;
  assert.equal(closed, true);
});

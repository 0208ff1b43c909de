import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Worker } from '@temporalio/worker';
import * as workflows from '../../workflows';
import { testEnv } from '../support/test-services';
import { HISTORIES_DIR, historyFromPlain } from '../support/workflow-histories';

/**
 * Replay safety: offers and onboardings live for days, so a deploy must never change what a running
 * workflow's code does with the history it already has. Every history recorded from a real run
 * (`npm run record-histories`, into test/fixtures/workflow-histories/<commit>/) is replayed against the
 * current workflow code; a nondeterministic change fails here, not in production. A change that
 * must behave differently is versioned with `patched()` (CONTRIBUTING.md).
 */
interface RecordedHistory {
  /** Path under HISTORIES_DIR: `<commit>/<scenario>.json`. */
  file?: string;
  workflowId: string;
  workflowType: string;
  /** What the recorded run did, for a reader of a failure. */
  scenario: string;
  history: unknown;
}

/** Every recorded history, from every version of the code that recorded some (one folder per commit). */
const recorded = (): RecordedHistory[] =>
  readdirSync(HISTORIES_DIR, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => ({ ...(JSON.parse(readFileSync(join(HISTORIES_DIR, name), 'utf8')) as RecordedHistory), file: name }));

/** Every workflow function the worker runs (workflows/index.ts re-exports them). */
const workflowTypes = Object.entries(workflows)
  .filter(([name, value]) => typeof value === 'function' && name.endsWith('Workflow'))
  .map(([name]) => name);

describe('recorded workflow histories replay against the current workflow code', () => {
  test('every workflow type has at least one recorded history', () => {
    const covered = new Set(recorded().map((h) => h.workflowType));
    const missing = workflowTypes.filter((type) => !covered.has(type));
    assert.deepEqual(missing, [], `record histories for these workflow types (npm run record-histories): ${missing.join(', ')}`);
  });

  test('each recorded history replays without a nondeterminism error', async () => {
    const histories = recorded();
    assert.ok(histories.length > 0, `no recorded histories in ${HISTORIES_DIR}`);
    // Replay ids are the files, so the same workflow id recorded by two versions stays apart.
    const failures: string[] = [];
    let replayed = 0;
    const results = Worker.runReplayHistories(
      { workflowBundle: { codePath: testEnv().workflowBundle }, replayName: 'recorded-histories' },
      histories.map((h) => ({ workflowId: h.file!, history: historyFromPlain(h.history) })),
    );
    for await (const result of results) {
      replayed++;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    assert.equal(replayed, histories.length);
    assert.deepEqual(failures, []);
  });
});

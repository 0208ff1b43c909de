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
 * (`npm run record-histories`, into test/fixtures/workflow-histories/) is replayed against the
 * current workflow code; a nondeterministic change fails here, not in production. A change that
 * must behave differently is versioned with `patched()` (CONTRIBUTING.md).
 */
interface RecordedHistory {
  workflowId: string;
  workflowType: string;
  /** What the recorded run did, for a reader of a failure. */
  scenario: string;
  history: unknown;
}

const recorded = (): RecordedHistory[] =>
  readdirSync(HISTORIES_DIR)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => JSON.parse(readFileSync(join(HISTORIES_DIR, name), 'utf8')) as RecordedHistory);

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
    const byId = new Map(histories.map((h) => [h.workflowId, h]));
    const failures: string[] = [];
    let replayed = 0;
    const results = Worker.runReplayHistories(
      { workflowBundle: { codePath: testEnv().workflowBundle }, replayName: 'recorded-histories' },
      histories.map((h) => ({ workflowId: h.workflowId, history: historyFromPlain(h.history) })),
    );
    for await (const result of results) {
      replayed++;
      if (result.error) failures.push(`${result.workflowId} (${byId.get(result.workflowId)?.scenario}): ${result.error.message}`);
    }
    assert.equal(replayed, histories.length);
    assert.deepEqual(failures, []);
  });
});

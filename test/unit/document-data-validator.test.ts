import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createDocumentDataValidator, MAX_FIELD_ERRORS } from '../../src/gateway/datastore/document-data-validator';
import { loadTestConfig, testConfigFile } from '../support/test-services';

/** Type metadata whose schema lets one request produce as many errors as it has array items. */
function validatorForManyErrors() {
  const dir = mkdtempSync(join(tmpdir(), 'vctm-'));
  const vctmPath = join(dir, 'vctm_scores.json');
  writeFileSync(vctmPath, JSON.stringify({ vct: 'urn:example:scores:1', name: 'Scores', schema: { type: 'object', properties: { scores: { type: 'array', items: { type: 'integer' } } } } }));
  const config = loadTestConfig(
    testConfigFile((f) => {
      const sources = f.authentic_sources as Record<string, Record<string, unknown>>;
      (sources['registry.example.org']!.credential_types as Record<string, unknown>).scores = { vct: 'urn:example:scores:1', vctm_path: vctmPath, format: 'dc+sd-jwt' };
    }),
  );
  return createDocumentDataValidator(config);
}

test(`a document with thousands of schema errors reports ${MAX_FIELD_ERRORS} of them and a count of the rest, not an unbounded list`, () => {
  const validate = validatorForManyErrors();
  const errors = validate('urn:example:scores:1', { scores: new Array(5000).fill('not a number') });
  assert.equal(errors.length, MAX_FIELD_ERRORS + 1);
  assert.deepEqual(errors[0], { path: 'document_data.scores.0', message: 'must be integer' });
  assert.match(errors.at(-1)!.message, /^and 4980 more schema errors, not listed$/);
});

test('a document with few schema errors reports each of them', () => {
  const validate = validatorForManyErrors();
  assert.deepEqual(validate('urn:example:scores:1', { scores: [1, 'x', 3, 'y'] }).map((e) => e.path), ['document_data.scores.1', 'document_data.scores.3']);
});

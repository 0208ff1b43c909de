/**
 * docs/conventions.md is what clients, operators and tests rely on, so it must say what the code
 * does: the environment variables it documents are exactly those src/config/env.ts reads, the REST
 * error codes (and their statuses) exactly those src/gateway/api-errors.ts defines, and the
 * OpenID4VCI error codes exactly those the wallet endpoints answer with. And the repository
 * documents itself: no file points at a path outside it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENV_NAMES } from '../../src/config/env';
import * as apiErrors from '../../src/gateway/api-errors';
import * as oauthErrors from '../../src/oid4vci/oauth-errors';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const conventions = read('docs/conventions.md');

/** The lines of the `## <title>` section, up to the next heading of level 2. */
function section(markdown: string, title: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.trim() === `## ${title}`);
  assert.notEqual(start, -1, `docs/conventions.md has no "## ${title}" section`);
  const end = lines.findIndex((line, i) => i > start && /^##\s/.test(line));
  return lines.slice(start + 1, end === -1 ? undefined : end);
}

/** The table rows of a section, as arrays of trimmed cells, without the header and separator rows. */
function tableRows(lines: string[]): string[][] {
  const rows = lines.filter((line) => line.trim().startsWith('|')).map((line) => line.trim().replace(/^\||\|$/g, '').split('|').map((cell) => cell.trim()));
  return rows.slice(2);
}

/** The backticked name in a row's first cell: `NAME`. */
function firstCellName(row: string[]): string {
  const match = /^`([^`]+)`$/.exec(row[0] ?? '');
  assert.ok(match, `first cell should be one backticked name: ${row.join(' | ')}`);
  return match[1]!;
}

const sorted = (values: Iterable<string>) => [...values].sort();

function assertNoDuplicates(names: string[], what: string) {
  const duplicates = names.filter((name, i) => names.indexOf(name) !== i);
  assert.deepEqual(duplicates, [], `${what} documented more than once`);
}

test('the documented environment variables are exactly the ones src/config/env.ts reads (EnvSchema)', () => {
  const documented = tableRows(section(conventions, 'Environment variables')).map(firstCellName);
  assertNoDuplicates(documented, 'environment variables');
  assert.deepEqual(sorted(documented), sorted(ENV_NAMES), 'docs/conventions.md "Environment variables" and ENV_NAMES differ');
});

test('the documented REST error codes and statuses are exactly the ApiError classes of src/gateway/api-errors.ts', () => {
  // The code's own list: every exported subclass of ApiError, with the code and status it answers with.
  type Probe = new (message: string) => apiErrors.ApiError;
  const exported: unknown[] = Object.values(apiErrors);
  const defined = exported
    .filter((value): value is Probe => typeof value === 'function' && value.prototype instanceof apiErrors.ApiError)
    .map((ErrorClass) => new ErrorClass('probe'))
    .map((error) => `${error.code} ${error.status}`);
  assert.ok(defined.length > 0, 'no ApiError classes found');

  const rows = tableRows(section(conventions, 'REST API errors'));
  const documented = rows.map((row) => `${firstCellName(row)} ${row[1]}`);
  assertNoDuplicates(documented, 'error codes');
  assert.deepEqual(sorted(documented), sorted(defined), 'docs/conventions.md "REST API errors" (code status) and api-errors.ts differ');
});

test('the documented OpenID4VCI error codes are exactly the OAuth error classes the wallet endpoints throw', () => {
  type Probe = new (description: string) => oauthErrors.OAuthError;
  const defined = (Object.values(oauthErrors) as unknown[])
    .filter((value): value is Probe => typeof value === 'function' && value.prototype instanceof oauthErrors.OAuthError)
    .map((ErrorClass) => new ErrorClass('probe').code);
  assert.ok(defined.length > 0, 'no OAuthError classes found');
  // Every class is thrown somewhere on the wallet path (a documented code nobody answers with is a stale row).
  const walletSources = [...readdirSync(join(ROOT, 'src/gateway/oid4vci')).map((f) => `src/gateway/oid4vci/${f}`), 'src/oid4vci/offer-service.ts', 'src/oid4vci/oauth-errors.ts']
    .filter((f) => f.endsWith('.ts'))
    .map(read)
    .join('\n');
  for (const ErrorClass of Object.keys(oauthErrors).filter((name) => name !== 'OAuthError' && /^[A-Z]/.test(name))) {
    assert.match(walletSources, new RegExp(`new ${ErrorClass}\\(`), `${ErrorClass} is never thrown`);
  }

  const documented = tableRows(section(conventions, 'OpenID4VCI errors')).map(firstCellName);
  assertNoDuplicates(documented, 'OpenID4VCI error codes');
  assert.deepEqual(sorted(documented), sorted(defined), 'docs/conventions.md "OpenID4VCI errors" and src/oid4vci/oauth-errors.ts differ');
});

test('the README links the three documents', () => {
  const readme = read('README.md');
  for (const doc of ['docs/architecture.md', 'docs/conventions.md', 'docs/operations.md']) {
    assert.ok(readme.includes(`(${doc})`), `README.md does not link ${doc}`);
    assert.ok(statSync(join(ROOT, doc)).isFile(), `${doc} is missing`);
  }
});

test('no file in the repository refers to a design document outside it', () => {
  const SKIP = new Set(['node_modules', '.git', '.data', 'dist', 'coverage']);
  // Built from parts, so this file does not match itself.
  const outside = new RegExp(['\\.\\./shared', 'DESIGN' + '\\.md', 'STYLE' + '\\.md'].join('|'));
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (SKIP.has(entry.name)) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && statSync(path).size < 2_000_000) {
        const text = readFileSync(path, 'utf8');
        text.split('\n').forEach((line, i) => {
          if (outside.test(line)) offenders.push(`${relative(ROOT, path)}:${i + 1}: ${line.trim()}`);
        });
      }
    }
  };
  walk(ROOT);
  assert.deepEqual(offenders, [], 'cite docs/architecture.md, docs/conventions.md or docs/operations.md instead');
});

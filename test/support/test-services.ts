import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { type Config, loadConfig } from '../../src/config/config';
import { createDb, type Db, migrateLatest } from '../../src/db/knex';

/** Shared services the harness (test/run.ts) started for this run. */
export function testEnv(): { temporalAddress: string; pgAdminUrl: string; workflowBundle: string } {
  const { TEST_TEMPORAL_ADDRESS, TEST_PG_ADMIN_URL, TEST_WORKFLOW_BUNDLE } = process.env;
  if (!TEST_TEMPORAL_ADDRESS || !TEST_PG_ADMIN_URL || !TEST_WORKFLOW_BUNDLE) throw new Error('integration tests run through `npm test`, which starts Temporal and PostgreSQL');
  return { temporalAddress: TEST_TEMPORAL_ADDRESS, pgAdminUrl: TEST_PG_ADMIN_URL, workflowBundle: TEST_WORKFLOW_BUNDLE };
}

export const uniqueName = (prefix: string) => `${prefix}_${randomBytes(5).toString('hex')}`;

/** A fresh database with the schema migrated, private to the calling test file. */
export async function createTestDatabase(): Promise<{ url: string; db: Db; drop: () => Promise<void> }> {
  const { pgAdminUrl } = testEnv();
  const name = uniqueName('t');
  const admin = createDb(pgAdminUrl, { poolMax: 1 });
  await admin.raw(`create database "${name}"`);
  const url = new URL(pgAdminUrl);
  url.pathname = `/${name}`;
  const db = createDb(url.toString());
  await migrateLatest(db);
  return {
    url: url.toString(),
    db,
    drop: async () => {
      await db.destroy();
      await admin.raw(`drop database if exists "${name}" with (force)`);
      await admin.destroy();
    },
  };
}

export const TEST_DEV_API_KEY = 'test-dev-api-key-0123456789abcdef';
/** API key of the second source in the test configuration; its hash is in the YAML, the key only here. */
export const REGISTRY_API_KEY = 'registry-key-fedcba9876543210';

/** The seed's source (dev API key) plus a second source with a hashed key, as a YAML file. */
export function testConfigFile(overrides: (file: Record<string, unknown>) => void = () => {}): Record<string, unknown> {
  const file: Record<string, unknown> = {
    environment: 'development',
    gateway: { rate_limit: { requests_per_second: 1000, burst: 1000 } },
    authentic_sources: {
      'hr.example.org': {
        identifier: 'hr.example.org',
        country_code: 'SE',
        dev_api_key: true,
        credential_types: {
          diploma: { vct: 'urn:eudi:diploma:1', vctm_path: join(process.cwd(), 'metadata/vctm_diploma.json'), format: 'dc+sd-jwt' },
          employee_badge: { vct: 'urn:example:employee:1', vctm_path: join(process.cwd(), 'metadata/vctm_employee.json'), format: 'dc+sd-jwt' },
          mdl: { vct: 'org.iso.18013.5.1.mDL', format: 'mso_mdoc' },
          employment: { vct: 'EmploymentCredential', format: 'jwt_vc_json' },
          membership: { vct: 'MembershipCredential', format: 'ldp_vc' },
        },
      },
      'registry.example.org': {
        identifier: 'registry.example.org',
        country_code: 'SE',
        // sha256 of REGISTRY_API_KEY
        api_key_hash: 'sha256:ab5e7ca2493e28ffd774b347289beabf96a436c3aceacfc73894571577accd31',
        credential_types: { licence: { vct: 'urn:example:licence:1', format: 'dc+sd-jwt' } },
      },
    },
  };
  overrides(file);
  return file;
}

/** Loads a Config from a YAML object, exactly as the issuer does at boot. */
export function loadTestConfig(file: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Config {
  const dir = mkdtempSync(join(tmpdir(), 'issuer-config-'));
  const path = join(dir, 'issuer.yaml');
  writeFileSync(path, stringify(file));
  return loadConfig({ ISSUER_CONFIG: path, ISSUER_DATA_DIR: join(dir, 'data'), ISSUER_DEV_API_KEY: TEST_DEV_API_KEY, LOG_LEVEL: 'silent', ...env });
}

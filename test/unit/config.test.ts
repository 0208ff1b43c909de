import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/config';
import { ConfigError, parseEnv } from '../../src/config/env';
import { testConfigFile } from '../support/test-services';

const dir = mkdtempSync(join(tmpdir(), 'issuer-config-test-'));
const load = (file: unknown, env: NodeJS.ProcessEnv = {}) => {
  const path = join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, typeof file === 'string' ? file : stringify(file));
  return loadConfig({ ISSUER_CONFIG: path, ISSUER_DATA_DIR: join(dir, 'data'), ...env });
};

test('the shipped dev configuration loads with the seed example source, its two SD-JWT VC types, an mDL and two W3C types (JOSE, Data Integrity)', () => {
  const config = loadConfig({ ISSUER_CONFIG: 'config/dev.yaml', ISSUER_DATA_DIR: join(dir, 'dev-data') });
  assert.equal(config.file.environment, 'development');
  const source = config.file.authentic_sources['hr.example.org']!;
  assert.equal(source.country_code, 'SE');
  assert.deepEqual(Object.keys(source.credential_types).sort(), ['diploma', 'employee_badge', 'employment', 'kyc_identity', 'mdl', 'membership']);
  assert.equal(config.file.kyc?.templates.identity?.credential_type, 'urn:example:kyc:identity:1');
  assert.equal(config.credentialTypes.get('org.iso.18013.5.1.mDL')?.format, 'mso_mdoc');
  assert.equal(config.credentialTypes.get('MembershipCredential')?.format, 'ldp_vc');
  assert.equal(config.credentialTypes.get('urn:eudi:diploma:1')?.scope, 'diploma');
  assert.equal(config.issuerUrl, 'http://localhost:8080');
  assert.equal(config.file.issuer.pre_authorized_code.code_ttl, 300);
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.file.authentic_sources));
});

test('without ISSUER_DEV_API_KEY a dev key is generated once into the data folder and reused', () => {
  const dataDir = join(dir, 'gen-data');
  const first = loadConfig({ ISSUER_CONFIG: 'config/dev.yaml', ISSUER_DATA_DIR: dataDir });
  const second = loadConfig({ ISSUER_CONFIG: 'config/dev.yaml', ISSUER_DATA_DIR: dataDir });
  assert.match(first.devApiKey ?? '', /^dev_[A-Za-z0-9_-]{32}$/);
  assert.equal(second.devApiKey, first.devApiKey);
  assert.equal(readFileSync(join(dataDir, 'dev-api-key'), 'utf8').trim(), first.devApiKey);
  assert.equal(loadConfig({ ISSUER_CONFIG: 'config/dev.yaml', ISSUER_DATA_DIR: dataDir, ISSUER_DEV_API_KEY: 'fixed-key-0123456789' }).devApiKey, 'fixed-key-0123456789');
});

test('a bad file fails at boot naming the full key path', () => {
  const file = testConfigFile((f) => {
    const hr = (f.authentic_sources as Record<string, Record<string, unknown>>)['hr.example.org']!;
    (hr.credential_types as Record<string, Record<string, unknown>>).diploma!.vct = undefined;
    hr.country_code = 'Sweden';
  });
  assert.throws(() => load(file), (err: Error) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /authentic_sources\.hr\.example\.org\.credential_types\.diploma\.vct: /);
    assert.match(err.message, /authentic_sources\.hr\.example\.org\.country_code: must be an ISO 3166-1 alpha-2 code/);
    return true;
  });
});

test('unknown keys are refused so a typo cannot silently disable a setting', () => {
  const file = testConfigFile((f) => {
    f.issuer = { pre_authorised_code: { enabled: true } };
  });
  assert.throws(() => load(file), /issuer: Unrecognized key: "pre_authorised_code"/);
});

test('the dev API key is refused outside a development configuration', () => {
  const file = testConfigFile((f) => {
    f.environment = 'production';
  });
  assert.throws(() => load(file), /authentic_sources\.hr\.example\.org\.dev_api_key: only allowed when environment is development/);
});

test('a source needs some way to authenticate, and its key must match its identifier', () => {
  const file = testConfigFile((f) => {
    const reg = (f.authentic_sources as Record<string, Record<string, unknown>>)['registry.example.org']!;
    delete reg.api_key_hash;
    reg.identifier = 'other.example.org';
  });
  assert.throws(() => load(file), (err: Error) => /needs api_key_hash, mtls_subjects or dev_api_key/.test(err.message) && /identifier: must equal its key/.test(err.message));
});

test('a credential type whose VCTM declares another vct is refused', () => {
  const file = testConfigFile((f) => {
    const hr = (f.authentic_sources as Record<string, Record<string, unknown>>)['hr.example.org']!;
    (hr.credential_types as Record<string, Record<string, unknown>>).diploma!.vct = 'urn:eudi:diploma:2';
  });
  assert.throws(() => load(file), /diploma\.vctm_path: the type metadata declares vct "urn:eudi:diploma:1", expected "urn:eudi:diploma:2"/);
});

test('invalid YAML and a missing file fail with the file named', () => {
  assert.throws(() => load('authentic_sources: [unclosed'), /not valid YAML/);
  assert.throws(() => loadConfig({ ISSUER_CONFIG: join(dir, 'nope.yaml') }), /ISSUER_CONFIG: file not found/);
});

test('environment variables are validated by name', () => {
  assert.throws(() => parseEnv({ PORT: 'eighty' }), /PORT: /);
  assert.throws(() => parseEnv({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL: must be a postgres:\/\/ URL/);
  assert.throws(() => parseEnv({ ISSUER_DEV_API_KEY: 'short' }), /ISSUER_DEV_API_KEY: must be at least 16 characters/);
  const env = parseEnv({ PORT: '', GRPC_PORT: '9191' });
  assert.equal(env.PORT, 8080, 'an empty variable counts as unset');
  assert.equal(env.GRPC_PORT, 9191);
});

test('a configuration that says nothing about it requires a PIN (pin_required defaults to true), caps credentials per offer, and dev.yaml says so explicitly', () => {
  const config = load(testConfigFile((f) => {
    f.environment = 'production';
    delete (f.authentic_sources as Record<string, Record<string, unknown>>)['hr.example.org']!.dev_api_key;
    (f.authentic_sources as Record<string, Record<string, unknown>>)['hr.example.org']!.api_key_hash = 'sha256:ab5e7ca2493e28ffd774b347289beabf96a436c3aceacfc73894571577accd31';
  }));
  assert.equal(config.file.issuer.pre_authorized_code.pin_required, true);
  assert.equal(config.file.issuer.pre_authorized_code.max_credentials_per_offer, 10);
  assert.match(readFileSync('config/dev.yaml', 'utf8'), /^ {4}pin_required: true$/m);
});

test('a webhook (notification_endpoint.url) must be https:// in production; http:// only in development or to a loopback address', () => {
  const withHook = (environment: string, url: string) =>
    testConfigFile((f) => {
      f.environment = environment;
      const sources = f.authentic_sources as Record<string, Record<string, unknown>>;
      delete sources['hr.example.org']!.dev_api_key;
      sources['hr.example.org']!.api_key_hash = `sha256:${'a'.repeat(64)}`;
      sources['hr.example.org']!.notification_endpoint = { url };
    });
  assert.throws(() => load(withHook('production', 'http://hr.example.org/webhooks')), /authentic_sources\.hr\.example\.org\.notification_endpoint\.url: must be https:\/\//);
  assert.throws(() => load(withHook('production', 'ftp://hr.example.org/webhooks')), /notification_endpoint\.url: must be https:\/\//);
  for (const ok of ['https://hr.example.org/webhooks', 'http://127.0.0.1:9000/hook', 'http://localhost/hook', 'http://[::1]:8080/hook']) {
    assert.equal(load(withHook('production', ok)).file.authentic_sources['hr.example.org']!.notification_endpoint?.url, ok);
  }
  assert.ok(load(withHook('development', 'http://hr.example.org/webhooks')));
});

test('grpc_clients maps certificate subjects to configured scopes; an unknown scope or a malformed subject fails at boot with its key path', () => {
  const withClients = (grpc_clients: unknown) => testConfigFile((file) => (file.grpc_clients = grpc_clients));
  const config = load(withClients({ apigw: { subjects: ['CN=apigw, O=Example, C=SE'], scopes: ['diploma', 'urn:example:licence:1'] } }), { ISSUER_DEV_API_KEY: 'x'.repeat(16) });
  assert.deepEqual(config.file.grpc_clients.apigw, { subjects: ['CN=apigw, O=Example, C=SE'], scopes: ['diploma', 'urn:example:licence:1'], sign_metadata: false });
  assert.throws(() => load(withClients({ apigw: { subjects: ['CN=apigw'], scopes: ['nope'] } })), (err: unknown) => err instanceof ConfigError && /grpc_clients\.apigw\.scopes\.0/.test(err.message));
  assert.throws(() => load(withClients({ apigw: { subjects: ['apigw'], scopes: [] } })), (err: unknown) => err instanceof ConfigError && /grpc_clients\.apigw\.subjects\.0/.test(err.message));
  assert.throws(() => load(withClients({ apigw: { subjects: [], scopes: [] } })), ConfigError);
  assert.deepEqual(parseEnv({ GRPC_HOST: '0.0.0.0' }).GRPC_HOST, '0.0.0.0');
});

test('a KYC template must name a configured credential type; the error names its key path', () => {
  const kyc = (credential_type: string) =>
    testConfigFile((file) => {
      file.kyc = { login_redirect_url: 'https://kyc.example.org/', templates: { id1: { name: 'T', credential_type, attributes: [{ id: 'a', schema: { type: 'string' } }] } } };
    });
  const config = load(kyc('urn:eudi:diploma:1'));
  assert.equal(config.file.kyc?.challenge_ttl, 120);
  assert.equal(config.file.kyc?.templates.id1?.attributes[0]?.required, true);
  assert.throws(() => load(kyc('urn:nope')), (err: unknown) => err instanceof ConfigError && /kyc\.templates\.id1\.credential_type/.test(err.message));
});

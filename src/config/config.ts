import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { type LoadedVctm, loadVctm } from '../credentials/vctm';
import { ConfigError, type Env, formatIssues, parseEnv } from './env';
import { type AuthenticSourceConfig, type CredentialFormatName, type FileConfig, type InteractionConfig, FileConfigSchema, type NotificationEndpointConfig, type WebhookSubscriberConfig } from './file-schema';

/** The whole configuration: parsed once at boot, then frozen and passed to whoever needs it. */
export interface Config {
  readonly env: Env;
  readonly file: FileConfig;
  /** Absolute path of the YAML file; relative paths inside it resolve from its folder. */
  readonly configPath: string;
  /** Base URL for links (offers, metadata). */
  readonly issuerUrl: string;
  /** Absolute data folder for embedded services and dev secrets. */
  readonly dataDir: string;
  /** The dev API key, present only in a development configuration that uses it. */
  readonly devApiKey: string | undefined;
  /** Credential types by vct, with the owning source and scope name. */
  readonly credentialTypes: ReadonlyMap<string, ConfiguredCredentialType>;
}

/**
 * One configured credential type, the registry entry every part reads (metadata, validation,
 * issuance): `format` is a closed union, so switches over it are exhaustive, and the type metadata
 * (VCTM) is read and parsed once, here, at boot; a VCTM that does not parse fails the boot.
 */
export interface ConfiguredCredentialType {
  source: string;
  scope: string;
  format: CredentialFormatName;
  vctmPath?: string;
  vctm?: LoadedVctm;
  /** Seed 002 interaction: the data comes from a third party at the credential request. */
  interaction?: InteractionConfig;
}

export function loadConfig(envSource: NodeJS.ProcessEnv = process.env): Config {
  const env = parseEnv(envSource);
  const configPath = resolve(env.ISSUER_CONFIG);
  const file = applyDevWebhookUrl(parseConfigFile(configPath), env);
  const dataDir = resolve(env.ISSUER_DATA_DIR);
  const usesDevKey = Object.values(file.authentic_sources).some((s) => s.dev_api_key);
  const devApiKey = usesDevKey ? resolveDevApiKey(env, dataDir) : undefined;
  const credentialTypes = indexCredentialTypes(file, configPath);
  return deepFreeze({
    env,
    file,
    configPath,
    issuerUrl: (env.ISSUER_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, ''),
    dataDir,
    devApiKey,
    credentialTypes,
  });
}

export function parseConfigFile(path: string): FileConfig {
  if (!existsSync(path)) throw new ConfigError(`ISSUER_CONFIG: file not found: ${path}`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${path}: not valid YAML: ${(err as Error).message}`);
  }
  const result = FileConfigSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(`${path} is invalid:\n${formatIssues(result.error.issues)}`);
  return result.data;
}

function indexCredentialTypes(file: FileConfig, configPath: string): Config['credentialTypes'] {
  const byVct = new Map<string, ConfiguredCredentialType>();
  for (const [sourceName, source] of Object.entries(file.authentic_sources)) {
    for (const [scope, type] of Object.entries(source.credential_types)) {
      const where = `authentic_sources.${sourceName}.credential_types.${scope}`;
      const owner = byVct.get(type.vct);
      // A vct belongs to one source: uploads are keyed by (source, vct, document id), and the
      // wallet-facing credential configuration id is the vct (docs/conventions.md, Ids).
      if (owner && owner.source !== sourceName) throw new ConfigError(`${where}.vct: "${type.vct}" is already configured for ${owner.source}`);
      const vctmPath = type.vctm_path ? (isAbsolute(type.vctm_path) ? type.vctm_path : resolve(dirname(configPath), type.vctm_path)) : undefined;
      const vctm = vctmPath ? readVctm(vctmPath, type.vct, `${where}.vctm_path`) : undefined;
      byVct.set(type.vct, { source: sourceName, scope, format: type.format, ...(vctmPath ? { vctmPath, vctm } : {}), ...(type.interaction ? { interaction: type.interaction } : {}) });
    }
  }
  return byVct;
}

function readVctm(path: string, vct: string, where: string): LoadedVctm {
  if (!existsSync(path)) throw new ConfigError(`${where}: file not found: ${path}`);
  const bytes = new Uint8Array(readFileSync(path));
  try {
    JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new ConfigError(`${where}: not valid JSON: ${(err as Error).message}`);
  }
  const loaded = loadVctm(bytes);
  if (!loaded.success) throw new ConfigError(`${where}: invalid type metadata: ${loaded.errors.join('; ')}`);
  const declared = loaded.data.metadata.vct;
  if (declared !== vct) throw new ConfigError(`${where}: the type metadata declares vct "${String(declared)}", expected "${vct}"`);
  return loaded.data;
}

/** ISSUER_DEV_API_KEY when set; otherwise one generated once into the data folder, so restarts keep it. */
function resolveDevApiKey(env: Env, dataDir: string): string {
  if (env.ISSUER_DEV_API_KEY) return env.ISSUER_DEV_API_KEY;
  const keyFile = resolve(dataDir, 'dev-api-key');
  if (existsSync(keyFile)) return readFileSync(keyFile, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const key = `dev_${randomBytes(24).toString('base64url')}`;
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  return key;
}

/**
 * Development: the sources with `dev_webhook_url: true` get ISSUER_DEV_WEBHOOK_URL as their
 * notification_endpoint's URL, with X-Body-Signature on (the schema refuses the flag in production).
 */
function applyDevWebhookUrl(file: FileConfig, env: Env): FileConfig {
  const url = env.ISSUER_DEV_WEBHOOK_URL;
  if (!url || file.environment !== 'development') return file;
  for (const source of Object.values(file.authentic_sources)) {
    if (!source.dev_webhook_url) continue;
    source.notification_endpoint = { auth_header: 'X-Webhook-Secret', events: ['*'], ...source.notification_endpoint, url, body_signature: true };
  }
  return file;
}

/** A webhook receiver: an authentic source's notification_endpoint, or an issuer-wide subscriber. */
export type WebhookEndpoint = NotificationEndpointConfig | WebhookSubscriberConfig;

/**
 * The endpoint of a delivery's `subscriber`: the issuer-wide subscriber of that name, else the
 * authentic source's notification_endpoint (the two name spaces are disjoint, file-schema.ts).
 */
export function webhookEndpoint(config: Config, subscriber: string): WebhookEndpoint | undefined {
  const { subscribers } = config.file.webhooks;
  if (Object.hasOwn(subscribers, subscriber)) return subscribers[subscriber];
  return sourceByName(config, subscriber)?.notification_endpoint;
}

/** Whether an event type matches a subscriber's pattern (`*`, `credential_offer.*` or the exact type). */
export function eventTypeMatches(pattern: string, type: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

/** Who hears an event of `type` about `authenticSource`'s objects: the source itself and the issuer-wide subscribers, by name. */
export function webhookSubscribersFor(config: Config, authenticSource: string, type: string): string[] {
  const wants = (events: readonly string[]) => events.some((p) => eventTypeMatches(p, type));
  const names: string[] = [];
  const own = sourceByName(config, authenticSource)?.notification_endpoint;
  if (own && wants(own.events)) names.push(authenticSource);
  for (const [name, sub] of Object.entries(config.file.webhooks.subscribers)) {
    if (wants(sub.events) && (!sub.authentic_sources || sub.authentic_sources.includes(authenticSource))) names.push(name);
  }
  return names;
}

export function sourceByName(config: Config, name: string): AuthenticSourceConfig | undefined {
  return Object.hasOwn(config.file.authentic_sources, name) ? config.file.authentic_sources[name] : undefined;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value) && !(value instanceof Map)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

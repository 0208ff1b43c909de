import { z } from 'zod';
import { KekTextSchema } from '../credentials/key-encryption';

/**
 * Environment variables: addresses and secrets. Everything else lives in the YAML file.
 * Parsed once at boot; an invalid value fails fast with the variable's name.
 */
export const EnvSchema = z.object({
  /** Path of the YAML configuration file. */
  ISSUER_CONFIG: z.string().min(1).default('config/dev.yaml'),
  /** Folder for state of the embedded services (Temporal dev server, PostgreSQL, dev secrets). Ignored by git. */
  ISSUER_DATA_DIR: z.string().min(1).default('.data'),
  /** HTTP port of the gateway. */
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Port of the gRPC IssuerService. */
  GRPC_PORT: z.coerce.number().int().min(0).max(65535).default(9090),
  /** Public base URL used in links (offers, metadata). Default http://localhost:$PORT. */
  ISSUER_URL: z.url().optional(),
  /** host:port of a Temporal frontend. When unset, `dev` starts a Temporal dev server. */
  TEMPORAL_ADDRESS: z.string().min(1).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** Task queue of the issuer's workflows and activities (separate queues isolate deployments sharing a namespace). */
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('issuer'),
  /**
   * Base URL of the Temporal UI, for the operator API's deep links (`temporal_ui_url`). Default: the
   * host of TEMPORAL_ADDRESS on its port + 1000 over http (where the dev server serves its UI), or
   * `http://localhost:8233`.
   */
  TEMPORAL_UI_URL: z.url().optional(),
  /** Path to a `temporal` CLI binary to use for the dev server instead of searching/installing one. */
  TEMPORAL_CLI_PATH: z.string().min(1).optional(),
  /**
   * TLS to Temporal, for every connection (gateway and worker clients, the worker itself;
   * src/temporal/temporal-connection-options.ts). Any TEMPORAL_TLS_* or TEMPORAL_API_KEY turns it on;
   * `true` turns it on with the system trust store alone. Use TLS (mTLS where the cluster supports it)
   * in production: without it any client that reaches the frontend can start or signal workflows.
   */
  TEMPORAL_TLS: z.enum(['true', 'false']).optional(),
  /** Client certificate and its key (PEM file paths) for mTLS to the Temporal frontend; both or neither. */
  TEMPORAL_TLS_CERT: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY: z.string().min(1).optional(),
  /** CA certificate (PEM file path) that issued the Temporal frontend's certificate, when it is not publicly trusted. */
  TEMPORAL_TLS_CA: z.string().min(1).optional(),
  /** Name to check the frontend's certificate against (SNI), when it differs from TEMPORAL_ADDRESS's host. */
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  /** Temporal API key (e.g. Temporal Cloud), sent as `Authorization: Bearer`; implies TLS. A secret: never logged. */
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  /** postgres://user:password@host:port/db. When unset, `dev` starts an embedded PostgreSQL. */
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  /** smtp://user:pass@host:port or smtps://...; used for PIN e-mails. */
  SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL').optional(),
  /**
   * Key-encryption key (KEK) that seals the signing keys' private parts in PostgreSQL (AES-256-GCM,
   * src/credentials/key-encryption.ts): 32 random bytes as 64 hex characters or base64/base64url,
   * e.g. `openssl rand -hex 32`. The same value on every process that signs. Required when the
   * configuration's `environment` is `production`; in `development`, when unset, one is generated once
   * into `$ISSUER_DATA_DIR/kek` (mode 0600) and reused. Losing it makes the stored keys unusable.
   */
  ISSUER_KEK: z
    .string()
    .refine((text) => text.trim() === '' || KekTextSchema.safeParse(text).success, 'must be 32 bytes as 64 hex characters or base64/base64url')
    .optional(),
  /**
   * The gateway's subkeys of the KEK (`issuer gateway-keys` prints them), so a production gateway
   * needs no ISSUER_KEK (src/credentials/kek-subkeys.ts). Read by the gateway only; when unset it
   * derives them from ISSUER_KEK.
   */
  ISSUER_GATEWAY_KEYS: z.string().regex(/^gwk1\.[A-Za-z0-9_-]{128}$/, 'must be the output of `issuer gateway-keys`').optional(),
  /** Fixes the dev API key instead of generating one (dev configuration only). */
  ISSUER_DEV_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * Dev only: the webhook URL of the authentic sources with `dev_webhook_url: true` (config/dev.yaml's
   * hr.example.org), sent with `X-Body-Signature`. Unset: those sources have no webhook (unless configured).
   */
  ISSUER_DEV_WEBHOOK_URL: z.url().optional(),
  /** Ports of the services `dev` embeds (fixed, so a restart finds the same addresses). The UI is on port+1000. */
  TEMPORAL_DEV_PORT: z.coerce.number().int().min(1).max(64535).default(7233),
  POSTGRES_DEV_PORT: z.coerce.number().int().min(1).max(65535).default(55432),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** TLS for the gateway (PEM file paths). With GATEWAY_TLS_CA the gateway asks for client certificates (mTLS). */
  GATEWAY_TLS_CERT: z.string().min(1).optional(),
  GATEWAY_TLS_KEY: z.string().min(1).optional(),
  GATEWAY_TLS_CA: z.string().min(1).optional(),
  /**
   * Interface the gRPC IssuerService listens on. Default: `127.0.0.1` (loopback only) in a development
   * configuration, `0.0.0.0` in production (which refuses to start without GRPC_TLS_CERT, GRPC_TLS_KEY
   * and GRPC_TLS_CA). In a container set `0.0.0.0` so the published port reaches it.
   */
  GRPC_HOST: z.string().min(1).optional(),
  /**
   * TLS for the gRPC service (PEM file paths). With GRPC_TLS_CA, client certificates are required and
   * each is mapped to what it may issue by `grpc_clients` in the configuration. A production
   * configuration requires all three.
   */
  GRPC_TLS_CERT: z.string().min(1).optional(),
  GRPC_TLS_KEY: z.string().min(1).optional(),
  GRPC_TLS_CA: z.string().min(1).optional(),
  /**
   * Worker threads the gRPC IssuerService signs on (src/credentials/issuance-pool.ts), each with its
   * own key store and ~70-120 MB of memory. Default: one per core, up to 4; 0 signs on the thread
   * that serves gRPC.
   */
  GRPC_SIGNING_THREADS: z.coerce.number().int().min(0).max(256).optional(),
  /** Bearer token for `/metrics` (src/metrics/metrics-endpoint.ts); without it `/metrics` is open in development and not served in production. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Port of the `worker` and `grpc` commands' own `/metrics` listener (unset: none; the gateway serves `/metrics` on PORT). */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** OTLP/HTTP endpoint (e.g. http://otel-collector:4318); set, the parts export OpenTelemetry traces to <endpoint>/v1/traces (src/telemetry/tracing.ts). */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().or(z.literal('')).optional(), // empty: off, as unset (docker-compose.yml passes it through empty)
  /** service.name of the exported spans (default durable-issuer). */
  OTEL_SERVICE_NAME: z.string().min(1).max(128).optional(),
  /** Address that listener binds: `127.0.0.1` in development, `0.0.0.0` in production unless set. */
  METRICS_HOST: z.string().min(1).optional(),
  /** `host:port` where the Temporal SDK runtime's Prometheus exporter serves the worker's SDK metrics (unset: off). */
  TEMPORAL_SDK_METRICS_ADDRESS: z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port').optional(),
  /**
   * `ttl` of the served status lists (draft-ietf-oauth-status-list §5.1; Bitstring Status List §2.2),
   * seconds: how long a verifier may cache one, and the Cache-Control max-age. Default 300.
   */
  STATUS_LIST_TTL: z.coerce.number().int().min(1).max(86_400).default(300),
  /**
   * `exp` - `iat` of a signed status list, seconds (at least twice the ttl); the re-signing Schedule
   * re-signs a list when half of it has passed, running every eighth of it (at most hourly).
   * Default 86400; values under a minute are for tests.
   */
  STATUS_LIST_VALIDITY: z.coerce.number().int().min(6).max(31 * 86_400).default(86_400),
  /**
   * How long before its certificate expires the Document Signer renewal Schedule replaces the active
   * Document Signer (days, fractions allowed). A margin at or over the Document Signer's validity
   * (365 days) renews at every run: for tests only.
   */
  DOCUMENT_SIGNER_RENEWAL_MARGIN_DAYS: z.coerce.number().positive().max(457).default(90),
});

export type Env = z.infer<typeof EnvSchema>;

/** The names of every environment variable the issuer reads (used by the compose-file test). */
export const ENV_NAMES = Object.keys(EnvSchema.shape) as (keyof Env)[];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Renders zod issues as `path.to.key: message` lines, the way operators look for them. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], prefix = ''): string {
  return issues
    .map((issue) => {
      const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('\n');
}

export function parseEnv(source: NodeJS.ProcessEnv = process.env): Env {
  // Empty strings count as unset, as shells and compose files often export `FOO=`.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const result = EnvSchema.safeParse(cleaned);
  if (!result.success) throw new ConfigError(`invalid environment:\n${formatIssues(result.error.issues)}`);
  return result.data;
}

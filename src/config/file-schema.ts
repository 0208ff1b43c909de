import { isIP } from 'node:net';
import { SERVICE_PATH } from '../kms/resource-paths';
import { z } from 'zod';
import { validateLayout } from '../identity/date-normalization';

/**
 * The YAML configuration file, shaped after seed 000's configuration sections
 * (`issuer.pre_authorized_code`, `authentic_sources`, `identity_matching`).
 * Defaults are written beside each option; unknown keys are rejected so a typo fails at boot.
 */

/** Credential formats the issuer speaks (OpenID4VCI 1.0 Appendix A). */
export const CredentialFormat = z.enum(['dc+sd-jwt', 'mso_mdoc', 'jwt_vc_json', 'ldp_vc']);
export type CredentialFormatName = z.infer<typeof CredentialFormat>;

/**
 * Seed 002 attribute types of a credential schema (docs/conventions.md, Interactions): the third
 * party sends every value as a string, cast at issuance: `Text` as it is, `Date` seconds since the
 * epoch (issued as an ISO 8601 date, `YYYY-MM-DD`), `Number` with '.' as decimal point,
 * `Enumeration` a numeric string ("0", "1", ...).
 */
export const InteractionFieldType = z.enum(['Text', 'Date', 'Number', 'Enumeration']);

/**
 * Seed 002 "Interaction Webhook" of a credential type (issue 18): when the wallet requests a
 * credential of this type, the third party at `url` is asked for its data (the offer workflow's
 * interaction child, workflows/interaction.ts). It authenticates us by `X-Body-Signature` and/or a
 * Bearer JWT, with our `webhooks` key (as outgoing webhooks); it calls us back
 * (`/service/<our did>/webhook-accept/...`) signed with the key `caller_public_key`.
 */
export const InteractionSchema = z.strictObject({
  url: z.url(),
  /** Seed 002 `actionId`: the interaction id the third party knows. */
  action_id: z.string().min(1).max(200),
  /** Seed 002 `actionParams`. */
  action_params: z.array(z.strictObject({ name: z.string().min(1), value: z.string() })).default([]),
  /** Seed 002 `schemaId` of the credential in `receivedCredentials` / `issuedCredentials`; default the vct. */
  schema_id: z.string().min(1).optional(),
  body_signature: z.boolean().default(true),
  bearer_jwt: z.strictObject({ audience: z.string().min(1) }).optional(),
  /** The third party's public key (SPKI PEM, EC P-256 or Ed25519) that its callbacks are signed with (X-Body-Signature or a Bearer JWT). */
  caller_public_key: z.string().includes('BEGIN PUBLIC KEY').optional(),
  /** The credential schema the answer is cast to: claim name → seed 002 attribute type. Fields not listed are refused. */
  fields: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/), InteractionFieldType),
  /** Seconds one call to the third party may take. */
  timeout: z.number().min(0.1).max(25).default(20),
  /** Seconds a postponed answer is waited for (the third party's callback); then the request is denied. Default 7 days. */
  callback_timeout: z.number().int().min(1).max(90 * 86_400).default(7 * 86_400),
  /** Seconds the wallet is told to wait between deferred credential requests (OpenID4VCI 1.0 §8.3 `interval`). */
  interval: z.number().int().min(1).max(86_400).default(5),
});

export const CredentialTypeSchema = z.strictObject({
  /** SD-JWT VC `vct`, or the mdoc doctype for `mso_mdoc`. */
  vct: z.string().min(1),
  /** Path of the type metadata (VCTM) JSON, relative to the configuration file. */
  vctm_path: z.string().min(1).optional(),
  format: CredentialFormat,
  /** The credential's data comes from a third party when the wallet asks (seed 002 Interaction Webhook). */
  interaction: InteractionSchema.optional(),
});

/** Hashes accepted for API keys: `sha256:<hex>` (for random keys) or bcrypt `$2a$/$2b$/$2y$` as in the seed. */
export const ApiKeyHash = z
  .string()
  .regex(/^(sha256:[0-9a-f]{64}|\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53})$/, 'must be "sha256:<64 hex>" or a bcrypt hash');

/**
 * Optional key id: a key presented as `<key_id>.<secret>` is compared with this one hash only, so a
 * request costs at most one bcrypt compare however many sources use bcrypt. Keys without a key id
 * (the seed's `$2a$12$...`) are compared with every hash that has none.
 */
export const KeyId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z, a-z, 0-9, _ and -');

/** `loopback`, `linklocal`, `uniquelocal` (Express's names), an IP address, or a CIDR range such as 10.0.0.0/8. */
export const TrustedProxy = z.string().refine((entry) => {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}, 'must be loopback, linklocal, uniquelocal, an IP address or a CIDR range (10.0.0.0/8, fd00::/8)');

const LOOPBACK_HOSTS = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/**
 * An event type a subscriber wants (docs/conventions.md, Webhook events): `credential_offer.issued`,
 * a family wildcard `credential_offer.*`, or `*` for every type. The catalogue is open: types added
 * later (revocation status events, interaction outcomes) need no change here.
 */
export const WebhookEventPattern = z.string().regex(/^(\*|[a-z][a-z0-9_]*(\.([a-z][a-z0-9_]*|\*))+)$/, 'must be an event type (credential_offer.issued), a family (credential_offer.*) or *');

/**
 * How a webhook receiver authenticates us; any combination (issue 18):
 * - `auth_header` / `auth_secret_env`: seed 000's shared secret, sent in that header, read from that env var;
 * - `body_signature`: seed 002's `X-Body-Signature`, base64 of `crypto.sign('sha3-256', body, key)` with
 *   the issuer's `webhooks` key (public part at `/service/<service did>/public-info/public-key/webhooks`);
 * - `bearer_jwt.audience`: seed 002's Bearer token, a JWT (ES256, the same key) with `iss` our service
 *   DID, `aud` this value (the subscriber's DID), `iat`, `exp` (60 s later), a `jti` and `body_sha3_256`.
 */
const WebhookEndpointFields = {
  url: z.url(),
  auth_header: z.string().min(1).default('X-Webhook-Secret'),
  auth_secret_env: z.string().min(1).optional(),
  body_signature: z.boolean().default(false),
  bearer_jwt: z.strictObject({ audience: z.string().min(1) }).optional(),
};

/** A source's own webhook; by default it hears every event about its offers. */
export const NotificationEndpointSchema = z.strictObject({ ...WebhookEndpointFields, events: z.array(WebhookEventPattern).min(1).default(['*']) });

/** An issuer-wide subscriber (`webhooks.subscribers`): the event types it wants, optionally only those of some sources. */
export const WebhookSubscriberSchema = z.strictObject({
  ...WebhookEndpointFields,
  events: z.array(WebhookEventPattern).min(1),
  /** Authentic sources whose events it hears; default all. */
  authentic_sources: z.array(z.string().min(1)).optional(),
});

/** Delivery policy of every webhook (workflows/webhook-delivery.ts, activities/webhook-activities.ts). */
export const WebhookDeliverySchema = z.strictObject({
  /** Seconds after the first attempt during which failed deliveries are retried; then the event is DEAD_LETTERED. Default one day. */
  horizon: z.number().int().min(1).max(30 * 86_400).default(86_400),
  /** Seconds before the first retry; each retry doubles it (exponential backoff), with jitter (a random 50-100 % of it). */
  initial_interval: z.number().min(0.01).max(3600).default(1),
  /** Longest wait between two attempts, in seconds (a `Retry-After` from the subscriber may ask for longer, up to the horizon). */
  max_interval: z.number().min(0.01).max(86_400).default(600),
  /** Seconds one attempt may take before it counts as failed (and is retried). At most 25 (the activity's start-to-close is 30 s). */
  attempt_timeout: z.number().min(0.1).max(25).default(20),
});

export const AuthenticSourceSchema = z
  .strictObject({
    identifier: z.string().min(1),
    /** ISO 3166-1 alpha-2 country of the source. */
    country_code: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code'),
    /** Hash of the source's API key (X-API-Key). */
    api_key_hash: ApiKeyHash.optional(),
    /** Key id of `api_key_hash` (see {@link KeyId}); the key is then `<key_id>.<secret>`, hashed whole. */
    key_id: KeyId.optional(),
    /**
     * Dev only: accept the process's dev API key (ISSUER_DEV_API_KEY, generated by `dev` when unset).
     * Refused unless the top-level `environment` is `development`.
     */
    dev_api_key: z.boolean().default(false),
    /** mTLS alternative to the API key: client-certificate subjects (RFC 4514 strings) that act as this source. */
    mtls_subjects: z.array(z.string().min(1)).default([]),
    credential_types: z.record(z.string().regex(/^[a-z0-9_]+$/, 'scope names are lowercase a-z, 0-9 and _'), CredentialTypeSchema),
    /**
     * How the PIN reaches the holder: `email` (to the identity's or the request's address), or
     * `authentic_source` (returned as `tx_code` in the notification response, for the source to deliver).
     */
    pin_delivery: z.enum(['email', 'authentic_source']).default('email'),
    /** Optional webhook for status updates. The secret sent in `auth_header` comes from the env var `auth_secret_env`. */
    notification_endpoint: NotificationEndpointSchema.optional(),
    /**
     * Dev only: when ISSUER_DEV_WEBHOOK_URL is set, the source's notification_endpoint is that URL with
     * `body_signature` on (config/dev.yaml's hr.example.org). Refused unless `environment` is `development`.
     */
    dev_webhook_url: z.boolean().default(false),
  })
  .refine((s) => s.api_key_hash !== undefined || s.dev_api_key || s.mtls_subjects.length > 0, {
    message: 'needs api_key_hash, mtls_subjects or dev_api_key',
  });

export const IdentityMatchingSchema = z.strictObject({
  required_attributes: z.array(z.string().min(1)).default(['family_name', 'given_name', 'birth_date']),
  fuzzy_matching: z
    .strictObject({ enabled: z.boolean().default(false), threshold: z.number().min(0).max(1).default(0.85) })
    .default({ enabled: false, threshold: 0.85 }),
  /** Go reference-time layouts, as in the seed ("2006-01-02" is ISO 8601). */
  date_formats: z
    .array(z.string().min(1).superRefine((layout, ctx) => {
      const error = validateLayout(layout);
      if (error) ctx.addIssue({ code: 'custom', message: error });
    }))
    .min(1)
    .default(['2006-01-02']),
});

/** A file type accepted by KYC uploads, recognised by its content (magic bytes), never by its name. */
export const KycFileType = z.enum(['pdf', 'png', 'jpeg']);

/**
 * One KYC attribute of a template (seed 004 `attributes[]`): the attribute's id (a URL, as SelfKey's
 * wallet names attributes), the JSON Schema its `data.value` must match, and the claim it becomes in
 * the credential (omitted: the attribute is reviewed but not issued, e.g. a passport scan). File
 * references in a value are strings `file:<fileId>` once resolved.
 */
export const KycAttributeSchema = z.strictObject({
  id: z.string().min(1).max(512),
  /** JSON Schema (draft 2020-12 subset ajv accepts) of the attribute's value. */
  schema: z.record(z.string(), z.unknown()),
  required: z.boolean().default(true),
  /** Claim name in the issued credential's document_data; `email` also tells where PIN and decision mails go. */
  claim: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/).optional(),
  /** File types accepted where this attribute references files (default: every type in kyc.files.types). */
  file_types: z.array(KycFileType).optional(),
});

/** A KYC template (seed 004 `GET /templates`): its attributes and the credential type an approved applicant receives. */
export const KycTemplateSchema = z.strictObject({
  name: z.string().min(1),
  /** A configured credential type (its vct) of one of the authentic sources; the applicant's document is stored under that source. */
  credential_type: z.string().min(1),
  attributes: z.array(KycAttributeSchema).min(1),
  /**
   * An automated check: the applicant (the claims named in identity_matching.required_attributes,
   * e.g. family_name, given_name, birth_date) must match exactly one person among this authentic
   * source's documents (of `vct`, if given), by the identity_matching rules. Unset: no such check.
   */
  identity_match: z
    .strictObject({
      authentic_source: z.string().min(1),
      vct: z.string().min(1).optional(),
      /** The schema presented for the applicant (identity matching requires one; stored identities without a schema accept any). */
      schema: z.strictObject({ name: z.string().min(1), version: z.string().min(1) }).default({ name: 'kyc', version: '1' }),
    })
    .optional(),
});

/** The wallet-facing KYC API under /kyc (seed 004) and the onboarding workflow. Absent: /kyc answers 404. */
export const KycSchema = z.strictObject({
  /** Seconds a challenge JWT (`GET /kyc/auth/challenge`) may be answered; single use. */
  challenge_ttl: z.number().int().min(1).max(3600).default(120),
  /** Seconds a wallet JWT lives. */
  wallet_token_ttl: z.number().int().min(30).max(86_400).default(3600),
  /** Seconds a user token (`POST /kyc/users`, `GET /kyc/auth/token`) lives. */
  user_token_ttl: z.number().int().min(30).max(86_400).default(3600),
  /** Accepted `Origin` headers: `IDW` (the wallet itself) and web page origins. Empty: the header is not checked. */
  allowed_origins: z.array(z.string().min(1)).default(['IDW']),
  /** A regular expression the `User-Agent` must match (seed: `SelfkeyIDW/${wallet-version}`). Unset: not checked. */
  user_agent_pattern: z.string().min(1).optional(),
  /** Where `POST /kyc/login` sends the browser. */
  login_redirect_url: z.url(),
  files: z
    .strictObject({
      /** Largest accepted file, in bytes. */
      max_bytes: z.number().int().min(1024).max(50 * 1024 * 1024).default(5 * 1024 * 1024),
      types: z.array(KycFileType).min(1).default(['pdf', 'png', 'jpeg']),
    })
    .prefault({}),
  review: z
    .strictObject({
      /** Addresses the reviewer reminders go to. */
      reviewers: z.array(z.email()).default([]),
      /** Seconds after which reviewers are reminded of an undecided application (and again after as long). */
      reminder_after: z.number().int().min(1).default(86_400),
      /** Seconds after which an undecided application expires; also how long an expired offer may be re-offered. */
      expire_after: z.number().int().min(1).default(14 * 86_400),
    })
    .prefault({}),
  /** Templates by id (`GET /kyc/templates`). */
  templates: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), KycTemplateSchema).default({}),
});

export const FileConfigSchema = z
  .strictObject({
    /** `development` enables dev conveniences (the dev API key); `production` refuses them. */
    environment: z.enum(['development', 'production']).default('production'),
    issuer: z
      .strictObject({
        /** Display name in metadata. */
        name: z.string().min(1).default('Durable Issuer'),
        pre_authorized_code: z
          .strictObject({
            enabled: z.boolean().default(true),
            /**
             * Require a PIN (tx_code) sent out of band (OpenID4VCI 1.0 security considerations on the
             * Pre-Authorized Code Flow: without one, whoever holds the offer link can redeem it). On by default; a configuration turns it off explicitly.
             */
            pin_required: z.boolean().default(true),
            /** Seconds a pre-authorized code stays redeemable (seed default: 5 minutes). */
            code_ttl: z.number().int().positive().default(300),
            /** Digits of the PIN (tx_code). */
            pin_length: z.number().int().min(4).max(10).default(6),
            /** Wrong PINs after which an offer locks. */
            max_pin_attempts: z.number().int().min(1).max(20).default(5),
            /** Credentials one offer may issue in its issuance window, over all of the wallet's requests (each key of a batch counts). */
            max_credentials_per_offer: z.number().int().min(1).max(100).default(10),
          })
          .prefault({}),
        /** Require DPoP-bound access tokens (RFC 9449) on the OpenID4VCI endpoints; when false DPoP is still honoured. */
        dpop_required: z.boolean().default(false),
      })
      .prefault({}),
    gateway: z
      .strictObject({
        /** Largest accepted request body (express/body-parser size string). */
        body_limit: z.string().regex(/^\d+(b|kb|mb)$/).default('1mb'),
        /** Token bucket per client (API key / certificate / IP): sustained rate and burst. */
        rate_limit: z
          .strictObject({
            requests_per_second: z.number().positive().default(50),
            burst: z.number().int().positive().default(200),
          })
          .prefault({}),
        /**
         * Which reverse proxies' X-Forwarded-For to believe (Express `trust proxy`): `false` (none, the
         * default: the client is the TCP peer), a hop count (the client is that many addresses from the
         * right of X-Forwarded-For), or a list of proxy addresses / CIDR ranges. `true` (trust every
         * hop) is refused: any client could then choose its own address and rate-limit bucket.
         */
        trust_proxy: z
          .union([z.boolean(), z.number().int().min(0).max(10), z.array(TrustedProxy).min(1)])
          .refine((v) => v !== true, 'true would trust any X-Forwarded-For (spoofable); give the number of proxy hops or the proxies\' addresses / CIDR ranges')
          .default(false),
      })
      .prefault({}),
    authentic_sources: z.record(z.string().min(1), AuthenticSourceSchema),
    /**
     * Callers of the Bearer-authenticated APIs (seed 001 `POST /api/v1/credentials`), by name. In a
     * development configuration the dev API key is accepted as a Bearer token too (docs/conventions.md).
     */
    api_clients: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/), z.strictObject({ token_hash: ApiKeyHash, key_id: KeyId.optional() })).default({}),
    /**
     * Operators of the admin API (`/admin/v1`, src/gateway/admin/admin-auth.ts), by name: the hash of
     * each Bearer token (as for `api_clients`; `issuer admin-token` makes one) and its role, `read`
     * (find and inspect processes, scrape metrics) or `operate` (also act on them). In a development
     * configuration the dev API key is an `operate` token too. `dev` is the dev key's name.
     */
    admin_tokens: z
      .record(
        z.string().regex(/^[A-Za-z0-9_.-]+$/),
        z.strictObject({ token_hash: ApiKeyHash, key_id: KeyId.optional(), role: z.enum(['read', 'operate']) }),
      )
      .default({}),
    /**
     * Callers of the gRPC IssuerService, by name (src/grpc/grpc-authorization.ts). Under mTLS a client
     * certificate acts as the client whose `subjects` list its subject: RFC 4514 strings as in
     * `mtls_subjects` ("CN=apigw, O=Example, C=SE"; attribute order, case of attribute names and
     * spacing do not matter, every attribute must match). It may call the `scopes` listed: a credential
     * type's name under `authentic_sources.*.credential_types`, or its vct. A certificate no client lists
     * is refused with PERMISSION_DENIED. Without gRPC TLS (development only) every configured scope is
     * served to local callers.
     */
    grpc_clients: z
      .record(
        z.string().regex(/^[A-Za-z0-9_.-]+$/),
        z.strictObject({
          subjects: z.array(z.string().regex(/^[^=,]+=[^,]*(\s*,\s*[^=,]+=[^,]*)*$/, 'must be an RFC 4514 subject, e.g. "CN=apigw, O=Example"')).min(1),
          scopes: z.array(z.string().min(1)).default([]),
          /** May call SignMetadata (issuer metadata signed with the issuer's credential key). Default false. */
          sign_metadata: z.boolean().default(false),
        }),
      )
      .default({}),
    /**
     * X.509 services (seed 003, docs/conventions.md X.509 service) by service path
     * `{organization}.{tenant}.{service}`, each with the X.509 stores attached to it (store paths of the
     * same form). A service not listed has no store: `storedCertificateId` is ignored, as the seed says.
     */
    x509_services: z
      .record(
        z.string().regex(SERVICE_PATH, 'must be {organization}.{tenant}.{service}'),
        z.strictObject({
          stores: z
            .array(z.string().regex(SERVICE_PATH, 'must be {organization}.{tenant}.{store}'))
            .max(8)
            .default([])
            .refine((stores) => new Set(stores).size === stores.length, 'lists a store twice'),
        }),
      )
      .default({}),
    identity_matching: IdentityMatchingSchema.prefault({}),
    /** Issuer-wide webhook subscribers by name (a name is not an authentic source's), and the delivery policy. */
    webhooks: z
      .strictObject({
        subscribers: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/), WebhookSubscriberSchema).default({}),
        delivery: WebhookDeliverySchema.prefault({}),
      })
      .prefault({}),
    kyc: KycSchema.optional(),
  })
  .superRefine((cfg, ctx) => {
    const keyIds = new Map<string, string>();
    const claimKeyId = (keyId: string | undefined, path: (string | number)[]) => {
      if (keyId === undefined) return;
      const owner = keyIds.get(keyId);
      if (owner) ctx.addIssue({ code: 'custom', path, message: `"${keyId}" is already the key id of ${owner}` });
      else keyIds.set(keyId, path.slice(0, 2).join('.'));
    };
    for (const [name, source] of Object.entries(cfg.authentic_sources)) claimKeyId(source.key_id, ['authentic_sources', name, 'key_id']);
    for (const [name, client] of Object.entries(cfg.api_clients)) claimKeyId(client.key_id, ['api_clients', name, 'key_id']);
    for (const [name, token] of Object.entries(cfg.admin_tokens)) {
      claimKeyId(token.key_id, ['admin_tokens', name, 'key_id']);
      if (name === 'dev') ctx.addIssue({ code: 'custom', path: ['admin_tokens', name], message: '"dev" is the name of the dev API key' });
    }
    for (const [name, source] of Object.entries(cfg.authentic_sources)) {
      if (source.dev_api_key && cfg.environment !== 'development') {
        ctx.addIssue({ code: 'custom', path: ['authentic_sources', name, 'dev_api_key'], message: 'only allowed when environment is development' });
      }
      if (source.identifier !== name) {
        ctx.addIssue({ code: 'custom', path: ['authentic_sources', name, 'identifier'], message: `must equal its key "${name}"` });
      }
      if (source.dev_webhook_url && cfg.environment !== 'development') {
        ctx.addIssue({ code: 'custom', path: ['authentic_sources', name, 'dev_webhook_url'], message: 'only allowed when environment is development' });
      }
      // Webhooks carry the source's secret and offer outcomes: TLS, except to this machine or in development.
      if (source.notification_endpoint) checkWebhookUrl(source.notification_endpoint.url, ['authentic_sources', name, 'notification_endpoint', 'url']);
    }
    for (const [name, subscriber] of Object.entries(cfg.webhooks.subscribers)) {
      if (Object.hasOwn(cfg.authentic_sources, name)) ctx.addIssue({ code: 'custom', path: ['webhooks', 'subscribers', name], message: `"${name}" is an authentic source's name; its webhook is its notification_endpoint` });
      checkWebhookUrl(subscriber.url, ['webhooks', 'subscribers', name, 'url']);
      subscriber.authentic_sources?.forEach((source, i) => {
        if (!Object.hasOwn(cfg.authentic_sources, source)) ctx.addIssue({ code: 'custom', path: ['webhooks', 'subscribers', name, 'authentic_sources', i], message: `"${source}" is no configured authentic source` });
      });
    }
    function checkWebhookUrl(url: string, path: (string | number)[]) {
      const hook = new URL(url);
      if (hook.protocol !== 'https:' && !(hook.protocol === 'http:' && (cfg.environment === 'development' || LOOPBACK_HOSTS.test(hook.hostname)))) {
        ctx.addIssue({ code: 'custom', path, message: 'must be https:// (http:// only in development or to a loopback address)' });
      }
    }
    const vcts = new Set(Object.values(cfg.authentic_sources).flatMap((source) => Object.values(source.credential_types).map((type) => type.vct)));
    for (const [id, template] of Object.entries(cfg.kyc?.templates ?? {})) {
      if (!vcts.has(template.credential_type)) ctx.addIssue({ code: 'custom', path: ['kyc', 'templates', id, 'credential_type'], message: `"${template.credential_type}" is no configured credential type (vct)` });
      if (template.identity_match && !cfg.authentic_sources[template.identity_match.authentic_source]) ctx.addIssue({ code: 'custom', path: ['kyc', 'templates', id, 'identity_match', 'authentic_source'], message: `"${template.identity_match.authentic_source}" is no configured authentic source` });
    }
    const scopes = new Set(Object.values(cfg.authentic_sources).flatMap((source) => Object.entries(source.credential_types).flatMap(([scope, type]) => [scope, type.vct])));
    for (const [name, client] of Object.entries(cfg.grpc_clients)) {
      client.scopes.forEach((scope, i) => {
        if (!scopes.has(scope)) ctx.addIssue({ code: 'custom', path: ['grpc_clients', name, 'scopes', i], message: `"${scope}" is no configured credential type (name or vct)` });
      });
    }
  });

export type FileConfig = z.infer<typeof FileConfigSchema>;
export type AuthenticSourceConfig = z.infer<typeof AuthenticSourceSchema>;
export type KycConfig = z.infer<typeof KycSchema>;
export type KycTemplateConfig = z.infer<typeof KycTemplateSchema>;
export type CredentialTypeConfig = z.infer<typeof CredentialTypeSchema>;
export type InteractionConfig = z.infer<typeof InteractionSchema>;
export type NotificationEndpointConfig = z.infer<typeof NotificationEndpointSchema>;
export type WebhookSubscriberConfig = z.infer<typeof WebhookSubscriberSchema>;
export type WebhookDeliveryConfig = z.infer<typeof WebhookDeliverySchema>;

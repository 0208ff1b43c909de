/**
 * The issuer's Prometheus metrics (prom-client), one registry per process: the gateway, the worker
 * and the gRPC service each serve what they counted at `/metrics` (metrics-endpoint.ts); in `dev`,
 * where all three share a process, the gateway serves them all. Labels are bounded enums and route
 * templates only: never document ids, offer ids, addresses or anything personal. The Temporal SDK's
 * own worker metrics come from its runtime's exporter (TEMPORAL_SDK_METRICS_ADDRESS).
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'issuer_' }); // issuer_process_cpu_seconds_total, issuer_nodejs_heap_size_used_bytes, ...

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const httpRequests = new Counter({
  name: 'issuer_http_requests_total',
  help: 'HTTP requests answered by the gateway, by route template, method and status code.',
  labelNames: ['route', 'method', 'status'] as const,
  registers: [registry],
});

export const httpRequestDuration = new Histogram({
  name: 'issuer_http_request_duration_seconds',
  help: 'Time from request to the last byte of the answer, by route template, method and status code.',
  labelNames: ['route', 'method', 'status'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const offersEnded = new Counter({
  name: 'issuer_offers_ended_total',
  help: 'Credential offers whose workflow has ended, by end state (ISSUED, EXPIRED, LOCKED, CANCELLED, ...).',
  labelNames: ['state'] as const,
  registers: [registry],
});

export const credentialsIssued = new Counter({
  name: 'issuer_credentials_issued_total',
  help: 'Credentials signed, by format (dc+sd-jwt, mso_mdoc, jwt_vc_json, ...) and path (offer: the wallet flow; api: the Create Credential API; grpc).',
  labelNames: ['format', 'path'] as const,
  registers: [registry],
});

export const signingDuration = new Histogram({
  name: 'issuer_signing_duration_seconds',
  help: 'Time to build and sign one request of credentials, by format.',
  labelNames: ['format'] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  registers: [registry],
});

/** Lockouts that were not lifted are issuer_offers_ended_total{state="LOCKED"}: one per offer, counted when it ends (still locked at expiry). */
export const pinFailures = new Counter({
  name: 'issuer_pin_failures_total',
  help: 'Token requests refused for a wrong tx_code (PIN), including the one that locks the offer and any after it.',
  registers: [registry],
});

export const webhookAttempts = new Counter({
  name: 'issuer_webhook_attempts_total',
  help: 'Webhook delivery attempts (one per call of the deliverWebhook activity), by outcome: delivered (2xx), retried (a retryable failure, another attempt follows), gave_up (a retryable failure past the delivery horizon: dead-lettered), rejected (a 4xx that is not retried: dead-lettered), refused (the event did not match the records), not_configured, error (the attempt failed inside the issuer; Temporal retries it).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const webhookRetries = new Counter({
  name: 'issuer_webhook_retries_total',
  help: 'Webhook delivery attempts that failed and are retried with backoff (the same as issuer_webhook_attempts_total{outcome="retried"}).',
  registers: [registry],
});

export const webhookDeadLetters = new Counter({
  name: 'issuer_webhook_dead_letters_total',
  help: 'Webhook events given up on (dead-lettered): a 4xx answer, or retryable failures until the delivery horizon passed.',
  registers: [registry],
});

/** Times `fn` into `histogram` with `labels`, also when it throws. */
export async function timed<T, L extends string>(histogram: Histogram<L>, labels: Partial<Record<L, string>>, fn: () => Promise<T>): Promise<T> {
  const end = histogram.startTimer(labels);
  try {
    return await fn();
  } finally {
    end();
  }
}

/** The signing methods of the issuance service (src/credentials/issuance-service.ts) and their format labels. */
const SIGNING_METHODS = { makeSdJwt: 'dc+sd-jwt', makeMdoc: 'mso_mdoc', makeVc20: 'vc+jwt', makeVc20DataIntegrity: 'vc+di' } as const;

/**
 * The same issuance service, with each signing call timed (issuer_signing_duration_seconds) and
 * counted (issuer_credentials_issued_total) under `path`: `offer` (the wallet flow, in the worker),
 * `api` (the Create Credential API) or `grpc`.
 */
export function instrumentIssuance<S extends object>(service: S, path: 'offer' | 'api' | 'grpc'): S {
  const wrapped: Record<string, unknown> = {};
  for (const [method, format] of Object.entries(SIGNING_METHODS)) {
    const original = (service as Record<string, unknown>)[method];
    if (typeof original !== 'function') continue;
    wrapped[method] = async (...args: unknown[]) => {
      const result: unknown = await timed(signingDuration, { format }, () => (original as (...a: unknown[]) => Promise<unknown>).apply(service, args));
      credentialsIssued.inc({ format, path });
      return result;
    };
  }
  return Object.assign(Object.create(service) as S, wrapped);
}

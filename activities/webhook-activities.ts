import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Config } from '../src/config/config';
import type { WebhookEvent } from '../workflows/webhook-delivery';

export interface WebhookDeps {
  config: Config;
  /** Reads a secret by environment-variable name; secrets never travel through workflow inputs. */
  secret: (name: string) => string | undefined;
  fetch: typeof fetch;
}

export const createWebhookActivities = ({ config, secret, fetch }: WebhookDeps) => ({
  /**
   * POSTs one event. 2xx is success; 408, 429 and 5xx and network errors are retried by Temporal;
   * any other 4xx means the subscriber refuses this event, so retrying cannot help.
   */
  async deliverWebhook(input: { subscriber: string; event: WebhookEvent }): Promise<{ status: number; attempt: number }> {
    const source = Object.hasOwn(config.file.authentic_sources, input.subscriber) ? config.file.authentic_sources[input.subscriber] : undefined;
    const endpoint = source?.notification_endpoint;
    if (!endpoint) throw ApplicationFailure.nonRetryable(`no notification_endpoint configured for ${input.subscriber}`, 'WebhookNotConfigured');
    const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': input.event.id, 'user-agent': 'durable-issuer-webhooks' };
    if (endpoint.auth_secret_env) {
      const value = secret(endpoint.auth_secret_env);
      if (!value) throw ApplicationFailure.nonRetryable(`environment variable ${endpoint.auth_secret_env} is not set`, 'WebhookNotConfigured');
      headers[endpoint.auth_header.toLowerCase()] = value;
    }
    const ctx = Context.current();
    const response = await fetch(endpoint.url, { method: 'POST', headers, body: JSON.stringify(input.event), signal: AbortSignal.any([ctx.cancellationSignal, AbortSignal.timeout(20_000)]), redirect: 'error' });
    await response.body?.cancel();
    if (response.ok) return { status: response.status, attempt: ctx.info.attempt };
    const message = `subscriber answered HTTP ${response.status}`;
    if (response.status >= 500 || response.status === 408 || response.status === 429) throw new Error(message);
    throw ApplicationFailure.nonRetryable(message, 'WebhookRejected');
  },
});

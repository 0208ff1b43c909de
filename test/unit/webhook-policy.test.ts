import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventTypeMatches, webhookEndpoint, webhookSubscribersFor } from '../../src/config/config';
import { ConfigError } from '../../src/config/env';
import { parseRetryAfter, retryDelayMs } from '../../activities/webhook-activities';
import { loadTestConfig, testConfigFile } from '../support/test-services';

const policy = { initial_interval: 1, max_interval: 60 };

test('backoff doubles per attempt from initial_interval and stops growing at max_interval', () => {
  const top = () => 0.999999;
  assert.deepEqual([1, 2, 3, 4].map((n) => retryDelayMs(n, policy, undefined, top)), [1000, 2000, 4000, 8000]);
  assert.equal(retryDelayMs(20, policy, undefined, top), 60_000);
});

test('jitter keeps each wait between 50 % and 100 % of the backoff', () => {
  assert.equal(retryDelayMs(3, policy, undefined, () => 0), 2000);
  for (let i = 0; i < 100; i++) {
    const d = retryDelayMs(3, policy, undefined, Math.random);
    assert.ok(d >= 2000 && d <= 4000, String(d));
  }
});

test('a Retry-After asks for at least that long, even beyond max_interval (RFC 9110 §10.2.3)', () => {
  assert.equal(retryDelayMs(1, policy, 120_000, () => 0), 120_000);
  assert.equal(retryDelayMs(5, policy, 10, () => 0), 8000, 'a shorter Retry-After does not shorten the backoff');
});

test('Retry-After is delay-seconds or an HTTP-date; anything else is ignored (RFC 9110 §10.2.3)', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('120', now), 120_000);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0, 'a date in the past: retry now');
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter('-5', now), undefined);
  assert.equal(parseRetryAfter(null, now), undefined);
});

test('event patterns: *, a family wildcard and exact types', () => {
  assert.ok(eventTypeMatches('*', 'credential_offer.issued'));
  assert.ok(eventTypeMatches('credential_offer.*', 'credential_offer.issued'));
  assert.ok(!eventTypeMatches('credential_offer.*', 'credential_status.revoked'));
  assert.ok(eventTypeMatches('credential_offer.expired', 'credential_offer.expired'));
  assert.ok(!eventTypeMatches('credential_offer.expired', 'credential_offer.expired_x'));
});

test('an event goes to its source\'s notification_endpoint and to the issuer-wide subscribers that want its type and source', () => {
  const config = loadTestConfig(
    testConfigFile((f) => {
      (f.authentic_sources as Record<string, Record<string, unknown>>)['hr.example.org']!.notification_endpoint = { url: 'http://127.0.0.1:9/hr', events: ['credential_offer.issued'] };
      f.webhooks = {
        subscribers: {
          everything: { url: 'https://all.example.org/hook', events: ['*'] },
          'registry-only': { url: 'https://reg.example.org/hook', events: ['credential_offer.*'], authentic_sources: ['registry.example.org'] },
        },
      };
    }),
  );
  assert.deepEqual(webhookSubscribersFor(config, 'hr.example.org', 'credential_offer.issued'), ['hr.example.org', 'everything']);
  assert.deepEqual(webhookSubscribersFor(config, 'hr.example.org', 'credential_offer.expired'), ['everything']);
  assert.deepEqual(webhookSubscribersFor(config, 'registry.example.org', 'credential_offer.expired'), ['everything', 'registry-only']);
  assert.equal(webhookEndpoint(config, 'everything')?.url, 'https://all.example.org/hook');
  assert.equal(webhookEndpoint(config, 'registry.example.org'), undefined, 'a source without a notification_endpoint');
  assert.deepEqual(config.file.webhooks.delivery, { horizon: 86_400, initial_interval: 1, max_interval: 600, attempt_timeout: 20 }, 'documented defaults');
});

test('configuration errors name the key: a subscriber named like a source, an unknown source, plain http in production, a bad event pattern', () => {
  const bad = (mutate: (f: Record<string, unknown>) => void, pattern: RegExp) =>
    assert.throws(() => loadTestConfig(testConfigFile(mutate)), (err: unknown) => err instanceof ConfigError && pattern.test(err.message), pattern.source);
  bad((f) => (f.webhooks = { subscribers: { 'hr.example.org': { url: 'https://x.example.org', events: ['*'] } } }), /webhooks\.subscribers\.hr\.example\.org: .*authentic source/);
  bad((f) => (f.webhooks = { subscribers: { s: { url: 'https://x.example.org', events: ['*'], authentic_sources: ['nobody'] } } }), /webhooks\.subscribers\.s\.authentic_sources\.0/);
  bad((f) => (f.webhooks = { subscribers: { s: { url: 'https://x.example.org', events: ['Offer Issued'] } } }), /webhooks\.subscribers\.s\.events\.0/);
  bad((f) => (f.webhooks = { delivery: { attempt_timeout: 60 } }), /webhooks\.delivery\.attempt_timeout/);
  bad((f) => {
    f.environment = 'production';
    const hr = (f.authentic_sources as Record<string, Record<string, unknown>>)['hr.example.org']!;
    delete hr.dev_api_key;
    hr.api_key_hash = `sha256:${'a'.repeat(64)}`;
    hr.dev_webhook_url = true;
  }, /hr\.example\.org\.dev_webhook_url: only allowed when environment is development/);
});

test('development: ISSUER_DEV_WEBHOOK_URL becomes the notification_endpoint of sources with dev_webhook_url, with X-Body-Signature on', () => {
  const file = testConfigFile((f) => ((f.authentic_sources as Record<string, Record<string, unknown>>)['hr.example.org']!.dev_webhook_url = true));
  const withUrl = loadTestConfig(file, { ISSUER_DEV_WEBHOOK_URL: 'http://127.0.0.1:4000/hooks' });
  assert.equal(withUrl.file.authentic_sources['hr.example.org']!.notification_endpoint?.url, 'http://127.0.0.1:4000/hooks');
  assert.equal(withUrl.file.authentic_sources['hr.example.org']!.notification_endpoint?.body_signature, true);
  assert.equal(withUrl.file.authentic_sources['registry.example.org']!.notification_endpoint, undefined, 'only the sources that ask for it');
  assert.equal(loadTestConfig(file).file.authentic_sources['hr.example.org']!.notification_endpoint, undefined, 'unset: no webhook');
});

test('the published event catalogue names the end event of every final offer state', async () => {
  const { WEBHOOK_EVENT_TYPES } = await import('../../src/gateway/webhook-catalogue');
  for (const state of ['ISSUED', 'EXPIRED', 'LOCKED', 'CANCELLED']) assert.ok(Object.hasOwn(WEBHOOK_EVENT_TYPES, `credential_offer.${state.toLowerCase()}`), state);
});

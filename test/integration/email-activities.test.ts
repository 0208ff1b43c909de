import assert from 'node:assert/strict';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/activity';
import { SMTPServer } from 'smtp-server';
import { createEmailActivities, pinEmailMessageId } from '../../activities/email-activities';

interface Received {
  from: string | false;
  to: string[];
  raw: string;
}

/** A real SMTP receiver on loopback: refuses `reject@` with 550 and `defer@` with 451, keeps every other message. */
async function startSmtpReceiver(): Promise<{ server: SMTPServer; url: string; received: Received[] }> {
  const received: Received[] = [];
  const refusal = (message: string, responseCode: number) => Object.assign(new Error(message), { responseCode });
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('reject@')) return callback(refusal('No such user here', 550));
      if (address.address.startsWith('defer@')) return callback(refusal('Mailbox busy, try again later', 451));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({ from: session.envelope.mailFrom && session.envelope.mailFrom.address, to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return { server, url: `smtp://127.0.0.1:${port}`, received };
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

const headerValue = (raw: string, name: string) => raw.match(new RegExp(`^${name}:\\s*(.+)$`, 'im'))?.[1]?.trim();

describe('PIN e-mail activity, against a real SMTP receiver', () => {
  let smtp: Awaited<ReturnType<typeof startSmtpReceiver>>;
  let activities: ReturnType<typeof createEmailActivities>;

  before(async () => {
    smtp = await startSmtpReceiver();
    activities = createEmailActivities({ smtpUrl: smtp.url, from: 'issuer@issuer.example.org', issuerName: 'Example Issuer' });
  });
  after(async () => {
    await new Promise<void>((resolve) => smtp.server.close(() => resolve()));
  });

  test('delivers the PIN (tx_code) to the holder named in the request', async () => {
    const before = smtp.received.length;
    const { messageId } = await activities.sendPinEmail({ to: 'holder@wallet.example', pin: '493817', reference: 'REF0-0001', idempotencyKey: 'offer/hr.example.org/urn:eudi:diploma:1/doc-1/email-pin' });
    assert.equal(smtp.received.length, before + 1);
    const mail = smtp.received.at(-1)!;
    assert.deepEqual(mail.to, ['holder@wallet.example']);
    assert.equal(mail.from, 'issuer@issuer.example.org');
    assert.match(mail.raw, /493817/);
    assert.match(mail.raw, /Content-Type: text\/plain/i);
    assert.match(mail.raw, /Content-Type: text\/html/i);
    assert.doesNotMatch(headerValue(mail.raw, 'Subject') ?? '', /493817/, 'the PIN is not in the subject line');
    assert.equal(headerValue(mail.raw, 'Message-ID'), messageId);
  });

  test('a retried send with the same idempotency key carries the same Message-ID, so receivers can drop the duplicate', async () => {
    const input = { to: 'holder@wallet.example', pin: '000123', reference: 'REF0-0002', idempotencyKey: 'offer/hr.example.org/urn:eudi:diploma:1/doc-2/email-pin' };
    const first = await activities.sendPinEmail(input);
    const second = await activities.sendPinEmail(input);
    assert.equal(first.messageId, second.messageId);
    assert.equal(first.messageId, pinEmailMessageId(input.idempotencyKey));
    const ids = smtp.received.slice(-2).map((m) => headerValue(m.raw, 'Message-ID'));
    assert.deepEqual(ids, [first.messageId, first.messageId]);
    const other = await activities.sendPinEmail({ ...input, idempotencyKey: 'offer/hr.example.org/urn:eudi:diploma:1/doc-3/email-pin' });
    assert.notEqual(other.messageId, first.messageId);
  });

  test('a recipient refused with 550 fails for good (non-retryable EmailRejected), without the PIN or address in the error', async () => {
    await assert.rejects(
      activities.sendPinEmail({ to: 'reject@wallet.example', pin: '777111', reference: 'REF0-0003', idempotencyKey: 'k-550' }),
      (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure);
        assert.equal(err.type, 'EmailRejected');
        assert.equal(err.nonRetryable, true);
        assert.doesNotMatch(err.message, /777111|reject@wallet/);
        return true;
      },
    );
  });

  test('a temporary refusal (451) is a plain Error, which Temporal retries', async () => {
    await assert.rejects(activities.sendPinEmail({ to: 'defer@wallet.example', pin: '777222', reference: 'REF0-0004', idempotencyKey: 'k-451' }), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.ok(!(err instanceof ApplicationFailure));
      assert.doesNotMatch(err.message, /777222/);
      return true;
    });
  });

  test('an unreachable SMTP server is a plain Error, which Temporal retries', async () => {
    const offline = createEmailActivities({ smtpUrl: `smtp://127.0.0.1:${await closedPort()}`, from: 'issuer@issuer.example.org', issuerName: 'Example Issuer' });
    await assert.rejects(offline.sendPinEmail({ to: 'holder@wallet.example', pin: '777333', reference: 'REF0-0005', idempotencyKey: 'k-conn' }), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.ok(!(err instanceof ApplicationFailure));
      return true;
    });
  });

  test('without SMTP_URL the activity fails for good (non-retryable EmailNotConfigured)', async () => {
    const unconfigured = createEmailActivities({ smtpUrl: undefined, from: 'issuer@issuer.example.org', issuerName: 'Example Issuer' });
    await assert.rejects(unconfigured.sendPinEmail({ to: 'holder@wallet.example', pin: '1', reference: 'REF', idempotencyKey: 'k' }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, 'EmailNotConfigured');
      assert.equal(err.nonRetryable, true);
      return true;
    });
  });
});

test('in development without SMTP_URL the PIN e-mail is written to the mailbox folder as an .eml file, readable only by its owner', async () => {
  const { mkdtempSync, readdirSync, readFileSync, statSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const mailboxDir = join(mkdtempSync(join(tmpdir(), 'issuer-mailbox-')), 'mailbox');
  const { sendPinEmail } = createEmailActivities({ smtpUrl: undefined, mailboxDir, from: 'Issuer <no-reply@issuer.example.org>', issuerName: 'Issuer' });
  await sendPinEmail({ to: 'alice@example.org', pin: '482913', reference: 'REF0-00X0', idempotencyKey: 'wf/offer-x/email-pin' });
  const files = readdirSync(mailboxDir);
  assert.equal(files.length, 1);
  assert.match(files[0]!, /\.eml$/);
  const eml = readFileSync(join(mailboxDir, files[0]!), 'utf8');
  assert.match(eml, /To: alice@example\.org/);
  assert.match(eml, /482913/);
  assert.equal(statSync(join(mailboxDir, files[0]!)).mode & 0o077, 0);
});

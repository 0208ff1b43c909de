import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { createTransport } from 'nodemailer';

export interface EmailDeps {
  /** Development only: with no SMTP_URL, PIN e-mails are written here as .eml files. */
  mailboxDir?: string | undefined;
  /** `SMTP_URL`, e.g. `smtp://user:pass@mail.example.org:587`; undefined when e-mail is not configured. */
  smtpUrl: string | undefined;
  /** The sender address (`From:`). */
  from: string;
  /** The issuer's display name, shown to the holder. */
  issuerName: string;
}

export interface PinEmailInput {
  to: string;
  /** The tx_code: the only secret here. It goes into the message body and nowhere else (no logs, no errors). */
  pin: string;
  /** A short non-secret reference of the offer (OfferSecrets.offerReference), for the holder's correspondence; never the offer id or link. */
  reference: string;
  /** Built from the workflow id and the step (`${workflowId}/email-pin`); the same key gives the same Message-ID. */
  idempotencyKey: string;
}

export interface NoticeEmailInput {
  to: string | string[];
  subject: string;
  text: string;
  /** Built from the workflow id and the step; the same key gives the same Message-ID. */
  idempotencyKey: string;
}

/**
 * The Message-ID of the e-mail sent for an idempotency key. A retried activity sends a message with
 * the same id, so a receiver (or the holder's mail client) can drop the duplicate (RFC 5322 §3.6.4).
 */
export const pinEmailMessageId = (idempotencyKey: string) => `<${createHash('sha256').update(idempotencyKey, 'utf8').digest('hex')}@durable-issuer>`;

/** What nodemailer attaches to an SMTP failure (nodemailer/lib/smtp-connection). */
interface SmtpError {
  code?: string;
  responseCode?: number;
  command?: string;
}

export const createEmailActivities = ({ smtpUrl, from, issuerName, mailboxDir }: EmailDeps) => {
  let transport: ReturnType<typeof createTransport> | undefined;
  const transporter = () => {
    if (!smtpUrl && !mailboxDir) throw ApplicationFailure.nonRetryable('SMTP_URL is not configured', 'EmailNotConfigured');
    // Development without SMTP: messages are rendered as .eml files into the mailbox folder instead.
    transport ??= smtpUrl ? createTransport(smtpUrl) : createTransport({ streamTransport: true, buffer: true });
    return transport;
  };

  return {
    /**
     * Sends the holder the PIN (tx_code) of a credential offer, out of band as OpenID4VCI 1.0 §3.5
     * expects. A permanent SMTP refusal (5xx) fails for good ('EmailRejected'); a connection error or
     * a temporary refusal (4xx) is thrown as a plain Error so Temporal retries it. Error messages carry
     * only the SMTP reply code and command: no address and no PIN, since they end up in the history.
     */
    async sendPinEmail(input: PinEmailInput): Promise<{ messageId: string }> {
      const mailer = transporter();
      const messageId = pinEmailMessageId(input.idempotencyKey);
      try {
        const info = await mailer.sendMail({
          from,
          to: input.to,
          subject: `Your PIN for a credential from ${issuerName}`,
          messageId,
          text: pinText(issuerName, input),
          html: pinHtml(issuerName, input),
        });
        if (!smtpUrl && mailboxDir) {
          await mkdir(mailboxDir, { recursive: true, mode: 0o700 });
          const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${createHash('sha256').update(messageId).digest('hex').slice(0, 8)}.eml`;
          await writeFile(join(mailboxDir, name), (info as { message: Buffer }).message, { mode: 0o600 });
        }
      } catch (err) {
        const { code, responseCode, command } = (err ?? {}) as SmtpError;
        const where = [responseCode, command].filter(Boolean).join(' ');
        if (responseCode && responseCode >= 500) throw ApplicationFailure.nonRetryable(`SMTP server refused the PIN e-mail permanently (${where})`, 'EmailRejected');
        throw new Error(`sending the PIN e-mail failed (${where || code || 'unknown error'}); will retry`);
      }
      return { messageId };
    },

    /**
     * A plain notice (KYC onboarding: reviewer reminders, the applicant's decision), with the same
     * retry classification and Message-ID idempotency as the PIN mail. Errors carry no address or text.
     */
    async sendNoticeEmail(input: NoticeEmailInput): Promise<{ messageId: string }> {
      const mailer = transporter();
      const messageId = pinEmailMessageId(input.idempotencyKey);
      try {
        const info = await mailer.sendMail({ from, to: input.to, subject: input.subject, messageId, text: input.text });
        if (!smtpUrl && mailboxDir) {
          await mkdir(mailboxDir, { recursive: true, mode: 0o700 });
          await writeFile(join(mailboxDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${createHash('sha256').update(messageId).digest('hex').slice(0, 8)}.eml`), (info as { message: Buffer }).message, { mode: 0o600 });
        }
      } catch (err) {
        const { code, responseCode, command } = (err ?? {}) as SmtpError;
        const where = [responseCode, command].filter(Boolean).join(' ');
        if (responseCode && responseCode >= 500) throw ApplicationFailure.nonRetryable(`SMTP server refused the e-mail permanently (${where})`, 'EmailRejected');
        throw new Error(`sending the e-mail failed (${where || code || 'unknown error'}); will retry`);
      }
      return { messageId };
    },
  };
};

function pinText(issuerName: string, { pin, reference }: PinEmailInput): string {
  return [
    `${issuerName} has a credential ready for your wallet.`,
    '',
    `When your wallet asks for the transaction code (PIN) of this credential offer, enter:`,
    '',
    `    ${pin}`,
    '',
    `Offer reference: ${reference}`,
    'Do not share this PIN with anyone. If you did not expect this message, ignore it.',
    '',
  ].join('\n');
}

function pinHtml(issuerName: string, { pin, reference }: PinEmailInput): string {
  return `<!doctype html>
<html><body style="font-family: sans-serif">
<p>${escapeHtml(issuerName)} has a credential ready for your wallet.</p>
<p>When your wallet asks for the transaction code (PIN) of this credential offer, enter:</p>
<p style="font-size: 1.6em; font-weight: bold; letter-spacing: 0.2em">${escapeHtml(pin)}</p>
<p>Offer reference: ${escapeHtml(reference)}</p>
<p>Do not share this PIN with anyone. If you did not expect this message, ignore it.</p>
</body></html>
`;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export type EmailActivities = ReturnType<typeof createEmailActivities>;

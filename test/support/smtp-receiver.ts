import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  to: string[];
  text: string;
}

/** A real SMTP receiver on loopback for tests: every message's recipients and raw text. */
export async function startSmtpReceiver(): Promise<{ server: SMTPServer; mails: ReceivedMail[]; url: string; close(): Promise<void> }> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      let text = '';
      stream.on('data', (c: Buffer) => (text += c.toString()));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), text });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    mails,
    url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Waits for the PIN e-mail to `to` and returns the PIN (the first run of `digits` digits in it). */
export async function waitForPin(mails: ReceivedMail[], to: string, digits = 6): Promise<string> {
  for (let i = 0; i < 150; i++) {
    const mail = mails.find((m) => m.to.includes(to));
    const pin = mail && new RegExp(`\\b(\\d{${digits}})\\b`).exec(mail.text)?.[1];
    if (pin) return pin;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no PIN e-mail for ${to}`);
}

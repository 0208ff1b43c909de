import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Structured JSON logs. Call sites log ids, paths and statuses only; the redaction list is a
 * second line of defence in case a secret-bearing object is ever logged whole.
 */
export function createLogger(level: string, name = 'issuer', destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name,
    level,
    redact: {
      paths: ['*.password', '*.pin', '*.tx_code', '*.api_key', '*.apiKey', '*.authorization', '*.headers.authorization', '*.headers["x-api-key"]', '*.document_data', '*.identities', 'DATABASE_URL', 'SMTP_URL', '*.privateKey', '*.d'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * The pre-authorized code and the PIN (tx_code) of an offer are derived from its id with keys
 * derived from the KEK, so neither is ever stored or written to a workflow history: PostgreSQL
 * keeps only the code's SHA-256 (to find the offer on /token), and a retried e-mail activity sends
 * the same PIN again rather than a new one.
 */
export interface OfferSecrets {
  preAuthorizedCode(offerId: string): string;
  codeHash(code: string): string;
  /** The offer's PIN of `length` digits (issuer.pre_authorized_code.pin_length). */
  pin(offerId: string, length: number): string;
  pinMatches(offerId: string, presented: string, length: number): boolean;
}

/** `key`: the offer-secrets subkey of the KEK (`KekSubkeys.offerSecrets`, src/credentials/kek-subkeys.ts), never the KEK itself. */
export function createOfferSecrets(key: Uint8Array): OfferSecrets {
  const subKey = (purpose: string) => Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `durable-issuer/oid4vci/${purpose}`, 32));
  const codeKey = subKey('pre-authorized-code');
  const pinKey = subKey('tx-code');
  const pin = (offerId: string, length: number) => {
    // 64 bits reduced mod 10^length (length <= 10): the bias is below 2^-30.
    const n = createHmac('sha256', pinKey).update(offerId).digest().readBigUInt64BE(0) % 10n ** BigInt(length);
    return n.toString().padStart(length, '0');
  };
  return {
    preAuthorizedCode: (offerId) => createHmac('sha256', codeKey).update(offerId).digest('base64url'),
    codeHash: (code) => createHash('sha256').update(code, 'utf8').digest('hex'),
    pin,
    pinMatches: (offerId, presented, length) => {
      const expected = Buffer.from(pin(offerId, length));
      const given = Buffer.from(presented);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}

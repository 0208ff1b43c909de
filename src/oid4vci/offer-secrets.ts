import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * The secrets of an offer are derived from its id with keys derived from the offer-secrets subkey
 * of the KEK (HKDF, one key per purpose), so none is ever stored or written to a workflow history, and the offer id alone
 * (which histories, queries and the batch status hold) yields none of them:
 * - the pre-authorized code: PostgreSQL keeps only its SHA-256, to find the offer on /token;
 * - the PIN (tx_code): not stored at all; a retried e-mail activity sends the same PIN again;
 * - the offer URI token, the bearer secret in `credential_offer_uri` = `$ISSUER_URL/offers/<token>`:
 *   PostgreSQL keeps only its SHA-256. It is derived rather than random so that a repeated
 *   notification (and the batch status) can give the same deep link again without storing it
 *   anywhere, and it never enters Temporal;
 * - the redemption proof, the gateway's word in the `redeem` Update that it checked the code and
 *   the PIN; the issuing activity verifies it before it signs (a workflow cannot hold keys).
 */
export interface OfferSecrets {
  preAuthorizedCode(offerId: string): string;
  codeHash(code: string): string;
  /** The offer's PIN of `length` digits (issuer.pre_authorized_code.pin_length). */
  /** The offer's PIN of `generation` (0: the first; each re-send raises it, see credential_offers.pin_generation). */
  pin(offerId: string, length: number, generation?: number): string;
  pinMatches(offerId: string, presented: string, length: number, generation?: number): boolean;
  /** The token of the offer's `credential_offer_uri` (OpenID4VCI 1.0 §4.1.3). */
  offerUriToken(offerId: string): string;
  /** What PostgreSQL keeps of an offer URI token (SHA-256, hex). */
  uriTokenHash(token: string): string;
  /**
   * Proof that the gateway redeemed the offer (code and, if required, PIN checked). One per offer:
   * an offer is redeemed at most once and its id is fresh per preparation, so a proof read from a
   * history cannot redeem anything else (the issuing activity also checks the caller's workflow id
   * and that the offer is still open); an attempt counter would add nothing but a round trip.
   */
  redemptionProof(offerId: string): string;
  redemptionProofMatches(offerId: string, proof: unknown): boolean;
  /**
   * The `transaction_id` (OpenID4VCI 1.0 §8.3) of a postponed interaction event (seed 002): derived
   * from the event id, so neither histories nor PostgreSQL hold it, and the event id alone does not
   * collect the credential.
   */
  transactionId(actionEventId: string): string;
  /** A short, non-secret reference for the holder's correspondence (8 hex digits, as `ABCD-1234`). */
  offerReference(offerId: string): string;
}

const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

const equalStrings = (a: string, b: string) => {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
};

/** `key`: the offer-secrets subkey of the KEK (`KekSubkeys.offerSecrets`, src/credentials/kek-subkeys.ts), never the KEK itself. */
export function createOfferSecrets(key: Uint8Array): OfferSecrets {
  const subKey = (purpose: string) => Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `durable-issuer/oid4vci/${purpose}`, 32));
  const codeKey = subKey('pre-authorized-code');
  const pinKey = subKey('tx-code');
  const uriKey = subKey('offer-uri-token');
  const redeemKey = subKey('redemption-proof');
  const transactionKey = subKey('deferred-transaction-id');
  const mac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest('base64url');
  const pin = (offerId: string, length: number, generation = 0) => {
    // 64 bits reduced mod 10^length (length <= 10): the bias is below 2^-30. Generation 0 keeps the
    // input of offers made before PINs could be re-sent.
    const input = generation === 0 ? offerId : `${offerId}/pin/${generation}`;
    const n = createHmac('sha256', pinKey).update(input).digest().readBigUInt64BE(0) % 10n ** BigInt(length);
    return n.toString().padStart(length, '0');
  };
  const redemptionProof = (offerId: string) => mac(redeemKey, `redeemed/${offerId}`);
  return {
    preAuthorizedCode: (offerId) => mac(codeKey, offerId),
    codeHash: sha256Hex,
    pin,
    pinMatches: (offerId, presented, length, generation = 0) => equalStrings(presented, pin(offerId, length, generation)),
    offerUriToken: (offerId) => mac(uriKey, offerId),
    uriTokenHash: sha256Hex,
    redemptionProof,
    redemptionProofMatches: (offerId, proof) => typeof proof === 'string' && equalStrings(proof, redemptionProof(offerId)),
    transactionId: (actionEventId) => mac(transactionKey, actionEventId),
    offerReference: (offerId) => {
      const hex = sha256Hex(`reference/${offerId}`).slice(0, 8).toUpperCase();
      return `${hex.slice(0, 4)}-${hex.slice(4)}`;
    },
  };
}

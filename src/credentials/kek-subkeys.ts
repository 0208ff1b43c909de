import { hkdfSync } from 'node:crypto';

/**
 * One key per purpose, derived from the KEK with HKDF-SHA-256 (RFC 5869) and a distinct `info` per
 * purpose, so a key that leaks from one use (a pickup key, the offer-secret key) opens nothing else,
 * and each process is handed only the subkeys its parts use (src/main/issuer-parts.ts) rather than
 * the KEK itself. The salt is empty: the KEK is already uniformly random (RFC 5869 §3.1).
 *
 * A subkey is a `Uint8Array` branded with its purpose, so the compiler refuses a raw KEK, or the
 * subkey of another purpose, where one is expected.
 */
export type KekPurpose = 'signing-key-sealing' | 'offer-secrets' | 'pickup-sealing';

declare const purposeBrand: unique symbol;
export type Subkey<P extends KekPurpose> = Uint8Array & { readonly [purposeBrand]: P };

/** What seals and opens the signing keys' private parts (src/credentials/key-encryption.ts). */
export interface KeySealingKeys {
  /** Seals new envelopes (`v2`) and opens them. */
  current: Subkey<'signing-key-sealing'>;
  /**
   * The KEK itself, only where the process holds it: opens envelopes sealed under the raw KEK before
   * subkeys existed (`v1`), which the key store then reseals as `v2`.
   */
  legacy?: Uint8Array;
}

export interface KekSubkeys {
  keySealing: KeySealingKeys;
  /** Input of createOfferSecrets (pre-authorized codes, PINs, and what the offer path derives from it). */
  offerSecrets: Subkey<'offer-secrets'>;
  /** Seals issued credentials parked for pickup (src/db/issued-credentials-repository.ts). */
  pickupSealing: Subkey<'pickup-sealing'>;
}

const KEK_BYTES = 32;

/** HKDF-SHA-256 of the KEK for one purpose; `info` is `durable-issuer/kek/<purpose>`. */
export function deriveSubkey<P extends KekPurpose>(kek: Uint8Array, purpose: P): Subkey<P> {
  if (!(kek instanceof Uint8Array) || kek.length !== KEK_BYTES) throw new TypeError(`the key-encryption key must be ${KEK_BYTES} bytes`);
  return new Uint8Array(hkdfSync('sha256', kek, Buffer.alloc(0), `durable-issuer/kek/${purpose}`, 32)) as Subkey<P>;
}

/** Every subkey of the KEK; the KEK stays in `keySealing.legacy` to open `v1` envelopes. */
export function deriveKekSubkeys(kek: Uint8Array): KekSubkeys {
  return {
    keySealing: { current: deriveSubkey(kek, 'signing-key-sealing'), legacy: kek },
    offerSecrets: deriveSubkey(kek, 'offer-secrets'),
    pickupSealing: deriveSubkey(kek, 'pickup-sealing'),
  };
}

/**
 * The subkeys an internet-facing gateway needs: the offer secrets (codes, PINs) and the pickup key
 * (the credential endpoint hands out parked credentials). It keeps the key-sealing subkey only
 * because `/api/v1/credentials` still signs VC 2.0 credentials in the gateway process, and never the
 * KEK: legacy `v1` envelopes are resealed by the worker or gRPC process, which hold it.
 */
export function gatewaySubkeys(all: KekSubkeys): KekSubkeys {
  return { keySealing: { current: all.keySealing.current }, offerSecrets: all.offerSecrets, pickupSealing: all.pickupSealing };
}

const GATEWAY_KEYS_PREFIX = 'gwk1.';

/**
 * The gateway's subkeys as one text (`ISSUER_GATEWAY_KEYS`, printed by `issuer gateway-keys` from the
 * KEK), so an internet-facing gateway can run without the KEK in its environment: what leaks from
 * it then opens neither the legacy `v1` envelopes nor anything a future purpose derives.
 */
export function formatGatewayKeys(keys: KekSubkeys): string {
  return GATEWAY_KEYS_PREFIX + Buffer.concat([keys.keySealing.current, keys.offerSecrets, keys.pickupSealing]).toString('base64url');
}

export function parseGatewayKeys(text: string): KekSubkeys {
  const bytes = text.trim().startsWith(GATEWAY_KEYS_PREFIX) ? Buffer.from(text.trim().slice(GATEWAY_KEYS_PREFIX.length), 'base64url') : undefined;
  if (!bytes || bytes.length !== 3 * KEK_BYTES) throw new TypeError('ISSUER_GATEWAY_KEYS: not the output of `issuer gateway-keys` (gwk1.<base64url of 96 bytes>)');
  const part = <P extends KekPurpose>(i: number) => new Uint8Array(bytes.subarray(i * KEK_BYTES, (i + 1) * KEK_BYTES)) as Subkey<P>;
  return { keySealing: { current: part<'signing-key-sealing'>(0) }, offerSecrets: part<'offer-secrets'>(1), pickupSealing: part<'pickup-sealing'>(2) };
}

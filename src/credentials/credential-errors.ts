/**
 * Errors thrown by the credential formats.
 *
 * `CredentialInputError` is a permanent failure caused by the data handed to a format (document
 * claims, holder key, validity): retrying cannot help, so callers map it to a 4xx / non-retryable
 * activity failure. Anything else thrown from this folder is a programmer or infrastructure error.
 */
export type CredentialInputErrorCode =
  | 'invalid_holder_key'
  | 'invalid_claims'
  | 'missing_mandatory_claim'
  | 'reserved_claim'
  | 'invalid_validity'
  | 'unknown_doctype'
  | 'invalid_element_value'
  | 'issuing_country_mismatch';

export class CredentialInputError extends Error {
  override readonly name = 'CredentialInputError';
  constructor(
    readonly code: CredentialInputErrorCode,
    message: string,
    /** Where in the input the problem is, e.g. `claims.address.street`. */
    readonly path?: string,
    options?: ErrorOptions,
  ) {
    super(path ? `${path}: ${message}` : message, options);
  }
}

/** A stored private key could not be decrypted: wrong KEK, tampered row, or a row moved to another kid. */
export class KeyDecryptionError extends Error {
  override readonly name = 'KeyDecryptionError';
}

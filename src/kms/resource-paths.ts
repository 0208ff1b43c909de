/**
 * walt.id's dotted resource paths (docs/conventions.md, KMS and X.509 service): a service is
 * `{organization}.{tenant}.{service}` and a key `{organization}.{tenant}.{kms}.{keyId}`. Each
 * segment is 1-64 characters of `[A-Za-z0-9_-]`, so a path is one URL path segment and never
 * needs escaping.
 */
const SEGMENT = '[A-Za-z0-9_-]{1,64}';

/** `{organization}.{tenant}.{service}`: the `:target` of an X.509 service, an X.509 store. */
export const SERVICE_PATH = new RegExp(`^${SEGMENT}(?:\\.${SEGMENT}){2}$`);

/** `{organization}.{tenant}.{kms}.{keyId}`: a KMS key (`keyIdPath`). */
export const KEY_ID_PATH = new RegExp(`^${SEGMENT}(?:\\.${SEGMENT}){3}$`);

/** A child id in a store (`storedCertificateId`): one segment. */
export const CHILD_ID = new RegExp(`^${SEGMENT}$`);

import * as documents from './0001-documents';
import * as auditLog from './0002-audit-log';
import * as signingKeys from './0003-signing-keys';
import * as documentLookup from './0004-document-lookup';
import * as w3cCredentials from './0005-w3c-credentials';
import * as oid4vci from './0006-oid4vci';
import * as credentialOffers from './0007-credential-offers';
import * as issuedCredentials from './0008-issued-credentials';
import * as dpop from './0009-dpop';
import * as offerUriToken from './0010-offer-uri-token';
import * as offerPinDelivery from './0011-offer-pin-delivery';
import * as kmsKeys from './0012-kms-keys';
import * as x509Stores from './0013-x509-stores';
import * as ed25519SigningKey from './0014-ed25519-signing-key';
import * as statusLists from './0015-status-lists';
import * as webhooks from './0016-webhooks';
import * as kyc from './0017-kyc';
import * as x509Crls from './0018-x509-crls';
import * as offerPinGeneration from './0019-offer-pin-generation';
import * as statusListTokens from './0020-status-list-tokens';
import * as webhookOutbox from './0021-webhook-outbox';
import * as interactionEvents from './0022-interaction-events';
import * as issuanceIndexes from './0025-issuance-indexes';
import * as webhookOutboxPurge from './0027-webhook-outbox-purge';

/** Every migration, in order. A new migration is a new module appended here. */
export const migrations = [
  { name: '0001-documents', ...documents },
  { name: '0002-audit-log', ...auditLog },
  { name: '0003-signing-keys', ...signingKeys },
  { name: '0004-document-lookup', ...documentLookup },
  { name: '0005-w3c-credentials', ...w3cCredentials },
  { name: '0006-oid4vci', ...oid4vci },
  { name: '0007-credential-offers', ...credentialOffers },
  { name: '0008-issued-credentials', ...issuedCredentials },
  { name: '0009-dpop', ...dpop },
  { name: '0010-offer-uri-token', ...offerUriToken },
  { name: '0011-offer-pin-delivery', ...offerPinDelivery },
  { name: '0012-kms-keys', ...kmsKeys },
  { name: '0013-x509-stores', ...x509Stores },
  { name: '0014-ed25519-signing-key', ...ed25519SigningKey },
  { name: '0015-status-lists', ...statusLists },
  { name: '0016-webhooks', ...webhooks },
  { name: '0017-kyc', ...kyc },
  { name: '0018-x509-crls', ...x509Crls },
  { name: '0019-offer-pin-generation', ...offerPinGeneration },
  { name: '0020-status-list-tokens', ...statusListTokens },
  { name: '0021-webhook-outbox', ...webhookOutbox },
  { name: '0022-interaction-events', ...interactionEvents },
  { name: '0025-issuance-indexes', ...issuanceIndexes },
  { name: '0027-webhook-outbox-purge', ...webhookOutboxPurge },
];

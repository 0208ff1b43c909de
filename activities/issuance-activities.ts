import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Config } from '../src/config/config';
import { CredentialInputError } from '../src/credentials/credential-errors';
import { holderDidJwk, holderKeyThumbprint, parseHolderJwk } from '../src/credentials/holder-key';
import type { IssuanceService } from '../src/credentials/issuance-service';
import type { InteractionEventsRepository } from '../src/db/interaction-events-repository';
import type { IssuedCredentialRecord, IssuedCredentialsRepository } from '../src/db/issued-credentials-repository';
import type { StatusListsRepository } from '../src/db/status-lists-repository';
import { statusListUri, w3cStatusListUri } from '../src/credentials/status-list-publisher';
import { offeredContentHash } from '../src/oid4vci/offer-preparation';
import type { OfferSecrets } from '../src/oid4vci/offer-secrets';
import { OfferFailure } from '../workflows/contracts/credential-offer';
import { bitstringStatusListEntry } from '../src/credentials/vc20-jose-issuer';
import { issuedCredentialRef, W3C_WALLET_PURPOSES } from '../src/db/status-lists-repository';
import type { WebhookOutbox } from '../src/db/webhook-outbox-repository';
import { credentialIssuedEvent, offerRedeemedEvent } from '../src/webhooks/offer-events';

export interface IssuanceActivityDeps {
  config: Config;
  issuance: IssuanceService;
  issued: IssuedCredentialsRepository;
  secrets: OfferSecrets;
  statusLists: StatusListsRepository;
  outbox: WebhookOutbox;
  interactionEvents: InteractionEventsRepository;
}

const toDate = (v: number | string | Date | undefined): Date | null => (v === undefined ? null : typeof v === 'number' ? new Date(v * 1000) : new Date(v));

export const createIssuanceActivities = ({ config, issuance, issued, secrets, statusLists, outbox, interactionEvents }: IssuanceActivityDeps) => ({
  /**
   * Signs one credential of the offer's document per holder key (OpenID4VCI 1.0 batch issuance),
   * records them and parks them, sealed, for the waiting /credential request. Returns only pickup
   * ids, so no credential (and no claim) enters the workflow history.
   *
   * Workflows trust whoever sends them Updates, so this is where the redemption is checked, with the
   * key the workflow cannot hold: the gateway's redemption proof for this offer, the caller being
   * the offer's own workflow while the offer is open, the configured cap on credentials per offer
   * (counted in PostgreSQL), and the document content the offer was made for. Each refusal is
   * permanent: a retry would not change it.
   *
   * For a type with a seed 002 interaction the claims are the third party's answer, stored with
   * `interactionEventId` (interaction_events, migration 0022): the event must be this offer's, for
   * these holder keys, and answered with data; it is then marked collected.
   */
  async issueOfferCredentials({ offerId, holderJwks, redemptionProof, interactionEventId }: { offerId: string; holderJwks: Record<string, unknown>[]; redemptionProof?: string | undefined; interactionEventId?: string }): Promise<{ pickupIds: string[] }> {
    const { workflowExecution, activityId } = Context.current().info;
    if (!workflowExecution) throw ApplicationFailure.nonRetryable('issuance runs for an offer workflow only', OfferFailure.RedemptionNotProven);
    // The run and the (local) activity's id name this request: its retries derive the same record and pickup ids.
    const requestKey = `${workflowExecution.runId}/${activityId}`;
    const inputs = await issued.issuanceInputs(offerId, { requestKey, count: holderJwks.length });
    if (!inputs) throw ApplicationFailure.nonRetryable(`offer ${offerId} not found`, OfferFailure.OfferNotFound);
    const { offer, document: doc } = inputs;
    if (!secrets.redemptionProofMatches(offerId, redemptionProof) || workflowExecution.workflowId !== offer.workflow_id || offer.closed_at !== null) {
      throw ApplicationFailure.nonRetryable('the offer was not redeemed through the token endpoint (no valid redemption proof), or it is closed', OfferFailure.RedemptionNotProven);
    }
    const cap = config.file.issuer.pre_authorized_code.max_credentials_per_offer;
    if (inputs.issued + holderJwks.length > cap) throw ApplicationFailure.nonRetryable(`the offer may issue ${cap} credential(s) and has issued ${inputs.issued}`, OfferFailure.CredentialLimitReached);
    const key = { authentic_source: offer.authentic_source, vct: offer.vct, document_id: offer.document_id };
    if (!doc) throw ApplicationFailure.nonRetryable('the document was deleted', OfferFailure.DocumentGone);
    if (offer.document_hash === null || offeredContentHash(doc) !== offer.document_hash) {
      throw ApplicationFailure.nonRetryable('the document changed after the offer was made: a new notification offers the new version', OfferFailure.DocumentChanged);
    }
    if (inputs.revoked) throw ApplicationFailure.nonRetryable('the document was revoked', OfferFailure.DocumentGone);
    const type = config.credentialTypes.get(offer.vct);
    if (!type) throw ApplicationFailure.nonRetryable(`${offer.vct} is no longer a configured credential type`, OfferFailure.CredentialInput);
    let documentData = doc.document_data;
    if (type.interaction || interactionEventId !== undefined) {
      const event = interactionEventId !== undefined ? await interactionEvents.byId(interactionEventId) : undefined;
      // jsonb reorders members: keys are compared by their RFC 7638 thumbprints.
      const thumbprints = (jwks: Record<string, unknown>[]) => jwks.map((jwk) => holderKeyThumbprint(parseHolderJwk(jwk))).join(',');
      const sameKeys = event !== undefined && thumbprints(event.holder_jwks) === thumbprints(holderJwks);
      if (!event || event.offer_id !== offerId || !sameKeys || (event.state !== 'issued' && event.state !== 'collected') || !event.claims) {
        throw ApplicationFailure.nonRetryable('this type is issued only from its third party\'s answer to this request (seed 002 interaction)', OfferFailure.InteractionRequired);
      }
      documentData = event.claims;
    }
    // Status-list indices, one per credential, held by this request: a retry after a crash gets the
    // same ones back; a failure below releases them, so no index is burnt (status-lists-repository.ts).
    // A W3C credential has an index in a revocation and in a suspension list (Bitstring Status List
    // §2.1): allocations[i] is credential i's revocation index, allocations[n + i] its suspension one.
    const family = type.format === 'jwt_vc_json' || type.format === 'ldp_vc' ? 'w3c' : 'token';
    const purposes = family === 'w3c' ? W3C_WALLET_PURPOSES : undefined;
    const allocations = await statusLists.reserve(family, requestKey, holderJwks.length, purposes);
    const validity = { ...(doc.meta.credential_valid_from !== undefined ? { validFrom: doc.meta.credential_valid_from } : {}), ...(doc.meta.credential_valid_to !== undefined ? { validUntil: doc.meta.credential_valid_to } : {}) };
    const credentials: string[] = [];
    const records: IssuedCredentialRecord[] = [];
    const statusUris: string[] = [];
    try {
      for (const [i, holderJwk] of holderJwks.entries()) {
        const allocation = allocations[i]!;
        const uri = statusListUri(config.issuerUrl, allocation.family, allocation.purpose, allocation.number);
        const status = { status_list: { idx: allocation.idx, uri } };
        // The list the credential names (ldp_vc: the Data Integrity form), as its credential.issued event reports it (the revocation list for a W3C one).
        const securing = type.format === 'ldp_vc' ? 'data-integrity' : 'jose';
        statusUris.push(type.format === 'ldp_vc' ? w3cStatusListUri(config.issuerUrl, allocation.purpose, allocation.number, securing) : uri);
        // W3C: one BitstringStatusListEntry per purpose, each naming its list in the credential's own proof format.
        const w3cStatus = () =>
          (purposes ?? []).map((statusPurpose, p) => {
            const a = allocations[p * holderJwks.length + i]!;
            return bitstringStatusListEntry({ statusListCredential: w3cStatusListUri(config.issuerUrl, a.purpose, a.number, securing), statusListIndex: a.idx, statusPurpose });
          });
        const record = { offer_id: offerId, ...key, holder_key_thumbprint: holderKeyThumbprint(parseHolderJwk(holderJwk)), status_list_id: allocation.listId, status_index: allocation.idx };
        switch (type.format) {
          case 'mso_mdoc': {
            const made = await issuance.makeMdoc({ docType: offer.vct, documentData, holderJwk, ...validity, status });
            credentials.push(made.credential);
            records.push({ ...record, format: type.format, valid_from: made.validFrom, valid_until: made.validUntil });
            break;
          }
          case 'jwt_vc_json': {
            const credentialStatus = w3cStatus();
            const made = await issuance.makeVc20({ types: [offer.vct], documentData, holderJwk, ...validity, credentialStatus });
            credentials.push(made.credential);
            records.push({ ...record, format: type.format, valid_from: toDate(made.validFrom), valid_until: toDate(made.validUntil) });
            break;
          }
          case 'ldp_vc': {
            // The document with its Data Integrity proof (ecdsa-rdfc-2019), bound to the holder by did:jwk;
            // claims no context defines expand under the VC 2.0 @vocab; its status list is the Data Integrity form. Parked as JSON text.
            const credentialStatus = w3cStatus();
            const made = await issuance.makeVc20DataIntegrity({ types: [offer.vct], documentData, subjectDid: holderDidJwk(parseHolderJwk(holderJwk)), ...validity, credentialStatus, undefinedTerms: true });
            credentials.push(JSON.stringify(made.credential));
            records.push({ ...record, format: type.format, valid_from: toDate(made.validFrom), valid_until: toDate(made.validUntil) });
            break;
          }
          case 'dc+sd-jwt': {
            const made = await issuance.makeSdJwt({ vct: offer.vct, documentData, holderJwk, ...validity, status });
            credentials.push(made.credential);
            records.push({ ...record, format: type.format, valid_from: toDate(made.validFrom), valid_until: toDate(made.validUntil) });
            break;
          }
          default:
            throw new Error(`no issuer for format ${(type.format satisfies never) as string}`);
        }
      }
      const offerIds = { offer_id: offerId, workflow_id: offer.workflow_id, ...key };
      const pickupIds = await issued.recordAndPark(requestKey, records, credentials, async (trx, recordIds) => {
        // Each credential's ref once per purpose, in the order reserve gave the indices.
        const refs = recordIds.map(issuedCredentialRef);
        await statusLists.markIssued(trx, requestKey, (purposes ?? [undefined]).flatMap(() => refs));
        // The webhook events in the same transaction: the redemption first (if the gateway died before
        // recording it, this proven redemption records it now), then one per credential (ids, never the credential).
        await outbox.record(trx, offerRedeemedEvent(offerIds));
        for (const [i, id] of recordIds.entries()) {
          const r = records[i]!;
          await outbox.record(trx, credentialIssuedEvent(offerIds, { id, format: r.format, credential_configuration_id: offer.vct, status_list_uri: statusUris[i] ?? null, status_index: r.status_index ?? null }));
        }
      });
      if (interactionEventId !== undefined) await interactionEvents.markCollected(interactionEventId);
      return { pickupIds };
    } catch (err) {
      // Nothing was recorded: the indices go back to the free ones (issued ones are never released).
      await statusLists.release(requestKey);
      // Bad data or a bad key will not sign on a retry either.
      if (err instanceof CredentialInputError) throw ApplicationFailure.nonRetryable(err.message, OfferFailure.CredentialInput);
      throw err;
    }
  },
});

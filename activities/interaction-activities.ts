import { holderDidJwk, parseHolderJwk } from '../src/credentials/holder-key';
import type { Config } from '../src/config/config';
import { didWebFromUrl } from '../src/credentials/did-web';
import type { DocumentsRepository } from '../src/db/documents-repository';
import type { InteractionEventsRepository, InteractionEventState } from '../src/db/interaction-events-repository';
import type { OffersRepository } from '../src/db/offers-repository';
import { castCredentialValues, credentialOfSchema, credentialValues, isPostponement } from '../src/oid4vci/interaction-values';
import type { InteractionOutcome } from '../workflows/contracts/interaction';
import { seed002AuthHeaders, type WebhookDeps } from './webhook-activities';

export interface InteractionActivityDeps {
  config: Config;
  fetch: typeof fetch;
  offers: OffersRepository;
  documents: DocumentsRepository;
  interactionEvents: InteractionEventsRepository;
  webhookSigner: WebhookDeps['webhookSigner'];
}

const outcomeOf = (state: InteractionEventState): InteractionOutcome => (state === 'issued' || state === 'collected' ? 'issued' : state === 'postponed' ? 'postponed' : 'failed');

export const createInteractionActivities = ({ config, fetch, offers, documents, interactionEvents, webhookSigner }: InteractionActivityDeps) => {
  const serviceDid = didWebFromUrl(config.issuerUrl);
  return {
    /**
     * Seed 002 "Interaction Webhook": POSTs `{publicServiceDid, subscriberConnectDid, actionId,
     * actionInstanceId, actionEventId, actionParams, receivedCredentials}` to the type's third party
     * and stores its answer in `interaction_events`: filled `issuedCredentials` cast to the type's
     * schema → `issued`; empty fields → `postponed`; an error answer, a non-2xx, a timeout, an
     * answer that names another event or does not cast → `failed`. Returns the outcome only, so no
     * claim enters the workflow history. A retry finds the row already answered and returns its outcome.
     */
    async callInteraction({ actionEventId, offerId, holderJwks }: { actionEventId: string; offerId: string; holderJwks: Record<string, unknown>[] }): Promise<{ outcome: InteractionOutcome }> {
      const offer = await offers.byId(offerId);
      if (!offer) throw new Error(`offer ${offerId} not found`);
      const subscriberConnectDid = holderDidJwk(parseHolderJwk(holderJwks[0]));
      await interactionEvents.create({ action_event_id: actionEventId, offer_id: offerId, workflow_id: offer.workflow_id, authentic_source: offer.authentic_source, vct: offer.vct, document_id: offer.document_id, subscriber_connect_did: subscriberConnectDid, holder_jwks: holderJwks });
      const row = await interactionEvents.byId(actionEventId);
      if (!row) throw new Error(`interaction event ${actionEventId} was not recorded`);
      if (row.state !== 'calling') return { outcome: outcomeOf(row.state) };
      const fail = async (reason: string) => {
        await interactionEvents.answer(actionEventId, 'calling', 'failed', { reason });
        return { outcome: 'failed' as const };
      };
      const interaction = config.credentialTypes.get(offer.vct)?.interaction;
      if (!interaction) return fail(`${offer.vct} has no interaction configured`);
      const doc = await documents.get({ authentic_source: offer.authentic_source, vct: offer.vct, document_id: offer.document_id });
      if (!doc) return fail('the document was deleted');
      const schemaId = interaction.schema_id ?? offer.vct;
      const body = Buffer.from(
        JSON.stringify({
          publicServiceDid: serviceDid,
          subscriberConnectDid,
          actionId: interaction.action_id,
          actionInstanceId: offerId,
          actionEventId,
          actionParams: interaction.action_params,
          receivedCredentials: [{ credentialId: offer.document_id, schemaId, fields: credentialValues(doc.document_data, interaction.fields) }],
        }),
        'utf8',
      );
      const headers = { 'content-type': 'application/json', 'user-agent': 'durable-issuer-interactions', ...(await seed002AuthHeaders(interaction, body, serviceDid, webhookSigner)) };
      let answer: Record<string, unknown>;
      try {
        const response = await fetch(interaction.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(interaction.timeout * 1000), redirect: 'error' });
        if (!response.ok) {
          await response.body?.cancel();
          return fail(`the third party answered HTTP ${response.status}`);
        }
        answer = (await response.json()) as Record<string, unknown>;
      } catch (err) {
        return fail(`the third party did not answer: ${(err as Error).name === 'TimeoutError' ? `no answer within ${interaction.timeout} s` : (err as Error).message}`);
      }
      if (answer === null || typeof answer !== 'object' || answer.error !== undefined) return fail('the third party failed the event');
      if (answer.actionEventId !== actionEventId || (answer.subscriberConnectDid !== undefined && answer.subscriberConnectDid !== subscriberConnectDid)) return fail('the answer is not about this event');
      if (isPostponement(answer.issuedCredentials)) {
        await interactionEvents.answer(actionEventId, 'calling', 'postponed');
        return { outcome: 'postponed' };
      }
      const cast = castCredentialValues(credentialOfSchema(answer.issuedCredentials, schemaId)?.fields, interaction.fields);
      if (!cast.ok) return fail(`the answer does not fit the credential schema: ${cast.error}`);
      await interactionEvents.answer(actionEventId, 'calling', 'issued', { claims: cast.claims });
      return { outcome: 'issued' };
    },

    /** A postponed event whose callback did not come in time is failed, unless a callback just answered it (then its outcome). */
    async expireInteraction({ actionEventId }: { actionEventId: string }): Promise<{ outcome: InteractionOutcome }> {
      await interactionEvents.answer(actionEventId, 'postponed', 'failed', { reason: 'the third party did not call back in time' });
      const row = await interactionEvents.byId(actionEventId);
      return { outcome: row ? outcomeOf(row.state) : 'failed' };
    },
  };
};

import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Request } from 'express';
import { jwtVerify } from 'jose';
import { z } from 'zod';
import type { Config } from '../../config/config';
import { didWebFromUrl } from '../../credentials/did-web';
import type { InteractionEventRecord, InteractionEventsRepository } from '../../db/interaction-events-repository';
import { castCredentialValues, credentialOfSchema, isPostponement } from '../../oid4vci/interaction-values';
import { offerDeepLink } from '../../oid4vci/offer-preparation';
import type { OfferSecrets } from '../../oid4vci/offer-secrets';
import type { OfferService } from '../../oid4vci/offer-service';
import { interactionCallbackSignal, interactionWorkflowId } from '../../../workflows/contracts/interaction';
import { InteractionEventAnsweredError, InteractionEventNotFoundError, InvalidFormatError, RouteNotFoundError, UnauthorizedError } from '../api-errors';
import { type AnyRouteSpec, defineRoute } from '../route-registry';

const Field = z.object({ name: z.string().min(1).max(200), value: z.string().max(10_000) });
const CredentialValues = z.object({ credentialId: z.string().max(500).optional(), schemaId: z.string().max(500).optional(), fields: z.array(Field).max(200) }).meta({ id: 'WebhookCredentialValuesDTO' });

/** Seed 002 "Credential Issue Webhook": for an event the third party knows (`actionEventId`), or a push to a holder (`subscriberConnectDid` only). */
const CredentialsIssued = z
  .object({
    serviceDid: z.string().max(300).optional(),
    subscriberConnectDid: z.string().min(1).max(2000),
    actionEventId: z.string().min(1).max(200).optional(),
    issuedCredentials: z.array(CredentialValues).max(20).default([]),
  })
  .meta({ id: 'InteractionCredentialsIssued' });
/** Seed 002 "Credential Issuing Failure Webhook". */
const CredentialsIssuingFailed = z
  .object({
    serviceDid: z.string().max(300).optional(),
    subscriberConnectDid: z.string().min(1).max(2000),
    actionEventId: z.string().min(1).max(200),
    reason: z.string().max(500).optional(),
  })
  .meta({ id: 'InteractionCredentialsIssuingFailed' });
const CallbackAnswer = z
  .object({
    serviceDid: z.string(),
    subscriberConnectDid: z.string(),
    actionEventId: z.string().optional(),
    accepted: z.literal(true),
    deepLink: z.string().optional().meta({ description: 'For a push: the deep link of the offer started for the holder (OpenID4VCI 1.0 §4.1.3)' }),
  })
  .meta({ id: 'InteractionCallbackAnswer' });

export interface InteractionCallbackDeps {
  config: Config;
  interactionEvents: InteractionEventsRepository;
  temporal: Client;
  offerService: Pick<OfferService, 'start'>;
  secrets: Pick<OfferSecrets, 'offerUriToken'>;
}

/**
 * Seed 002's inbound callbacks (docs/conventions.md, Interactions): `POST
 * /service/:serviceDid/webhook-accept/credentials-issued` (also the seed's spelling
 * `credendials-issued`) and `.../credentials-issuing-failed`. The caller is the third party of a
 * credential type's interaction, authenticated by `X-Body-Signature` (SHA3-256 over the exact body
 * bytes, base64) or a Bearer JWT with `aud` our service DID, each verified with the
 * `caller_public_key` registered for that type. A callback for a postponed event moves its row (one
 * UPDATE decides) and signals the waiting interaction workflow; a push for a known holder without a
 * pending event starts an offer for the holder's document and answers with its deep link. An
 * unknown event is 404, one that is not postponed (answered, called back, timed out) 409.
 */
export function interactionCallbackRoutes({ config, interactionEvents, temporal, offerService, secrets }: InteractionCallbackDeps): AnyRouteSpec[] {
  const did = didWebFromUrl(config.issuerUrl);
  const ours = (serviceDid: string) => serviceDid === did || serviceDid === decodeURIComponent(did);
  /** Every registered caller key, by the vcts whose interaction names it. */
  const callerKeys = new Map<string, { key: KeyObject; vcts: Set<string> }>();
  for (const [vct, type] of config.credentialTypes) {
    const pem = type.interaction?.caller_public_key;
    if (!pem) continue;
    const entry = callerKeys.get(pem) ?? { key: createPublicKey(pem), vcts: new Set<string>() };
    entry.vcts.add(vct);
    callerKeys.set(pem, entry);
  }

  /** The vcts whose third party signed this request; 401 when none did. */
  const authenticate = async (req: Request): Promise<Set<string>> => {
    const raw = (req as { rawBody?: Buffer }).rawBody ?? Buffer.alloc(0);
    const signature = req.get('x-body-signature');
    const bearer = /^Bearer (\S+)$/.exec(req.get('authorization') ?? '')?.[1];
    const vcts = new Set<string>();
    for (const { key, vcts: of } of callerKeys.values()) {
      let ok = false;
      if (signature) {
        try {
          ok = verify('sha3-256', raw, key, Buffer.from(signature, 'base64'));
        } catch {
          ok = false;
        }
      }
      if (!ok && bearer) {
        try {
          const { payload } = await jwtVerify(bearer, key, { audience: [did, decodeURIComponent(did)], maxTokenAge: '5m' });
          // A body hash in the token (as our own webhooks carry) must be this body's.
          ok = payload.body_sha3_256 === undefined || payload.body_sha3_256 === createHash('sha3-256').update(raw).digest('base64url');
        } catch {
          ok = false;
        }
      }
      if (ok) for (const vct of of) vcts.add(vct);
    }
    if (vcts.size === 0) throw new UnauthorizedError('X-Body-Signature or Bearer JWT (aud: our service DID) by a registered interaction key required');
    return vcts;
  };

  /** The event the callback names: of a type whose third party signed it, about the same holder. */
  const eventOf = async (actionEventId: string, subscriberConnectDid: string, vcts: Set<string>): Promise<InteractionEventRecord> => {
    const event = await interactionEvents.byId(actionEventId);
    if (!event || !vcts.has(event.vct)) throw new InteractionEventNotFoundError('No interaction event has that actionEventId', { actionEventId });
    if (event.subscriber_connect_did !== subscriberConnectDid) throw new InvalidFormatError('subscriberConnectDid is not the holder of that event');
    return event;
  };
  const signal = (actionEventId: string, outcome: 'issued' | 'failed') => temporal.workflow.getHandle(interactionWorkflowId(actionEventId)).signal(interactionCallbackSignal, { outcome });

  const issued = (path: string, operationId: string) =>
    defineRoute({
      method: 'post',
      path,
      operationId,
      summary: 'Seed 002 "Credential Issue Webhook": the third party answers a postponed interaction with the credential\'s data, or pushes a credential to a holder it knows',
      tags: ['Webhooks'],
      security: 'none',
      params: z.object({ serviceDid: z.string().min(1).max(300) }),
      body: CredentialsIssued,
      response: CallbackAnswer,
      errors: [400, 401, 404, 409],
      handler: async ({ params, body, req }) => {
        if (!ours(params.serviceDid!)) throw new RouteNotFoundError('No such service', { path: req.path });
        const vcts = await authenticate(req);
        const answer = { serviceDid: did, subscriberConnectDid: body.subscriberConnectDid, accepted: true as const };
        if (body.actionEventId === undefined) {
          // A push: the holder's latest event of a type this caller serves names the document to offer again.
          const latest = await interactionEvents.latestForHolder(body.subscriberConnectDid);
          if (!latest || !vcts.has(latest.vct)) throw new InteractionEventNotFoundError('No interaction with that subscriberConnectDid');
          if (latest.state === 'postponed') throw new InvalidFormatError('The holder has a pending event: answer it with its actionEventId');
          const started = await offerService.start({ authentic_source: latest.authentic_source, vct: latest.vct, document_id: latest.document_id });
          if (!started.ok) throw new InteractionEventAnsweredError(`No offer can be made for the holder's document (${started.reason})`);
          return { ...answer, deepLink: offerDeepLink(config.issuerUrl, secrets, started.offerId) };
        }
        const event = await eventOf(body.actionEventId, body.subscriberConnectDid, vcts);
        const interaction = config.credentialTypes.get(event.vct)?.interaction;
        if (!interaction) throw new InteractionEventNotFoundError('The event\'s credential type has no interaction any more');
        if (event.state !== 'postponed') throw new InteractionEventAnsweredError('The event is not waiting for an answer', { state: event.state });
        if (isPostponement(body.issuedCredentials)) throw new InvalidFormatError('issuedCredentials carries no fields: nothing to issue');
        const cast = castCredentialValues(credentialOfSchema(body.issuedCredentials, interaction.schema_id ?? event.vct)?.fields, interaction.fields);
        if (!cast.ok) throw new InvalidFormatError(`issuedCredentials does not fit the credential schema: ${cast.error}`);
        if (!(await interactionEvents.answer(event.action_event_id, 'postponed', 'issued', { claims: cast.claims, byCallback: true }))) throw new InteractionEventAnsweredError('The event is not waiting for an answer');
        await signal(event.action_event_id, 'issued');
        return { ...answer, actionEventId: event.action_event_id };
      },
    });

  return [
    issued('/service/:serviceDid/webhook-accept/credentials-issued', 'interactionCredentialsIssued'),
    // The seed's own spelling of the path.
    issued('/service/:serviceDid/webhook-accept/credendials-issued', 'interactionCredendialsIssued'),
    defineRoute({
      method: 'post',
      path: '/service/:serviceDid/webhook-accept/credentials-issuing-failed',
      operationId: 'interactionCredentialsIssuingFailed',
      summary: 'Seed 002 "Credential Issuing Failure Webhook": the third party refuses a postponed interaction; the wallet\'s deferred request is denied',
      tags: ['Webhooks'],
      security: 'none',
      params: z.object({ serviceDid: z.string().min(1).max(300) }),
      body: CredentialsIssuingFailed,
      response: CallbackAnswer,
      errors: [400, 401, 404, 409],
      handler: async ({ params, body, req }) => {
        if (!ours(params.serviceDid!)) throw new RouteNotFoundError('No such service', { path: req.path });
        const vcts = await authenticate(req);
        const event = await eventOf(body.actionEventId, body.subscriberConnectDid, vcts);
        if (!(await interactionEvents.answer(event.action_event_id, 'postponed', 'failed', { reason: body.reason ?? 'refused by the third party', byCallback: true }))) {
          throw new InteractionEventAnsweredError('The event is not waiting for an answer', { state: event.state });
        }
        await signal(event.action_event_id, 'failed');
        return { serviceDid: did, subscriberConnectDid: body.subscriberConnectDid, actionEventId: event.action_event_id, accepted: true as const };
      },
    }),
  ];
}

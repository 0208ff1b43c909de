import express, { type Router } from 'express';
import { z } from 'zod';
import type { Config } from '../../config/config';
import { InvalidRequest } from '../../oid4vci/oauth-errors';
import type { OfferService } from '../../oid4vci/offer-service';
import type { AuthorizeAccessToken } from './access-token-auth';
import { credentialsAnswer } from './credential-endpoint';

/** OpenID4VCI 1.0 §9.1: the Deferred Credential Request. */
const DeferredCredentialRequest = z.object({ transaction_id: z.string().min(1).max(256) });

/**
 * The deferred credential endpoint (OpenID4VCI 1.0 §9), for credential types whose third party
 * postponed its answer (seed 002 interaction): the access token (Bearer or DPoP, as at the credential
 * endpoint) → the `transaction_id` of one of its offer's events → the credentials (§9.2), or, until
 * the third party's callback arrived, HTTP 202 with the same `transaction_id` and `interval` (§9.2);
 * `invalid_transaction_id` for an unknown or collected id; `credential_request_denied` when the third
 * party refused or never answered.
 */
export function deferredCredentialEndpoint({ config, offerService, authorize }: { config: Config; offerService: OfferService; authorize: AuthorizeAccessToken }): Router {
  const router = express.Router();
  router.post('/deferred_credential', express.json({ limit: '16kb' }), async (req, res) => {
    const grant = await authorize(req);
    const parsed = DeferredCredentialRequest.safeParse(req.body);
    if (!parsed.success) throw new InvalidRequest('The body must be {"transaction_id": "..."}');
    const outcome = await offerService.collectDeferred(grant, parsed.data.transaction_id);
    if (outcome.pending) return void res.status(202).set('Cache-Control', 'no-store').json({ transaction_id: parsed.data.transaction_id, interval: outcome.interval });
    // §9.2 makes notification_id optional here; it is left out, as @openid4vc/openid4vci (the
    // wallet library the tests use, and its users) refuses a deferred response that carries one.
    const { credentials } = credentialsAnswer(config, outcome.vct, outcome.credentials, grant.offerId);
    res.set('Cache-Control', 'no-store').json({ credentials });
  });
  return router;
}

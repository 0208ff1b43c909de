import express, { type Router } from 'express';
import { z } from 'zod';
import type { Config } from '../../config/config';
import { parseHolderJwk } from '../../credentials/holder-key';
import type { AccessTokensRepository, NoncesRepository } from '../../db/nonces-repository';
import { InvalidCredentialRequest, InvalidNonce, InvalidProof } from '../../oid4vci/oauth-errors';
import type { OfferService } from '../../oid4vci/offer-service';
import { verifyProofJwt } from '../../oid4vci/proof-jwt';
import { MAX_BATCH } from '../../../workflows/contracts/credential-offer';
import { type AuthorizeAccessToken, presentedAccessToken } from './access-token-auth';
import { ISSUANCE_WINDOW_SECONDS } from '../../oid4vci/offer-preparation';

export interface CredentialEndpointDeps {
  config: Config;
  offerService: OfferService;
  nonces: NoncesRepository;
  accessTokens: Pick<AccessTokensRepository, 'extend'>;
  authorize: AuthorizeAccessToken;
}

/** OpenID4VCI 1.0 §8.2, with batch proofs (`proofs.jwt`, §8.2.1.1) up to the advertised batch size. */
const CredentialRequest = z.object({
  credential_configuration_id: z.string().min(1).max(512),
  proofs: z.object({ jwt: z.array(z.string().min(1).max(16_384)).min(1).max(MAX_BATCH) }).optional(),
});

/**
 * The credential endpoint (OpenID4VCI 1.0 §8) as named steps: the access token → parse → verify each
 * key proof and spend its c_nonce (§7) → one credential per holder key from the offer's workflow.
 */
export function credentialEndpoint({ config, offerService, nonces, accessTokens, authorize }: CredentialEndpointDeps): Router {
  const router = express.Router();

  /** Step: each proof verified, its nonce spent once (proofs of one batch usually share one), its key one a credential can be bound to. */
  const holderKeysOf = async (proofs: string[]): Promise<Record<string, unknown>[]> => {
    const holderJwks: Record<string, unknown>[] = [];
    const spent = new Map<string, 'ok' | string>();
    for (const jwt of proofs) {
      const verified = await verifyProofJwt(jwt, { audience: config.issuerUrl });
      if (!verified.success) throw verified.error === 'invalid_nonce' ? new InvalidNonce(verified.description) : new InvalidProof(verified.description);
      if (!verified.nonce) throw new InvalidNonce('The proof carries no nonce: get one from the nonce endpoint');
      const outcome = spent.get(verified.nonce) ?? (await nonces.consume(verified.nonce));
      spent.set(verified.nonce, outcome);
      if (outcome !== 'ok') throw new InvalidNonce(`The proof's nonce is ${outcome}: get a fresh one from the nonce endpoint`);
      // §8.3.1.2: a key a credential cannot be bound to is invalid_proof.
      try {
        parseHolderJwk(verified.holderJwk);
      } catch {
        throw new InvalidProof('The proof key type cannot be bound to a credential: use an EC P-256/P-384/P-521 or Ed25519 key');
      }
      holderJwks.push(verified.holderJwk as Record<string, unknown>);
    }
    return holderJwks;
  };

  router.post('/credential', express.json({ limit: '256kb' }), async (req, res) => {
    const grant = await authorize(req);
    const parsed = CredentialRequest.safeParse(req.body);
    if (!parsed.success) throw new InvalidCredentialRequest(parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const proofs = parsed.data.proofs?.jwt;
    if (!proofs) throw new InvalidProof("proofs.jwt is required: the credential is bound to the holder's key");
    const holderJwks = await holderKeysOf(proofs);
    const outcome = await offerService.issue(grant, parsed.data.credential_configuration_id, holderJwks);
    // §8.3: a deferred answer is 202 with the transaction_id and the polling interval (seed 002 postponed interaction).
    if ('transactionId' in outcome) {
      // §9.1: the wallet collects it with this access token, so it lives as long as the offer waits for the third party.
      const interaction = config.credentialTypes.get(parsed.data.credential_configuration_id)?.interaction;
      if (interaction) await accessTokens.extend(presentedAccessToken(req)!, interaction.callback_timeout + ISSUANCE_WINDOW_SECONDS);
      return void res.status(202).set('Cache-Control', 'no-store').json({ transaction_id: outcome.transactionId, interval: outcome.interval });
    }
    res.set('Cache-Control', 'no-store').json(credentialsAnswer(config, parsed.data.credential_configuration_id, outcome.credentials, grant.offerId));
  });
  return router;
}

/** §8.3, §9.2: each credential is a string, or a JSON object for formats whose credential is one (ldp_vc, Appendix A.1.2). */
export function credentialsAnswer(config: Config, vct: string, credentials: string[], notificationId: string) {
  const asObject = config.credentialTypes.get(vct)?.format === 'ldp_vc';
  return { credentials: credentials.map((credential) => ({ credential: asObject ? (JSON.parse(credential) as unknown) : credential })), notification_id: notificationId };
}

import express, { type Request, type Response, type Router } from 'express';
import type { Client } from '@temporalio/client';
import type { Config } from '../../config/config';
import type { OffersRepository } from '../../db/offers-repository';
import type { OfferSecrets } from '../../oid4vci/offer-secrets';
import { PIN_LENGTH } from '../../oid4vci/offer-secrets';
import { type RedeemResult, redeemOfferUpdate } from '../../../workflows/credential-offer';
import { authorizationServerMetadata, credentialIssuerMetadata } from './issuer-metadata';

const PRE_AUTHORIZED_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:pre-authorized_code';
const ACCESS_TOKEN_TTL_SECONDS = 600;

export interface WalletDeps {
  config: Config;
  offers: OffersRepository;
  secrets: OfferSecrets;
  temporal: Client;
  accessTokens: { issue(input: { workflowId: string; offerId: string; ttlSeconds: number }): Promise<{ token: string; expiresAt: Date }> };
}

/** OAuth-style error body (RFC 6749 §5.2), which wallets expect from these endpoints. */
function oauthError(res: Response, status: number, error: string, description: string): void {
  res.status(status).set('Cache-Control', 'no-store').json({ error, error_description: description });
}

/**
 * The wallet-facing OpenID4VCI 1.0 endpoints: credential offers by reference (§4.1.3), issuer and
 * authorization-server metadata (§12.2, §12.3) and the token endpoint for the pre-authorized code
 * grant (§6). Bodies of /token are form-encoded (RFC 6749 §4.1.3); JSON is tolerated.
 */
export function walletEndpoints({ config, offers, secrets, temporal, accessTokens }: WalletDeps): Router {
  const router = express.Router();
  const issuerMetadata = credentialIssuerMetadata(config);
  const asMetadata = authorizationServerMetadata(config);

  router.get('/.well-known/openid-credential-issuer', (_req, res) => {
    res.json(issuerMetadata);
  });
  router.get('/.well-known/oauth-authorization-server', (_req, res) => {
    res.json(asMetadata);
  });

  router.get('/offers/:id', async (req: Request, res: Response, next) => {
    try {
      const offerId = String(req.params.id);
      const offer = /^[A-Za-z0-9_-]{16,64}$/.test(offerId) ? await offers.byId(offerId) : undefined;
      if (!offer || offer.state !== 'OFFERED' || offer.expires_at.getTime() <= Date.now()) return oauthError(res, 404, 'invalid_request', 'No such credential offer, or it is no longer valid');
      const grant: Record<string, unknown> = { 'pre-authorized_code': secrets.preAuthorizedCode(offer.offer_id) };
      if (offer.tx_code_required) grant.tx_code = { input_mode: 'numeric', length: PIN_LENGTH, description: 'Enter the PIN sent to your email' };
      res.set('Cache-Control', 'no-store').json({
        credential_issuer: config.issuerUrl,
        credential_configuration_ids: [offer.vct],
        grants: { [PRE_AUTHORIZED_CODE_GRANT]: grant },
      });
    } catch (err) {
      next(err);
    }
  });

  router.post('/token', express.urlencoded({ extended: false, limit: '16kb' }), express.json({ limit: '16kb' }), async (req: Request, res: Response, next) => {
    try {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const grantType = body.grant_type;
      if (grantType !== PRE_AUTHORIZED_CODE_GRANT) return oauthError(res, 400, 'unsupported_grant_type', 'Only the pre-authorized code grant is supported');
      const code = body['pre-authorized_code'];
      if (typeof code !== 'string' || code.length === 0 || code.length > 256) return oauthError(res, 400, 'invalid_request', 'pre-authorized_code is required');
      // Some wallets still send the draft-era `user_pin`; `resource` (RFC 8707) is accepted and ignored.
      const txCode = typeof body.tx_code === 'string' ? body.tx_code : typeof body.user_pin === 'string' ? body.user_pin : undefined;
      const offer = await offers.byCodeHash(secrets.codeHash(code));
      if (!offer || offer.state !== 'OFFERED' || offer.expires_at.getTime() <= Date.now()) return oauthError(res, 400, 'invalid_grant', 'The pre-authorized code is invalid, expired or already used');
      if (offer.tx_code_required && txCode === undefined) return oauthError(res, 400, 'invalid_request', 'tx_code is required for this offer');
      const pinCorrect = !offer.tx_code_required || secrets.pinMatches(offer.offer_id, txCode ?? '');
      let result: RedeemResult;
      try {
        result = await temporal.workflow.getHandle(offer.workflow_id).executeUpdate(redeemOfferUpdate, { args: [{ pinCorrect }] });
      } catch {
        // The offer's workflow has ended (expired or locked): the code is no longer redeemable.
        return oauthError(res, 400, 'invalid_grant', 'The pre-authorized code is invalid, expired or already used');
      }
      if (!result.ok) {
        if (result.reason === 'wrong_pin') return oauthError(res, 400, 'invalid_grant', `Wrong tx_code; ${result.attemptsLeft} attempt(s) left`);
        if (result.reason === 'locked') return oauthError(res, 400, 'invalid_grant', 'Too many wrong tx_codes: the offer is locked');
        return oauthError(res, 400, 'invalid_grant', 'The pre-authorized code is invalid, expired or already used');
      }
      const { token } = await accessTokens.issue({ workflowId: offer.workflow_id, offerId: offer.offer_id, ttlSeconds: ACCESS_TOKEN_TTL_SECONDS });
      res.set('Cache-Control', 'no-store').json({ access_token: token, token_type: 'Bearer', expires_in: ACCESS_TOKEN_TTL_SECONDS });
    } catch (err) {
      next(err);
    }
  });

  return router;
}

import express, { type Request, type Router } from 'express';
import { z } from 'zod';
import type { Config } from '../../config/config';
import type { Db } from '../../db/knex';
import type { AccessTokensRepository } from '../../db/nonces-repository';
import { verifyDpopProof } from '../../oid4vci/dpop';
import { InvalidDpopProof, InvalidRequest, UnsupportedGrantType } from '../../oid4vci/oauth-errors';
import type { OfferService } from '../../oid4vci/offer-service';

export const PRE_AUTHORIZED_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:pre-authorized_code';
const ACCESS_TOKEN_TTL_SECONDS = 600;

export interface TokenEndpointDeps {
  config: Config;
  offerService: OfferService;
  accessTokens: AccessTokensRepository;
  /** For DPoP proof jti replay protection. */
  db: Db;
}

/**
 * OpenID4VCI 1.0 §6.1: a token request of the pre-authorized code grant. Some wallets still send the
 * draft-era `user_pin` for `tx_code`; `resource` (RFC 8707) and other parameters are ignored.
 */
const TokenRequest = z.looseObject({
  grant_type: z.string(),
  'pre-authorized_code': z.string().min(1).max(256).optional(),
  tx_code: z.string().max(64).optional(),
  user_pin: z.string().max(64).optional(),
});

/** Step 1: the body, as a pre-authorized code grant (RFC 6749 §5.2 codes for what is wrong). */
function parseTokenRequest(body: unknown): { code: string; txCode: string | undefined } {
  const parsed = TokenRequest.safeParse(body ?? {});
  if (!parsed.success) throw new InvalidRequest(parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  if (parsed.data.grant_type !== PRE_AUTHORIZED_CODE_GRANT) throw new UnsupportedGrantType('Only the pre-authorized code grant is supported');
  const code = parsed.data['pre-authorized_code'];
  if (code === undefined) throw new InvalidRequest('pre-authorized_code is required');
  return { code, txCode: parsed.data.tx_code ?? parsed.data.user_pin };
}

/**
 * The token endpoint (OpenID4VCI 1.0 §6) as named steps: parse → find the offer by its code → the
 * tx_code is present → DPoP (RFC 9449 §5) → redeem through the offer's workflow → issue the access
 * token. The code is checked before the DPoP proof, whose check stores its jti: requests with
 * made-up codes write nothing. Bodies are form-encoded (RFC 6749 §4.1.3); JSON is tolerated.
 */
export function tokenEndpoint({ config, offerService, accessTokens, db }: TokenEndpointDeps): Router {
  const dpopRequired = config.file.issuer.dpop_required;
  const router = express.Router();

  const dpopThumbprint = async (req: Request): Promise<string | undefined> => {
    const proof = req.get('dpop');
    if (!proof) return undefined; // the handler has refused a missing proof already when one is required
    const dpop = await verifyDpopProof(db, proof, { htm: 'POST', htu: `${config.issuerUrl}/token` });
    if (!dpop.success) throw new InvalidDpopProof(dpop.description);
    return dpop.jkt;
  };

  router.post('/token', express.urlencoded({ extended: false, limit: '16kb' }), express.json({ limit: '16kb' }), async (req, res) => {
    const { code, txCode } = parseTokenRequest(req.body);
    if (!req.get('dpop') && dpopRequired) throw new InvalidDpopProof('A DPoP proof is required (RFC 9449)');
    const offer = await offerService.liveByCode(code);
    if (offer.tx_code_required && txCode === undefined) throw new InvalidRequest('tx_code is required for this offer');
    const dpopJkt = await dpopThumbprint(req);
    await offerService.redeem(offer, txCode);
    const { token } = await accessTokens.issue({ workflowId: offer.workflow_id, offerId: offer.offer_id, ttlSeconds: ACCESS_TOKEN_TTL_SECONDS, ...(dpopJkt ? { dpopJkt } : {}) });
    res.set('Cache-Control', 'no-store').json({ access_token: token, token_type: dpopJkt ? 'DPoP' : 'Bearer', expires_in: ACCESS_TOKEN_TTL_SECONDS });
  });
  return router;
}

import type { Request } from 'express';
import type { Config } from '../../config/config';
import type { Db } from '../../db/knex';
import type { AccessTokensRepository } from '../../db/nonces-repository';
import { verifyDpopProof } from '../../oid4vci/dpop';
import { InvalidDpopProof, InvalidToken } from '../../oid4vci/oauth-errors';
import type { OfferGrant } from '../../oid4vci/offer-service';

export interface AccessTokenAuthDeps {
  config: Config;
  accessTokens: AccessTokensRepository;
  /** For DPoP proof jti replay protection. */
  db: Db;
}

/**
 * The access token of a request to the credential or notification endpoint (RFC 6750 §2.1),
 * resolved to its offer. A DPoP-bound token (RFC 9449 §7) must come with the DPoP scheme and a
 * proof by the key it is bound to, over this method, URL and token.
 */
export function accessTokenAuth({ config, accessTokens, db }: AccessTokenAuthDeps) {
  const scheme = config.file.issuer.dpop_required ? 'DPoP' : 'Bearer';
  return async (req: Request): Promise<OfferGrant> => {
    const match = ACCESS_TOKEN_HEADER.exec(req.get('authorization') ?? '');
    const grant = match ? await accessTokens.resolve(match[2]!) : undefined;
    if (!match || !grant) throw new InvalidToken('Missing, unknown or expired access token', scheme);
    if (grant.dpopJkt) {
      const proof = req.get('dpop');
      const dpop = match[1] === 'DPoP' && proof ? await verifyDpopProof(db, proof, { htm: req.method, htu: `${config.issuerUrl}${req.path}`, accessToken: match[2]! }) : undefined;
      if (!dpop?.success || dpop.jkt !== grant.dpopJkt) {
        throw new InvalidDpopProof(dpop && !dpop.success ? dpop.description : 'A DPoP proof by the key the token is bound to is required', 401);
      }
    }
    return { workflowId: grant.workflowId, offerId: grant.offerId };
  };
}

export type AuthorizeAccessToken = ReturnType<typeof accessTokenAuth>;

const ACCESS_TOKEN_HEADER = /^(Bearer|DPoP) ([A-Za-z0-9_-]{20,128})$/;

/** The access token a request presents (call after the request was authorized). */
export const presentedAccessToken = (req: Request): string | undefined => ACCESS_TOKEN_HEADER.exec(req.get('authorization') ?? '')?.[2];

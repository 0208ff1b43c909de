import express, { type Router } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../../config/config';
import type { Db } from '../../db/knex';
import type { AccessTokensRepository, NoncesRepository } from '../../db/nonces-repository';
import { oauthErrorHandler } from '../../oid4vci/oauth-errors';
import type { OfferSecrets } from '../../oid4vci/offer-secrets';
import type { OfferService } from '../../oid4vci/offer-service';
import { accessTokenAuth } from './access-token-auth';
import { credentialEndpoint } from './credential-endpoint';
import { deferredCredentialEndpoint } from './deferred-credential-endpoint';
import { authorizationServerMetadata, credentialIssuerMetadata } from './issuer-metadata';
import { offerPages } from './offer-pages';
import { tokenEndpoint } from './token-endpoint';
import { walletNotificationEndpoint } from './wallet-notification-endpoint';

export interface WalletDeps {
  config: Config;
  logger: Pick<Logger, 'error'>;
  secrets: OfferSecrets;
  offerService: OfferService;
  accessTokens: AccessTokensRepository;
  nonces: NoncesRepository;
  /** For DPoP proof jti replay protection. */
  db: Db;
}

const NONCE_TTL_SECONDS = 300;

/**
 * The wallet-facing OpenID4VCI 1.0 endpoints: issuer and authorization-server metadata (§12.2,
 * §12.3), offers by reference (§4.1.3), token (§6), nonce (§7), credential (§8), deferred credential
 * (§9) and notification (§11). Each endpoint is its own module; their errors are OAuth-style (src/oid4vci/oauth-errors.ts).
 */
export function walletEndpoints(deps: WalletDeps): Router {
  const { config, nonces } = deps;
  const router = express.Router();
  const issuerMetadata = credentialIssuerMetadata(config);
  const asMetadata = authorizationServerMetadata(config);
  router.get('/.well-known/openid-credential-issuer', (_req, res) => {
    res.json(issuerMetadata);
  });
  router.get('/.well-known/oauth-authorization-server', (_req, res) => {
    res.json(asMetadata);
  });
  // A fresh, single-use c_nonce for key proofs.
  router.post('/nonce', async (_req, res) => {
    const { nonce } = await nonces.issue(NONCE_TTL_SECONDS);
    res.set('Cache-Control', 'no-store').json({ c_nonce: nonce });
  });

  const authorize = accessTokenAuth(deps);
  router.use(offerPages(deps));
  router.use(tokenEndpoint(deps));
  router.use(credentialEndpoint({ ...deps, authorize }));
  router.use(deferredCredentialEndpoint({ ...deps, authorize }));
  router.use(walletNotificationEndpoint({ ...deps, authorize }));
  router.use(oauthErrorHandler(deps.logger));
  return router;
}

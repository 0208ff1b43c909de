import express, { type Request, type Response, type Router } from 'express';
import type { Client } from '@temporalio/client';
import type { Config } from '../../config/config';
import type { OffersRepository } from '../../db/offers-repository';
import type { OfferSecrets } from '../../oid4vci/offer-secrets';
import { offerDeepLink } from '../../oid4vci/offer-preparation';
import { offerQrDataUrl } from './offer-qr';
import { CREDENTIAL_LIMIT_REACHED, issueCredentialsUpdate, MAX_BATCH, type RedeemResult, redeemOfferUpdate, walletNotificationSignal } from '../../../workflows/credential-offer';
import { ApplicationFailure, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { z } from 'zod';
import type { IssuedCredentialsRepository } from '../../db/issued-credentials-repository';
import type { AccessTokensRepository, NoncesRepository } from '../../db/nonces-repository';
import { parseHolderJwk } from '../../credentials/holder-key';
import { verifyDpopProof } from '../../oid4vci/dpop';
import { verifyProofJwt } from '../../oid4vci/proof-jwt';
import type { Db } from '../../db/knex';
import { authorizationServerMetadata, credentialIssuerMetadata } from './issuer-metadata';

const PRE_AUTHORIZED_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:pre-authorized_code';
const ACCESS_TOKEN_TTL_SECONDS = 600;

export interface WalletDeps {
  config: Config;
  offers: OffersRepository;
  secrets: OfferSecrets;
  temporal: Client;
  accessTokens: AccessTokensRepository;
  nonces: NoncesRepository;
  issued: Pick<IssuedCredentialsRepository, 'pickUp'>;
  /** For DPoP proof jti replay protection. */
  db: Db;
}

const NONCE_TTL_SECONDS = 300;

const CredentialRequest = z.object({
  credential_configuration_id: z.string().min(1).max(512),
  proofs: z.object({ jwt: z.array(z.string().min(1).max(16_384)).min(1).max(MAX_BATCH) }).optional(),
});

const WalletNotification = z.object({
  notification_id: z.string().min(1).max(256),
  event: z.enum(['credential_accepted', 'credential_failure', 'credential_deleted']),
  event_description: z.string().max(1024).optional(),
});

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The holder's page for an offer: the QR code to scan with a wallet, and the same link to open on this device. */
async function offerPage(config: Config, vct: string, deepLink: string, pinRequired: boolean): Promise<string> {
  const qr = offerQrDataUrl(deepLink, { margin: 2, width: 360 });
  const issuer = escapeHtml(config.file.issuer.name);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your credential from ${issuer}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b;text-align:center}img{width:360px;height:360px;image-rendering:pixelated}a.button{display:inline-block;margin-top:1rem;padding:.75rem 1.25rem;background:#1f5fbf;color:#fff;border-radius:.5rem;text-decoration:none}</style>
</head><body>
<h1>${issuer}</h1>
<p>A credential of type <strong>${escapeHtml(vct)}</strong> is ready for you. Scan the code with your wallet app.</p>
<img id="qr" alt="QR code of the credential offer" src="${qr}">
<p><a class="button" href="${escapeHtml(deepLink)}">Open in a wallet on this device</a></p>
${pinRequired ? '<p>Your wallet will ask for the PIN we sent to your e-mail address.</p>' : ''}
</body></html>`;
}

/** The type of the first ApplicationFailure in an error's cause chain (an Update's failure wraps the activity's). */
function failureType(err: unknown): string | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) if (e instanceof ApplicationFailure && e.type) return e.type;
  return undefined;
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
export function walletEndpoints({ config, offers, secrets, temporal, accessTokens, nonces, issued, db }: WalletDeps): Router {
  const dpopRequired = config.file.issuer.dpop_required;
  const preAuth = config.file.issuer.pre_authorized_code;
  const router = express.Router();
  const issuerMetadata = credentialIssuerMetadata(config);
  const asMetadata = authorizationServerMetadata(config);

  router.get('/.well-known/openid-credential-issuer', (_req, res) => {
    res.json(issuerMetadata);
  });
  router.get('/.well-known/oauth-authorization-server', (_req, res) => {
    res.json(asMetadata);
  });

  /** The open offer whose credential_offer_uri carries `token` (found by the token's hash; the offer id does not open it). */
  const liveOffer = async (token: string) => {
    const offer = /^[A-Za-z0-9_-]{43}$/.test(token) ? await offers.byUriTokenHash(secrets.uriTokenHash(token)) : undefined;
    return offer && offer.state === 'OFFERED' && offer.expires_at.getTime() > Date.now() ? offer : undefined;
  };

  // The holder's page, for a person on a desktop: the QR code to scan with a phone's wallet, and the link.
  router.get('/offers/:token/view', async (req: Request, res: Response, next) => {
    try {
      const offer = await liveOffer(String(req.params.token));
      if (!offer) return res.status(404).type('text').send('This credential offer does not exist or is no longer valid.');
      res.set('Cache-Control', 'no-store').type('html').send(await offerPage(config, offer.vct, offerDeepLink(config.issuerUrl, secrets, offer.offer_id), offer.tx_code_required));
    } catch (err) {
      next(err);
    }
  });

  router.get('/offers/:token', async (req: Request, res: Response, next) => {
    try {
      const offer = await liveOffer(String(req.params.token));
      if (!offer) return oauthError(res, 404, 'invalid_request', 'No such credential offer, or it is no longer valid');
      const grant: Record<string, unknown> = { 'pre-authorized_code': secrets.preAuthorizedCode(offer.offer_id) };
      if (offer.tx_code_required) grant.tx_code = { input_mode: 'numeric', length: preAuth.pin_length, description: 'Enter the PIN sent to your email' };
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
      const dpopProof = req.get('dpop');
      if (!dpopProof && dpopRequired) return oauthError(res, 400, 'invalid_dpop_proof', 'A DPoP proof is required (RFC 9449)');
      // The code is checked before the DPoP proof, whose check stores its jti: requests with made-up codes write nothing.
      const txCode = typeof body.tx_code === 'string' ? body.tx_code : typeof body.user_pin === 'string' ? body.user_pin : undefined;
      const offer = await offers.byCodeHash(secrets.codeHash(code));
      if (!offer || offer.state !== 'OFFERED' || offer.expires_at.getTime() <= Date.now()) return oauthError(res, 400, 'invalid_grant', 'The pre-authorized code is invalid, expired or already used');
      if (offer.tx_code_required && txCode === undefined) return oauthError(res, 400, 'invalid_request', 'tx_code is required for this offer');
      // DPoP (RFC 9449 §5): a proof here binds the access token to the wallet's key.
      let dpopJkt: string | undefined;
      if (dpopProof) {
        const dpop = await verifyDpopProof(db, dpopProof, { htm: 'POST', htu: `${config.issuerUrl}/token` });
        if (!dpop.success) return oauthError(res, 400, 'invalid_dpop_proof', dpop.description);
        dpopJkt = dpop.jkt;
      }
      const pinCorrect = !offer.tx_code_required || secrets.pinMatches(offer.offer_id, txCode ?? '', preAuth.pin_length);
      let result: RedeemResult;
      try {
        // The proof tells the issuing activity that this gateway checked the code and the PIN (see redeemOfferUpdate).
        const request = pinCorrect ? { pinCorrect, redemptionProof: secrets.redemptionProof(offer.offer_id) } : { pinCorrect };
        result = await temporal.workflow.getHandle(offer.workflow_id).executeUpdate(redeemOfferUpdate, { args: [request] });
      } catch {
        // The offer's workflow has ended (expired or locked): the code is no longer redeemable.
        return oauthError(res, 400, 'invalid_grant', 'The pre-authorized code is invalid, expired or already used');
      }
      if (!result.ok) {
        if (result.reason === 'wrong_pin') return oauthError(res, 400, 'invalid_grant', `Wrong tx_code; ${result.attemptsLeft} attempt(s) left`);
        if (result.reason === 'locked') return oauthError(res, 400, 'invalid_grant', 'Too many wrong tx_codes: the offer is locked');
        return oauthError(res, 400, 'invalid_grant', 'The pre-authorized code is invalid, expired or already used');
      }
      const { token } = await accessTokens.issue({ workflowId: offer.workflow_id, offerId: offer.offer_id, ttlSeconds: ACCESS_TOKEN_TTL_SECONDS, ...(dpopJkt ? { dpopJkt } : {}) });
      res.set('Cache-Control', 'no-store').json({ access_token: token, token_type: dpopJkt ? 'DPoP' : 'Bearer', expires_in: ACCESS_TOKEN_TTL_SECONDS });
    } catch (err) {
      next(err);
    }
  });

  // Nonce endpoint (§7): a fresh, single-use c_nonce for key proofs.
  router.post('/nonce', async (_req, res, next) => {
    try {
      const { nonce } = await nonces.issue(NONCE_TTL_SECONDS);
      res.set('Cache-Control', 'no-store').json({ c_nonce: nonce });
    } catch (err) {
      next(err);
    }
  });

  /** The access token of a Bearer request (RFC 6750), resolved to its offer. */
  const authorize = async (req: Request, res: Response) => {
    const match = /^(Bearer|DPoP) ([A-Za-z0-9_-]{20,128})$/.exec(req.get('authorization') ?? '');
    const grant = match ? await accessTokens.resolve(match[2]!) : undefined;
    if (!grant) {
      res.set('WWW-Authenticate', `${dpopRequired ? 'DPoP' : 'Bearer'} error="invalid_token"`);
      oauthError(res, 401, 'invalid_token', 'Missing, unknown or expired access token');
      return undefined;
    }
    if (grant.dpopJkt) {
      // RFC 9449 §7: a DPoP-bound token is presented with the DPoP scheme and a proof by the same key.
      const proof = req.get('dpop');
      const dpop = match![1] === 'DPoP' && proof ? await verifyDpopProof(db, proof, { htm: req.method, htu: `${config.issuerUrl}${req.path}`, accessToken: match![2]! }) : undefined;
      if (!dpop?.success || dpop.jkt !== grant.dpopJkt) {
        res.set('WWW-Authenticate', 'DPoP error="invalid_dpop_proof"');
        oauthError(res, 401, 'invalid_dpop_proof', dpop && !dpop.success ? dpop.description : 'A DPoP proof by the key the token is bound to is required');
        return undefined;
      }
    }
    return grant;
  };

  // Credential endpoint (§8): verifies each key proof and its nonce, then asks the offer's workflow to sign.
  router.post('/credential', express.json({ limit: '256kb' }), async (req: Request, res: Response, next) => {
    try {
      const grant = await authorize(req, res);
      if (!grant) return;
      const parsed = CredentialRequest.safeParse(req.body);
      if (!parsed.success) return oauthError(res, 400, 'invalid_credential_request', parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
      const offer = await offers.byId(grant.offerId);
      if (!offer || parsed.data.credential_configuration_id !== offer.vct) return oauthError(res, 400, 'unknown_credential_configuration', 'This access token is for another credential configuration');
      const proofs = parsed.data.proofs?.jwt;
      if (!proofs) return oauthError(res, 400, 'invalid_proof', 'proofs.jwt is required: the credential is bound to the holder\'s key');
      const holderJwks: Record<string, unknown>[] = [];
      const consumed = new Map<string, string>();
      for (const jwt of proofs) {
        const verified = await verifyProofJwt(jwt, { audience: config.issuerUrl });
        if (!verified.success) return oauthError(res, 400, verified.error, verified.description);
        if (!verified.nonce) return oauthError(res, 400, 'invalid_nonce', 'The proof carries no nonce: get one from the nonce endpoint');
        // Proofs of one batch usually share a c_nonce; each nonce is spent once, on its first use here.
        const outcome = consumed.get(verified.nonce) ?? (await nonces.consume(verified.nonce));
        consumed.set(verified.nonce, outcome === 'ok' ? 'ok-in-this-request' : outcome);
        if (outcome !== 'ok' && outcome !== 'ok-in-this-request') return oauthError(res, 400, 'invalid_nonce', `The proof's nonce is ${outcome}: get a fresh one from the nonce endpoint`);
        // The key must be one a credential can be bound to (OpenID4VCI 1.0 §8.3.1.2: otherwise invalid_proof).
        try {
          parseHolderJwk(verified.holderJwk);
        } catch {
          return oauthError(res, 400, 'invalid_proof', 'The proof key type cannot be bound to a credential: use an EC P-256/P-384/P-521 or Ed25519 key');
        }
        holderJwks.push(verified.holderJwk as Record<string, unknown>);
      }
      let pickupIds: string[];
      try {
        ({ pickupIds } = await temporal.workflow.getHandle(grant.workflowId).executeUpdate(issueCredentialsUpdate, { args: [{ holderJwks }] }));
      } catch (err) {
        // OpenID4VCI 1.0 §8.3.1.2: credential_request_denied, "the Credential Request has not been accepted".
        const type = failureType(err);
        if (type === CREDENTIAL_LIMIT_REACHED) return oauthError(res, 400, 'credential_request_denied', `This offer may issue at most ${preAuth.max_credentials_per_offer} credential(s)`);
        if (type === 'DocumentChanged') return oauthError(res, 400, 'credential_request_denied', 'The document was changed after this offer was made; ask its issuer for a new offer');
        if (err instanceof WorkflowUpdateFailedError || err instanceof WorkflowNotFoundError) return oauthError(res, 400, 'invalid_credential_request', 'The offer can no longer issue credentials');
        throw err;
      }
      const credentials = await issued.pickUp(pickupIds);
      res.set('Cache-Control', 'no-store').json({ credentials: credentials.map((credential) => ({ credential })), notification_id: grant.offerId });
    } catch (err) {
      next(err);
    }
  });

  // Notification endpoint (§11): the wallet tells what became of the credentials.
  router.post('/notification', express.json({ limit: '16kb' }), async (req: Request, res: Response, next) => {
    try {
      const grant = await authorize(req, res);
      if (!grant) return;
      const parsed = WalletNotification.safeParse(req.body);
      if (!parsed.success) return oauthError(res, 400, 'invalid_notification_request', 'notification_id and a known event are required');
      if (parsed.data.notification_id !== grant.offerId) return oauthError(res, 400, 'invalid_notification_id', 'Unknown notification_id');
      await temporal.workflow.getHandle(grant.workflowId).signal(walletNotificationSignal, { event: parsed.data.event }).catch(() => undefined);
      res.status(204).end();
    } catch (err) {
      next(err);
    }
  });

  return router;
}

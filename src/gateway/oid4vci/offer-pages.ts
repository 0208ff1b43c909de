import express, { type Router } from 'express';
import type { Config } from '../../config/config';
import type { OfferRecord } from '../../db/offers-repository';
import { InvalidRequest } from '../../oid4vci/oauth-errors';
import { offerDeepLink } from '../../oid4vci/offer-preparation';
import type { OfferSecrets } from '../../oid4vci/offer-secrets';
import type { OfferService } from '../../oid4vci/offer-service';
import { offerQrDataUrl } from './offer-qr';
import { PRE_AUTHORIZED_CODE_GRANT } from './token-endpoint';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** What the holder page says about the PIN: where it actually went (credential_offers.pin_delivery). */
const PIN_HINT: Record<OfferRecord['pin_delivery'], string> = {
  email: '<p>Your wallet will ask for the PIN we sent to your e-mail address.</p>',
  authentic_source: '<p>Your wallet will ask for a PIN: the organisation that holds your record gives it to you.</p>',
  none: '',
};

/** The holder's page for an offer: the QR code to scan with a wallet, and the same link to open on this device. */
function offerPage(config: Config, offer: OfferRecord, deepLink: string): string {
  const qr = offerQrDataUrl(deepLink, { margin: 2, width: 360 });
  const issuer = escapeHtml(config.file.issuer.name);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your credential from ${issuer}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b;text-align:center}img{width:360px;height:360px;image-rendering:pixelated}a.button{display:inline-block;margin-top:1rem;padding:.75rem 1.25rem;background:#1f5fbf;color:#fff;border-radius:.5rem;text-decoration:none}</style>
</head><body>
<h1>${issuer}</h1>
<p>A credential of type <strong>${escapeHtml(offer.vct)}</strong> is ready for you. Scan the code with your wallet app.</p>
<img id="qr" alt="QR code of the credential offer" src="${qr}">
<p><a class="button" href="${escapeHtml(deepLink)}">Open in a wallet on this device</a></p>
${PIN_HINT[offer.pin_delivery]}
</body></html>`;
}

/**
 * The credential offer by reference (OpenID4VCI 1.0 §4.1.3): `credential_offer_uri` answers the
 * offer object (§4.1.1), and `/view` the holder's page for a person on a desktop.
 */
export function offerPages({ config, secrets, offerService }: { config: Config; secrets: OfferSecrets; offerService: OfferService }): Router {
  const pinLength = config.file.issuer.pre_authorized_code.pin_length;
  const router = express.Router();

  router.get('/offers/:token/view', async (req, res) => {
    const offer = await offerService.liveByUriToken(String(req.params.token));
    if (!offer) return res.status(404).type('text').send('This credential offer does not exist or is no longer valid.');
    res.set('Cache-Control', 'no-store').type('html').send(offerPage(config, offer, offerDeepLink(config.issuerUrl, secrets, offer.offer_id)));
  });

  router.get('/offers/:token', async (req, res) => {
    const offer = await offerService.liveByUriToken(String(req.params.token));
    if (!offer) throw new InvalidRequest('No such credential offer, or it is no longer valid', 404);
    const grant: Record<string, unknown> = { 'pre-authorized_code': secrets.preAuthorizedCode(offer.offer_id) };
    if (offer.tx_code_required) {
      const description = offer.pin_delivery === 'email' ? 'Enter the PIN sent to your email' : 'Enter the PIN you were given';
      grant.tx_code = { input_mode: 'numeric', length: pinLength, description };
    }
    res.set('Cache-Control', 'no-store').json({
      credential_issuer: config.issuerUrl,
      credential_configuration_ids: [offer.vct],
      grants: { [PRE_AUTHORIZED_CODE_GRANT]: grant },
    });
  });
  return router;
}

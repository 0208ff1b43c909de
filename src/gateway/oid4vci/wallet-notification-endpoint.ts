import express, { type Router } from 'express';
import { z } from 'zod';
import { InvalidNotificationId, InvalidNotificationRequest } from '../../oid4vci/oauth-errors';
import type { OfferService } from '../../oid4vci/offer-service';
import type { AuthorizeAccessToken } from './access-token-auth';

/** OpenID4VCI 1.0 §11.1. */
const WalletNotification = z.object({
  notification_id: z.string().min(1).max(256),
  event: z.enum(['credential_accepted', 'credential_failure', 'credential_deleted']),
  event_description: z.string().max(1024).optional(),
});

/** The notification endpoint (OpenID4VCI 1.0 §11): the wallet tells what became of the credentials; 204 (§11.2). */
export function walletNotificationEndpoint({ offerService, authorize }: { offerService: OfferService; authorize: AuthorizeAccessToken }): Router {
  const router = express.Router();
  router.post('/notification', express.json({ limit: '16kb' }), async (req, res) => {
    const grant = await authorize(req);
    const parsed = WalletNotification.safeParse(req.body);
    if (!parsed.success) throw new InvalidNotificationRequest('notification_id and a known event are required');
    if (parsed.data.notification_id !== grant.offerId) throw new InvalidNotificationId('Unknown notification_id');
    await offerService.walletEvent(grant, parsed.data.event);
    res.status(204).end();
  });
  return router;
}

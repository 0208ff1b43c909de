import type { Request, RequestHandler } from 'express';
import type { Config } from '../../config/config';
import { ForbiddenError } from '../api-errors';
import { type Authenticator, bearerTokenAuthenticator, devKeyCheck, type KeyCheck, keyCheck } from '../authenticate-source';

/**
 * Authentication of the operator API (`/admin/v1`) and of `/metrics`: `Authorization: Bearer <token>`
 * (RFC 6750 §2.1), checked against `admin_tokens.<name>.token_hash` exactly as source keys and client
 * tokens are (sha256 or bcrypt, optional `<key_id>.` prefix; src/gateway/authenticate-source.ts).
 * Each token has a role: `read` finds and inspects processes, `operate` also acts on them. In a
 * development configuration the dev API key is an `operate` token named `dev`.
 *
 * Reuse: a route declares `security: 'admin:read'` or `security: 'admin:operate'` (route-registry.ts)
 * and the gateway authenticates it through the failed-authentication limiter and audits the call
 * (actor `admin:<name>`); a plain Express router uses {@link adminMiddleware}.
 */
export type AdminRole = 'read' | 'operate';

export interface AdminPrincipal {
  readonly kind: 'admin';
  /** The token's name under `admin_tokens` (`dev` for the dev API key). */
  readonly admin: string;
  readonly role: AdminRole;
}

/** Roles in order of power: a role may do what every role before it may. */
const ROLE_RANK: Record<AdminRole, number> = { read: 0, operate: 1 };

export function createAdminAuthenticator(config: Config): Authenticator<AdminPrincipal> {
  const roles = new Map<string, AdminRole>();
  const checks: KeyCheck[] = [];
  for (const [name, token] of Object.entries(config.file.admin_tokens)) {
    checks.push(keyCheck(name, token.token_hash, token.key_id));
    roles.set(name, token.role);
  }
  if (config.file.environment === 'development' && config.devApiKey) {
    checks.push(devKeyCheck('dev', config.devApiKey));
    roles.set('dev', 'operate');
  }
  return bearerTokenAuthenticator(checks, (admin): AdminPrincipal => ({ kind: 'admin', admin, role: roles.get(admin)! }));
}

/** `authenticate`, then 403 FORBIDDEN unless the token's role is at least `role`. */
export function requireAdminRole(authenticate: (req: Request) => Promise<AdminPrincipal>, role: AdminRole): (req: Request) => Promise<AdminPrincipal> {
  return async (req) => {
    const principal = await authenticate(req);
    // Known before the role check, so the audit row of a refused call names who was refused.
    if (req.res) req.res.locals.actor = `admin:${principal.admin}`;
    if (ROLE_RANK[principal.role] < ROLE_RANK[role]) throw new ForbiddenError(`This action needs an admin token with the ${role} role`, { role: principal.role, required: role });
    return principal;
  };
}

/**
 * Express middleware for routers outside the route registry: authenticates with `authenticate`
 * (pass one wrapped by `limitFailedAuthentications`, src/gateway/rate-limit.ts), checks the role,
 * and sets `res.locals.actor` (the gateway's audit row for `/admin/` paths names it, also when the
 * role is refused) and `res.locals.admin`. Errors go to the gateway's error handler.
 */
export function adminMiddleware(authenticate: (req: Request) => Promise<AdminPrincipal>, role: AdminRole): RequestHandler {
  const guard = requireAdminRole(authenticate, role);
  return (req, res, next) => {
    guard(req).then(
      (principal) => {
        res.locals.admin = principal;
        next();
      },
      next,
    );
  };
}

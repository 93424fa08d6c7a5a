import type { FastifyInstance } from 'fastify';
import type { AdminLedger, ConsoleSessionStore } from '../../settlement/admin-ports';
import type { CardGateway, PaymentGateway } from '../../settlement/ports';
import { credentialChecker } from '../guard';
import { autoRechargeViews } from './auto-recharge-views';
import { cardViews } from './card-views';
import { registerConsolePlugins, SESSION_COOKIE, type SignedIn } from './console-plugins';
import { consoleVisits } from './console-visit';
import { fundsViews } from './funds-views';
import type { OperatorViews } from './operator-views';
import { operatorRoutes } from './operator-views';
import { signInViews } from './sign-in-views';
import { statementsViews } from './statements-views';
import { tenantViews } from './tenant-views';
import { userLimitsViews } from './user-limits-views';

export { SESSION_COOKIE } from './console-plugins';

export interface ConsoleOptions {
  ledger: AdminLedger;
  sessions: ConsoleSessionStore;
  gateway?: PaymentGateway;
  /** Adds tenants' cards through the payment provider's hosted page; without one, no card can be added. */
  cards?: CardGateway;
  /** PUBLIC_URL: where the hosted card page sends the admin back (default: the request's address). */
  publicUrl?: string;
  operatorTokenSha256?: string;
  /** Signs the CSRF cookie and keys its tokens: the same on every instance behind one address. */
  secret: string;
  sessionTtlMs: number;
  /** `auto`: Secure cookies when the request came over TLS (as the proxy says, with trustProxy). */
  secureCookies: boolean | 'auto';
  operator: OperatorViews;
}

/**
 * The tenant admin console under /console: server-rendered pages, no script, one stylesheet
 * served from the package. Signed in by a cookie session (HttpOnly, SameSite=Strict, Secure
 * over TLS, expiring), every form that changes something carries a CSRF token bound to the
 * session, and every page goes out with a strict Content-Security-Policy.
 */
export async function consoleRoutes(app: FastifyInstance, options: ConsoleOptions): Promise<void> {
  const { ledger, sessions } = options;
  const check = credentialChecker(ledger.apiKeys, options.operatorTokenSha256);
  const signedIn: SignedIn = new WeakMap();

  // Pages, not the admin API: left out of its OpenAPI document.
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, hide: true };
  });
  await registerConsolePlugins(app, options, signedIn);
  const { visit, openTenant, tabFrame } = consoleVisits(app, { ledger, sessions, signedIn });
  const protect = { preHandler: app.csrfProtection };

  const { sessionTtlMs, secureCookies } = options;
  signInViews(app, { check, sessions, signedIn, protect, sessionTtlMs, secureCookies });
  // A tenant's pages: the overview, funds, auto-recharge and payment, spend limits, usage,
  // statements.
  tenantViews(app, { ledger, openTenant, tabFrame });
  userLimitsViews(app, { ledger, openTenant, tabFrame, protect });
  const gateway = options.gateway ? { gateway: options.gateway } : {};
  fundsViews(app, { ledger, ...gateway, openTenant, tabFrame, protect });
  const cards = options.cards ? { cards: options.cards } : {};
  const rechargePage = autoRechargeViews(app, { ledger, ...cards, openTenant, tabFrame, protect });
  cardViews(app, {
    ledger,
    ...cards,
    ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
    openTenant,
    protect,
    sessionCookie: SESSION_COOKIE,
    rechargePage,
  });
  statementsViews(app, { ledger, openTenant, tabFrame });

  operatorRoutes(app, { ledger, operator: options.operator, visit });
}

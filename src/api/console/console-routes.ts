import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decimalToMinor } from '../../credits/money';
import type { AccountView } from '../../credits/wallet';
import type { AdminLedger, ConsoleSession, ConsoleSessionStore } from '../../settlement/admin-ports';
import type { CardGateway, PaymentGateway } from '../../settlement/ports';
import { purchaseCredits } from '../../settlement/purchase-credits';
import { credentialChecker } from '../guard';
import { tooPrecise } from '../money';
import { formatAmount } from './format';
import { autoRechargeForm, formProblem, posted, purchaseForm, signInForm } from './forms';
import { cardViews } from './card-views';
import { AutoRechargePage } from './pages/auto-recharge';
import { ErrorPage } from './pages/error';
import { FundsPage } from './pages/funds';
import type { PageFrame, TenantTab } from './pages/layout';
import { SignInPage } from './pages/sign-in';
import { StatementsPage } from './pages/statements';
import type { OperatorViews } from './operator-views';
import { autoRechargeChange } from '../auto-recharge';
import { html, Visit, type OpenTenant } from './render';
import { operatorRoutes } from './operator-views';
import { tenantViews } from './tenant-views';
import { userLimitsViews } from './user-limits-views';
import { CONSOLE_HOME, consoleNext } from './next-path';

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

export const SESSION_COOKIE = 'rater_session';
const CSRF_COOKIE = 'rater_csrf';
/** What a signed-out form's token is bound to (the CSRF tokens need something to bind to). */
const SIGNED_OUT = 'signed-out';

/**
 * The tenant admin console under /console: server-rendered pages, no script, one stylesheet
 * served from the package. Signed in by a cookie session (HttpOnly, SameSite=Strict, Secure
 * over TLS, expiring), every form that changes something carries a CSRF token bound to the
 * session, and every page goes out with a strict Content-Security-Policy.
 */
export async function consoleRoutes(app: FastifyInstance, options: ConsoleOptions): Promise<void> {
  const { ledger, sessions } = options;
  const check = credentialChecker(ledger.apiKeys, options.operatorTokenSha256);
  const signedIn = new WeakMap<FastifyRequest, { id: string; session: ConsoleSession }>();

  // Pages, not the admin API: left out of its OpenAPI document.
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, hide: true };
  });
  await app.register(fastifyCookie, { secret: options.secret });
  await app.register(fastifyFormbody, { bodyLimit: 16 * 1024 });
  await app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: CSRF_COOKIE,
    cookieOpts: {
      path: '/console',
      httpOnly: true,
      sameSite: 'strict',
      secure: options.secureCookies,
      signed: true,
    },
    // The token in the form, never a header a page's script could set: there is no script.
    getToken: (request) => (request.body as { _csrf?: string } | undefined)?._csrf,
    // Bound to the session (or to no session, for the sign-in form): a token of another
    // session, or one from before signing in, is refused.
    getUserInfo: (request) => signedIn.get(request)?.id ?? SIGNED_OUT,
    csrfOpts: { hmacKey: options.secret, userInfo: true },
  });
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    crossOriginEmbedderPolicy: false,
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: false,
  });
  await app.register(fastifyStatic, {
    root: join(__dirname, 'assets'),
    prefix: '/assets/',
    decorateReply: false,
    maxAge: 3600_000,
  });

  // The session comes first: the CSRF check and every page need to know who is signed in.
  app.addHook('onRequest', async (request) => {
    const id = request.cookies[SESSION_COOKIE];
    if (!id) return;
    const session = await sessions.read(id);
    if (!session) return;
    // A tenant admin's session lasts only while the key it signed in with does.
    if (session.kind === 'tenant' && !(await ledger.apiKeys.apiKeyDigest(session.tenantId, session.keyId)))
      return;
    signedIn.set(request, { id, session });
  });

  const frameFor = (request: FastifyRequest, reply: FastifyReply) => {
    const current = signedIn.get(request);
    const csrf = reply.generateCsrf({ userInfo: current?.id ?? SIGNED_OUT });
    return (title: string, tenant?: PageFrame['tenant']): PageFrame => ({
      title,
      csrf,
      ...(current ? { session: current.session } : {}),
      ...(tenant ? { tenant } : {}),
    });
  };

  app.setErrorHandler(async (error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    const message =
      error.code === 'FST_CSRF_INVALID_TOKEN' || error.code === 'FST_CSRF_MISSING_SECRET'
        ? 'This form has expired or did not come from this console, so nothing was changed. Reload the page and try again.'
        : status >= 500
          ? 'The console could not answer just now; nothing was changed. Try again in a moment.'
          : error.message;
    if (status >= 500) request.log.error({ err: error }, 'console request failed');
    else request.log.info({ code: error.code, status }, 'console request refused');
    return html(reply, ErrorPage({ frame: frameFor(request, reply)('Error'), status, message }), status);
  });
  app.setNotFoundHandler(async (request, reply) =>
    html(
      reply,
      ErrorPage({
        frame: frameFor(request, reply)('Not found'),
        status: 404,
        message: 'There is no such page.',
      }),
      404,
    ),
  );

  /** The signed-in visit, or a redirect to sign in (then back here). */
  const visit = (request: FastifyRequest, reply: FastifyReply): Visit | undefined => {
    const current = signedIn.get(request);
    if (!current) {
      const next = request.method === 'GET' ? request.url : '/console';
      void reply.redirect(`/console/sign-in?next=${encodeURIComponent(next)}`, 303);
      return undefined;
    }
    const frame = frameFor(request, reply);
    return { session: current.session, sessionId: current.id, csrf: frame('').csrf!, frame };
  };

  /** The visit, when it may see this tenant: its own admin or the operator; a 403 page otherwise. */
  const tenantVisit = (request: FastifyRequest, reply: FastifyReply, tenantId: string): Visit | undefined => {
    const v = visit(request, reply);
    if (!v) return undefined;
    if (v.session.kind === 'tenant' && v.session.tenantId !== tenantId) {
      void html(
        reply,
        ErrorPage({
          frame: v.frame('Not allowed'),
          status: 403,
          message: 'These pages belong to another tenant.',
        }),
        403,
      );
      return undefined;
    }
    return v;
  };

  const protect = { preHandler: app.csrfProtection };

  app.get('/', async (request, reply) => {
    const current = signedIn.get(request);
    if (!current) return reply.redirect('/console/sign-in', 303);
    return reply.redirect(
      current.session.kind === 'operator'
        ? '/console/operator'
        : `/console/t/${encodeURIComponent(current.session.tenantId)}`,
      303,
    );
  });

  app.get('/sign-in', async (request, reply) => {
    const next = consoleNext((request.query as { next?: unknown }).next);
    if (signedIn.get(request)) return reply.redirect(next, 303);
    return html(reply, SignInPage({ csrf: reply.generateCsrf({ userInfo: SIGNED_OUT }), next }));
  });

  app.post('/sign-in', protect, async (request, reply) => {
    const form = signInForm.safeParse(request.body);
    const next = consoleNext(form.success ? form.data.next : undefined);
    const again = (status: number, error: string) =>
      html(reply, SignInPage({ csrf: reply.generateCsrf({ userInfo: SIGNED_OUT }), next, error }), status);
    if (!form.success) return again(400, formProblem(form.error));
    const principal = await check(form.data.credential);
    if (!principal) {
      request.log.warn('console sign-in refused');
      return again(401, 'That key or token is not valid.');
    }
    const { id, session } = await sessions.create(
      principal.kind === 'operator'
        ? { kind: 'operator' }
        : { kind: 'tenant', tenantId: principal.tenantId, keyId: principal.keyId },
      options.sessionTtlMs,
    );
    request.log.info(
      session.kind === 'tenant'
        ? { principal: 'tenant_key', tenantId: session.tenantId, keyId: session.keyId }
        : { principal: 'operator' },
      'console sign-in',
    );
    void reply.setCookie(SESSION_COOKIE, id, {
      path: '/console',
      httpOnly: true,
      sameSite: 'strict',
      secure: options.secureCookies,
      maxAge: Math.floor(options.sessionTtlMs / 1000),
    });
    const home =
      session.kind === 'operator'
        ? '/console/operator'
        : `/console/t/${encodeURIComponent(session.tenantId)}`;
    return reply.redirect(next === CONSOLE_HOME ? home : next, 303);
  });

  app.post('/sign-out', protect, async (request, reply) => {
    const current = signedIn.get(request);
    if (current) await sessions.delete(current.id);
    void reply.clearCookie(SESSION_COOKIE, { path: '/console' });
    return reply.redirect('/console/sign-in', 303);
  });

  // A tenant's pages: the overview, funds, auto-recharge and payment, spend limits, usage,
  // statements.
  const loadAccount = async (
    reply: FastifyReply,
    v: Visit,
    tenantId: string,
  ): Promise<AccountView | undefined> => {
    const account = await ledger.reads.readAccount(tenantId);
    if (!account)
      void html(
        reply,
        ErrorPage({ frame: v.frame('Not found'), status: 404, message: `There is no tenant ${tenantId}.` }),
        404,
      );
    return account;
  };
  const tabFrame = (v: Visit, account: AccountView, title: string, tab: TenantTab) =>
    v.frame(title, { tenantId: account.tenantId, tab, postpaid: account.settings.mode === 'postpaid' });

  /** A tenant's page: the visitor may see it (else 403) and the tenant exists (else 404). */
  const openTenant: OpenTenant = async (request, reply) => {
    const { tenantId } = request.params as { tenantId: string };
    const v = tenantVisit(request, reply, tenantId);
    if (!v) return undefined;
    const account = await loadAccount(reply, v, tenantId);
    return account ? { tenantId, v, account } : undefined;
  };
  tenantViews(app, { ledger, openTenant, tabFrame });
  userLimitsViews(app, { ledger, openTenant, tabFrame, protect });

  const fundsPage = async (
    reply: FastifyReply,
    v: Visit,
    account: AccountView,
    extra: { result?: { kind: 'ok' | 'error'; message: string }; amount?: string } = {},
    status = 200,
  ) =>
    html(
      reply,
      FundsPage({
        frame: tabFrame(v, account, 'Funds', 'funds'),
        account,
        purchaseId: randomUUID(),
        canBuy: options.gateway !== undefined,
        ...extra,
      }),
      status,
    );

  app.get('/t/:tenantId/funds', async (request, reply) => {
    const opened = await openTenant(request, reply);
    if (!opened) return reply;
    const { v, account } = opened;
    return fundsPage(reply, v, account);
  });

  /**
   * Buying credits: the same use case as the API's (charged first, credited once per purchase
   * id). The form's purchase id is made when the page is, so posting it twice buys once.
   */
  app.post('/t/:tenantId/funds/purchase', protect, async (request, reply) => {
    const opened = await openTenant(request, reply);
    if (!opened) return reply;
    const { tenantId, v, account } = opened;
    const form = purchaseForm.safeParse(request.body);
    const error = (message: string, status: number) =>
      fundsPage(
        reply,
        v,
        account,
        { result: { kind: 'error', message }, amount: posted(request.body).amount },
        status,
      );
    if (!form.success) return error(formProblem(form.error), 400);
    if (account.settings.mode === 'postpaid')
      return error('This tenant is billed after use: it cannot buy credits.', 409);
    if (!options.gateway)
      return error('Purchases are not available: this service has no payment gateway.', 503);
    const currency = account.settings.currency;
    const imprecise = tooPrecise(currency, { amount: form.data.amount });
    if (imprecise) return error(imprecise, 400);
    const amount = decimalToMinor(form.data.amount, currency);
    if (amount <= 0n) return error('amount must be more than zero', 400);
    const result = await purchaseCredits(ledger.writes, options.gateway, tenantId, {
      purchaseId: form.data.purchaseId,
      amount,
      currency,
    });
    if ('refused' in result)
      return error(`The purchase was refused: ${result.refused} (${result.detail}).`, 409);
    if (result.outcome === 'unavailable')
      return error(
        'The payment service did not answer; nothing was charged yet. Try again: the same purchase is not charged twice.',
        503,
      );
    if (result.outcome === 'failed')
      return error(
        `The payment failed: ${result.purchase.message || result.purchase.reason}. No credits were added.`,
        402,
      );
    if (result.outcome === 'not_replicated')
      return error(
        'The purchase is recorded but not yet confirmed by every copy of the ledger. Try again in a moment: the same purchase is not charged twice.',
        503,
      );
    const after = (await ledger.reads.readAccount(tenantId)) ?? account;
    const lot = result.purchase.lotId ?? '';
    return fundsPage(reply, v, after, {
      result: {
        kind: 'ok',
        message: result.duplicate
          ? `This purchase was made already (lot ${lot}); it was not charged again.`
          : `Paid ${formatAmount(amount, currency)}: lot ${lot} added. The balance is now ${formatAmount(after.balance, currency)}.`,
      },
    });
  });

  const rechargePage = async (
    reply: FastifyReply,
    v: Visit,
    account: AccountView,
    extra: { result?: { kind: 'ok' | 'error'; message: string }; posted?: Record<string, string> } = {},
    status = 200,
  ) =>
    html(
      reply,
      AutoRechargePage({
        frame: tabFrame(v, account, 'Auto-recharge and payment', 'auto-recharge'),
        account,
        lastFailure: account.autoRecharge.lastFailure ?? null,
        canAddCard: options.cards !== undefined,
        ...extra,
      }),
      status,
    );

  app.get('/t/:tenantId/auto-recharge', async (request, reply) => {
    const opened = await openTenant(request, reply);
    if (!opened) return reply;
    const { v, account } = opened;
    // The payment provider's hosted card page sends the admin back here when cancelled.
    const cancelled = (request.query as { setup?: string }).setup === 'cancelled';
    return rechargePage(
      reply,
      v,
      account,
      cancelled
        ? { result: { kind: 'error', message: 'The card setup was cancelled: nothing was changed.' } }
        : {},
    );
  });

  /**
   * Auto-recharge's trigger, amount and cap, changed in one script on the settings version the
   * form was made from: a change made meanwhile (another admin, the operator) is a 409, never
   * undone.
   */
  app.post('/t/:tenantId/auto-recharge', protect, async (request, reply) => {
    const opened = await openTenant(request, reply);
    if (!opened) return reply;
    const { tenantId, v, account } = opened;
    const refuse = (message: string, status: number) =>
      rechargePage(
        reply,
        v,
        account,
        { result: { kind: 'error', message }, posted: posted(request.body) },
        status,
      );
    const form = autoRechargeForm.safeParse(request.body);
    if (!form.success) return refuse(formProblem(form.error), 400);
    if (account.settings.mode === 'postpaid')
      return refuse('Auto-recharge is for prepaid tenants only.', 409);
    const currency = account.settings.currency;
    // The same conversion and checks as the API's PUT .../auto-recharge.
    const asked = autoRechargeChange(
      currency,
      {
        enabled: form.data.enabled === 'on',
        triggerAmount: form.data.triggerAmount,
        rechargeAmount: form.data.rechargeAmount,
        monthlyCap: form.data.monthlyCap,
      },
      { triggerAmount: 'triggerAmount', rechargeAmount: 'rechargeAmount' },
    );
    if ('problem' in asked) return refuse(asked.problem, 400);
    const result = await ledger.writes.updateSettings(
      tenantId,
      { autoRecharge: asked.change },
      { ifCurrency: currency, ifVersion: Number(form.data.version) },
    );
    if ('refused' in result)
      return refuse(
        result.refused === 'version_mismatch'
          ? 'The settings were changed meanwhile (by another admin or the operator); nothing was saved. Here they are as they are now.'
          : `Not saved: ${result.detail}`,
        409,
      );
    const after = (await ledger.reads.readAccount(tenantId)) ?? account;
    return rechargePage(reply, v, after, { result: { kind: 'ok', message: 'Auto-recharge saved.' } });
  });

  cardViews(app, {
    ledger,
    ...(options.cards ? { cards: options.cards } : {}),
    ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
    openTenant,
    protect,
    sessionCookie: SESSION_COOKIE,
    rechargePage,
  });

  app.get('/t/:tenantId/statements', async (request, reply) => {
    const opened = await openTenant(request, reply);
    if (!opened) return reply;
    const { tenantId, v, account } = opened;
    const totals = await ledger.reads.usageTotals(tenantId);
    const current = new Date().toISOString().slice(0, 7);
    const periods = [...new Set([current, ...Object.keys(totals), ...Object.keys(account.owed)])]
      .sort()
      .reverse();
    const asked = (request.query as { period?: string }).period;
    const period = asked && /^\d{4}-(0[1-9]|1[0-2])$/.test(asked) ? asked : current;
    return html(
      reply,
      StatementsPage({
        frame: tabFrame(v, account, 'Statements', 'statements'),
        account,
        period,
        periods: periods.includes(period) ? periods : [period, ...periods],
        totals: totals[period] ?? {},
      }),
    );
  });

  operatorRoutes(app, { ledger, operator: options.operator, visit });
}

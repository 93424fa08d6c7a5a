import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountView } from '../../credits/wallet';
import type { AdminLedger, ConsoleSessionStore } from '../../settlement/admin-ports';
import { SESSION_COOKIE, SIGNED_OUT, type SignedIn } from './console-plugins';
import { ErrorPage } from './pages/error';
import type { PageFrame, TenantTab } from './pages/layout';
import { html, type OpenTenant, type Visit } from './render';

interface VisitOptions {
  ledger: AdminLedger;
  sessions: ConsoleSessionStore;
  signedIn: SignedIn;
}

/** What the console's handlers use to know the visitor and frame a page. */
export interface ConsoleVisits {
  frameFor: (request: FastifyRequest, reply: FastifyReply) => Visit['frame'];
  /** The signed-in visit, or a redirect to sign in (then back here). */
  visit: (request: FastifyRequest, reply: FastifyReply) => Visit | undefined;
  openTenant: OpenTenant;
  tabFrame: (v: Visit, account: AccountView, title: string, tab: TenantTab) => PageFrame;
}

/** The session comes first: the CSRF check and every page need to know who is signed in. */
function readSessionCookie(app: FastifyInstance, { ledger, sessions, signedIn }: VisitOptions): void {
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
}

/** Errors and unknown pages answer with a page, never internal error text. */
function errorPages(app: FastifyInstance, frameFor: ConsoleVisits['frameFor']): void {
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
}

/** The visit, when it may see this tenant: its own admin or the operator; a 403 page otherwise. */
function tenantVisitOf(visit: ConsoleVisits['visit']) {
  return (request: FastifyRequest, reply: FastifyReply, tenantId: string): Visit | undefined => {
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
}

/** A tenant's page: the visitor may see it (else 403) and the tenant exists (else 404). */
function openTenantOf(ledger: AdminLedger, visit: ConsoleVisits['visit']): OpenTenant {
  const tenantVisit = tenantVisitOf(visit);
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
  return async (request, reply) => {
    const { tenantId } = request.params as { tenantId: string };
    const v = tenantVisit(request, reply, tenantId);
    if (!v) return undefined;
    const account = await loadAccount(reply, v, tenantId);
    return account ? { tenantId, v, account } : undefined;
  };
}

/**
 * Reads the session cookie on every request, answers errors with a page, and gives the handlers
 * the visitor (signed in, allowed to see the tenant) and the page's frame.
 */
export function consoleVisits(app: FastifyInstance, options: VisitOptions): ConsoleVisits {
  const { signedIn } = options;
  readSessionCookie(app, options);

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
  errorPages(app, frameFor);

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

  const tabFrame = (v: Visit, account: AccountView, title: string, tab: TenantTab) =>
    v.frame(title, { tenantId: account.tenantId, tab, postpaid: account.settings.mode === 'postpaid' });

  return { frameFor, visit, openTenant: openTenantOf(options.ledger, visit), tabFrame };
}

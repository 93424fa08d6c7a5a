import type { FastifyInstance, preHandlerHookHandler } from 'fastify';
import type { ConsoleSessionStore } from '../../settlement/admin-ports';
import type { credentialChecker } from '../guard';
import { SESSION_COOKIE, SIGNED_OUT, type SignedIn } from './console-plugins';
import { formProblem, signInForm } from './forms';
import { CONSOLE_HOME, consoleNext } from './next-path';
import { SignInPage } from './pages/sign-in';
import { html } from './render';

interface SignInOptions {
  check: ReturnType<typeof credentialChecker>;
  sessions: ConsoleSessionStore;
  signedIn: SignedIn;
  protect: { preHandler: preHandlerHookHandler };
  sessionTtlMs: number;
  secureCookies: boolean | 'auto';
}

/** The console's home, signing in with a tenant's API key or the operator token, signing out. */
export function signInViews(app: FastifyInstance, options: SignInOptions): void {
  const { check, sessions, signedIn, protect } = options;

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
}

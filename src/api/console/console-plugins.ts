import { join } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ConsoleSession } from '../../settlement/admin-ports';

export const SESSION_COOKIE = 'rater_session';
const CSRF_COOKIE = 'rater_csrf';
/** What a signed-out form's token is bound to (the CSRF tokens need something to bind to). */
export const SIGNED_OUT = 'signed-out';

/** Who is signed in, per request, once the session cookie was read. */
export type SignedIn = WeakMap<FastifyRequest, { id: string; session: ConsoleSession }>;

interface PluginOptions {
  /** Signs the CSRF cookie and keys its tokens. */
  secret: string;
  secureCookies: boolean | 'auto';
}

/**
 * Cookies, form bodies, the CSRF tokens bound to the session, the strict security headers and
 * the stylesheet: what every console page stands on.
 */
export async function registerConsolePlugins(
  app: FastifyInstance,
  options: PluginOptions,
  signedIn: SignedIn,
): Promise<void> {
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
}

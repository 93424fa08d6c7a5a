import type { FastifyInstance, FastifyReply, preHandlerHookHandler } from 'fastify';
import type { AccountView } from '../../credits/wallet';
import type { AdminLedger } from '../../settlement/admin-ports';
import { completeCardSetup, startCardSetup, type CardOutcome } from '../../settlement/cards';
import type { CardGateway } from '../../settlement/ports';
import { isRetriable } from '../../settlement/retry';
import { consoleSetupUrls, publicBase } from '../routes/payment-methods';
import { ContinuePage } from './pages/continue';
import type { OpenTenant, Visit } from './render';
import { html } from './render';

type RechargePage = (
  reply: FastifyReply,
  v: Visit,
  account: AccountView,
  extra: { result: { kind: 'ok' | 'error'; message: string } },
  status?: number,
) => Promise<unknown>;

interface CardViewOptions {
  ledger: AdminLedger;
  cards?: CardGateway;
  publicUrl?: string;
  openTenant: OpenTenant;
  protect: { preHandler: preHandlerHookHandler };
  /** The session cookie's name. */
  sessionCookie: string;
  /** The auto-recharge and payment page, where the card is shown, with a result. */
  rechargePage: RechargePage;
}

/** What a card problem means to the admin. */
function problemText(outcome: Exclude<CardOutcome, { recorded: true }>): string {
  if ('refused' in outcome) return `The card was not saved: ${outcome.detail}.`;
  switch (outcome.problem) {
    case 'postpaid':
      return 'This tenant is billed after use: it has no card.';
    case 'setup_not_succeeded':
      return outcome.status === 'open'
        ? 'The card setup was not finished, so no card was saved.'
        : 'The card was declined or the setup was abandoned: nothing was changed.';
    case 'setup_not_owned':
    case 'no_setup':
      return 'That card setup is not one of this tenant’s: nothing was changed.';
    default:
      return 'The payment provider did not accept this card as the tenant’s own: nothing was changed.';
  }
}

/**
 * The card on the auto-recharge and payment page: "Add or replace card" starts the payment
 * provider's hosted page (the console never sees card numbers), and the provider sends the
 * admin back to the return page, which records the card of the finished setup, as the API's
 * `POST .../payment-method/setup/{sessionId}/complete` does.
 */
export function cardViews(app: FastifyInstance, options: CardViewOptions) {
  const { ledger, cards, openTenant, protect, rechargePage } = options;
  const failed = (reply: FastifyReply, v: Visit, account: AccountView, message: string, status: number) =>
    rechargePage(reply, v, account, { result: { kind: 'error', message } }, status);
  const unavailable = (error: unknown) => {
    if (!isRetriable(error)) throw error;
    return 'The payment provider did not answer; nothing was changed. Try again in a moment.';
  };

  app.post('/t/:tenantId/payment-method/setup', protect, async (request, reply) => {
    const opened = await openTenant(request, reply);
    if (!opened) return reply;
    const { tenantId, v, account } = opened;
    if (!cards)
      return failed(reply, v, account, 'Cards cannot be added: this service has no payment gateway.', 503);
    let started;
    try {
      started = await startCardSetup(
        ledger.cards,
        cards,
        tenantId,
        consoleSetupUrls(publicBase(request, options.publicUrl), tenantId),
      );
    } catch (error) {
      return failed(reply, v, account, unavailable(error), 503);
    }
    if ('problem' in started || 'refused' in started)
      return failed(reply, v, account, problemText(started), 409);
    request.log.info({ tenantId, sessionId: started.sessionId }, 'card setup started');
    return html(
      reply,
      ContinuePage({
        frame: { ...v.frame('Add or replace card'), refreshTo: started.url },
        url: started.url,
      }),
    );
  });

  app.get('/t/:tenantId/payment-method/setup/return', async (request, reply) => {
    // Coming back from the provider's site, the browser leaves out the SameSite=Strict session
    // cookie: the page loads itself once more, now from this site, and the cookie comes along.
    const query = request.query as { session_id?: unknown; resumed?: unknown };
    if (!request.cookies[options.sessionCookie] && query.resumed === undefined) {
      const again = `${request.url}${request.url.includes('?') ? '&' : '?'}resumed=1`;
      return html(
        reply,
        ContinuePage({ frame: { title: 'Add or replace card', refreshTo: again }, url: again }),
      );
    }
    const opened = await openTenant(request, reply);
    if (!opened) return reply;
    const { tenantId, v, account } = opened;
    const sessionId = query.session_id;
    if (typeof sessionId !== 'string' || !/^[A-Za-z0-9_]{1,255}$/.test(sessionId))
      return failed(reply, v, account, 'session_id is not a card setup of the payment provider.', 400);
    if (!cards)
      return failed(reply, v, account, 'Cards cannot be added: this service has no payment gateway.', 503);
    let outcome: CardOutcome;
    try {
      outcome = await completeCardSetup(ledger.cards, cards, tenantId, sessionId);
    } catch (error) {
      return failed(reply, v, account, unavailable(error), 503);
    }
    if (!('recorded' in outcome)) return failed(reply, v, account, problemText(outcome), 409);
    const after = (await ledger.reads.readAccount(tenantId)) ?? account;
    return rechargePage(reply, v, after, {
      result: { kind: 'ok', message: `Card saved: ${outcome.label || outcome.ref}.` },
    });
  });
}

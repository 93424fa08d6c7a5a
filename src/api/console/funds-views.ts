import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, preHandlerHookHandler } from 'fastify';
import { decimalToMinor } from '../../credits/money';
import type { AccountView } from '../../credits/wallet';
import type { AdminLedger } from '../../settlement/admin-ports';
import type { PaymentGateway } from '../../settlement/ports';
import { purchaseCredits, type PurchaseOutcome } from '../../settlement/purchase-credits';
import { tooPrecise } from '../money';
import { formatAmount } from './format';
import { formProblem, posted, purchaseForm } from './forms';
import { FundsPage } from './pages/funds';
import type { PageFrame, TenantTab } from './pages/layout';
import type { OpenTenant, Visit } from './render';
import { html } from './render';

interface FundsViewOptions {
  ledger: AdminLedger;
  gateway?: PaymentGateway;
  openTenant: OpenTenant;
  tabFrame: (v: Visit, account: AccountView, title: string, tab: TenantTab) => PageFrame;
  protect: { preHandler: preHandlerHookHandler };
}

type Succeeded = Extract<PurchaseOutcome, { outcome: 'succeeded' }>;

/** The purchase that added credits, or why it did not, with the page's status. */
function purchaseAnswer(
  result: PurchaseOutcome,
): { succeeded: Succeeded } | { message: string; status: number } {
  if ('refused' in result)
    return { message: `The purchase was refused: ${result.refused} (${result.detail}).`, status: 409 };
  if (result.outcome === 'unavailable')
    return {
      message:
        'The payment service did not answer; nothing was charged yet. Try again: the same purchase is not charged twice.',
      status: 503,
    };
  if (result.outcome === 'failed')
    return {
      message: `The payment failed: ${result.purchase.message || result.purchase.reason}. No credits were added.`,
      status: 402,
    };
  if (result.outcome === 'not_replicated')
    return {
      message:
        'The purchase is recorded but not yet confirmed by every copy of the ledger. Try again in a moment: the same purchase is not charged twice.',
      status: 503,
    };
  return { succeeded: result };
}

/** The funds page: the balance and its lots, and buying credits. */
export function fundsViews(app: FastifyInstance, options: FundsViewOptions): void {
  const { ledger, openTenant, tabFrame, protect } = options;

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
    const answer = purchaseAnswer(result);
    if (!('succeeded' in answer)) return error(answer.message, answer.status);
    const done = answer.succeeded;
    const after = (await ledger.reads.readAccount(tenantId)) ?? account;
    const lot = done.purchase.lotId ?? '';
    return fundsPage(reply, v, after, {
      result: {
        kind: 'ok',
        message: done.duplicate
          ? `This purchase was made already (lot ${lot}); it was not charged again.`
          : `Paid ${formatAmount(amount, currency)}: lot ${lot} added. The balance is now ${formatAmount(after.balance, currency)}.`,
      },
    });
  });
}

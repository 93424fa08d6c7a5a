import type { FastifyInstance, FastifyReply, preHandlerHookHandler } from 'fastify';
import type { AccountView } from '../../credits/wallet';
import type { AdminLedger } from '../../settlement/admin-ports';
import type { CardGateway } from '../../settlement/ports';
import { autoRechargeChange } from '../auto-recharge';
import { autoRechargeForm, formProblem, posted } from './forms';
import { AutoRechargePage } from './pages/auto-recharge';
import type { PageFrame, TenantTab } from './pages/layout';
import type { OpenTenant, Visit } from './render';
import { html } from './render';

interface AutoRechargeViewOptions {
  ledger: AdminLedger;
  cards?: CardGateway;
  openTenant: OpenTenant;
  tabFrame: (v: Visit, account: AccountView, title: string, tab: TenantTab) => PageFrame;
  protect: { preHandler: preHandlerHookHandler };
}

/** The auto-recharge and payment page, with a result and the posted fields when there is one. */
export type RechargePage = (
  reply: FastifyReply,
  v: Visit,
  account: AccountView,
  extra?: { result?: { kind: 'ok' | 'error'; message: string }; posted?: Record<string, string> },
  status?: number,
) => Promise<FastifyReply>;

/** Auto-recharge's trigger, amount and cap; returns the page, which the card views show too. */
export function autoRechargeViews(app: FastifyInstance, options: AutoRechargeViewOptions): RechargePage {
  const { ledger, openTenant, tabFrame, protect } = options;

  const rechargePage: RechargePage = async (reply, v, account, extra = {}, status = 200) =>
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

  return rechargePage;
}

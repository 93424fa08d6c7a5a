import type { FastifyInstance } from 'fastify';
import type { AccountView } from '../../credits/wallet';
import type { AdminLedger } from '../../settlement/admin-ports';
import type { PageFrame, TenantTab } from './pages/layout';
import { StatementsPage } from './pages/statements';
import type { OpenTenant, Visit } from './render';
import { html } from './render';

interface StatementsViewOptions {
  ledger: AdminLedger;
  openTenant: OpenTenant;
  tabFrame: (v: Visit, account: AccountView, title: string, tab: TenantTab) => PageFrame;
}

/** A month's statement: usage totals and what is owed, for this month or one asked for. */
export function statementsViews(
  app: FastifyInstance,
  { ledger, openTenant, tabFrame }: StatementsViewOptions,
) {
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
}

import type { FastifyBaseLogger } from 'fastify';
import { forecastRunway } from '../../credits/forecast';
import type { AdminApp, ResourceOptions } from '../admin-app';
import { presentMoney } from '../money';
import { noAccount } from '../refusals';
import { tenantParams } from '../schemas';
import { forecastResponses } from './forecast.schemas';

/** The days of spend the forecast reads: the burn's 14 full days and today, with margin. */
const SPEND_DAYS = 16;

/**
 * A tenant's runway: the burn rate from its recent spend and when the balance is projected to
 * reach zero, or auto-recharge to trigger (src/credits/forecast.ts says how; docs/ledger.md too).
 */
export function forecastRoutes<L extends FastifyBaseLogger>(
  app: AdminApp<L>,
  { ledger, guards }: ResourceOptions,
): void {
  app.get(
    '/v1/tenants/:tenantId/forecast',
    {
      ...guards.forTenant,
      schema: {
        operationId: 'getForecast',
        tags: ['funds'],
        params: tenantParams,
        response: forecastResponses,
      },
    },
    async (request, reply) => {
      const tenant = request.params.tenantId;
      const now = new Date();
      const account = await ledger.reads.readAccount(tenant);
      if (!account) return noAccount(reply, tenant);
      const dailySpend = await ledger.reads.dailySpend(tenant, { days: SPEND_DAYS, now });
      const f = forecastRunway({ now, account, dailySpend });
      const c = account.settings.currency;
      const money = (minor: bigint) => presentMoney(minor, c);
      const iso = (at: Date | null) => (at ? at.toISOString() : null);
      return reply.send({
        tenantId: tenant,
        billingMode: account.settings.mode,
        asOf: now.toISOString(),
        balance: money(account.balance),
        burnRate: money(f.burnRate),
        basis:
          f.basis.kind === 'mean_of_full_days'
            ? {
                kind: f.basis.kind,
                from: f.basis.from,
                to: f.basis.to,
                days: f.basis.days,
                total: money(f.basis.total),
              }
            : f.basis.kind === 'today_so_far'
              ? { kind: f.basis.kind, total: money(f.basis.total) }
              : { kind: f.basis.kind },
        depletesAt: iso(f.depletesAt),
        rechargeExpectedAt: iso(f.rechargeExpectedAt),
        runwayDays: f.runwayDays,
        autoRecharge: f.autoRecharge,
        projectedRecharges: f.projectedRecharges,
        projectedForfeits: money(f.projectedForfeits),
        beyondHorizon: f.beyondHorizon,
        projectedUntil: f.projectedUntil.toISOString(),
        owedAtMonthEnd: f.owedAtMonthEnd === null ? null : money(f.owedAtMonthEnd),
        method: f.method,
      });
    },
  );
}

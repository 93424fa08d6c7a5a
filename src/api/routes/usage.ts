import type { FastifyBaseLogger } from 'fastify';
import { userKeyOf } from '../../credits/user-limits';
import type { AdminApp, ResourceOptions } from '../admin-app';
import { presentMoney } from '../money';
import { badRequest, noAccount } from '../refusals';
import { tenantParams } from '../schemas';
import { statementQuery, statementResponses, usageQuery, usageResponses } from './usage.schemas';

/** A period's totals by where the money came from (bundle, credits, postpaid, free). */
const totalsOf = (
  bySource: Record<string, { count: number; charge: bigint; poolSeconds: number }>,
  c: string,
) =>
  Object.fromEntries(
    Object.entries(bySource).map(([source, t]) => [
      source,
      { count: t.count, charge: presentMoney(t.charge, c), poolSeconds: t.poolSeconds },
    ]),
  );

/** A tenant's rated usage: the records applied in a time range, and a period's statement. */
export function usageRoutes<L extends FastifyBaseLogger>(
  app: AdminApp<L>,
  { ledger, guards }: ResourceOptions,
): void {
  app.get(
    '/v1/tenants/:tenantId/usage',
    {
      ...guards.forTenant,
      schema: {
        operationId: 'listUsage',
        tags: ['usage'],
        params: tenantParams,
        querystring: usageQuery,
        response: usageResponses,
      },
    },
    async (request, reply) => {
      const tenant = request.params.tenantId;
      const account = await ledger.reads.readAccount(tenant);
      if (!account) return noAccount(reply, tenant);
      const { from, to } = request.query;
      const limit = Number(request.query.limit ?? 100);
      const offset = Number(request.query.cursor ?? 0);
      if (Date.parse(from) >= Date.parse(to))
        return badRequest(reply, 'querystring/from must be before querystring/to');
      const c = account.settings.currency;
      const page = await ledger.reads.listUsage(tenant, {
        from: new Date(from),
        to: new Date(to),
        offset,
        limit,
      });
      const totals = await ledger.reads.usageTotals(tenant);
      const periods = Object.keys(totals).filter(
        (period) =>
          period >= new Date(from).toISOString().slice(0, 7) &&
          period <= new Date(Date.parse(to) - 1).toISOString().slice(0, 7),
      );
      return reply.send({
        items: page.map(({ usageId, outcome }) => ({
          usageId,
          startedAt: outcome.start.toISOString(),
          appliedAt: outcome.appliedAt.toISOString(),
          period: outcome.period,
          source: outcome.source,
          charge: presentMoney(outcome.charge, c),
          poolSeconds: outcome.poolSeconds,
          revision: outcome.revision || null,
          user: userKeyOf(outcome.report) || null,
        })),
        nextCursor: page.length === limit ? String(offset + limit) : null,
        totalsByPeriod: Object.fromEntries(
          periods.sort().map((period) => [period, totalsOf(totals[period]!, c)]),
        ),
      });
    },
  );

  app.get(
    '/v1/tenants/:tenantId/statement',
    {
      ...guards.forTenant,
      schema: {
        operationId: 'getStatement',
        tags: ['usage'],
        params: tenantParams,
        querystring: statementQuery,
        response: statementResponses,
      },
    },
    async (request, reply) => {
      const tenant = request.params.tenantId;
      const account = await ledger.reads.readAccount(tenant);
      if (!account) return noAccount(reply, tenant);
      const c = account.settings.currency;
      const { period } = request.query;
      const totals = (await ledger.reads.usageTotals(tenant))[period] ?? {};
      return reply.send({
        tenantId: tenant,
        period,
        billingMode: account.settings.mode,
        usage: totalsOf(totals, c),
        amountOwed: account.settings.mode === 'postpaid' ? presentMoney(account.owed[period] ?? 0n, c) : null,
      });
    },
  );
}

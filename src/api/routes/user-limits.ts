import type { FastifyBaseLogger } from 'fastify';
import { utcMonth } from '../../credits/calendar';
import { userKeyProblem } from '../../credits/user-limits';
import type { MinorUnits } from '../../credits/wallet';
import type { AdminApp, ResourceOptions } from '../admin-app';
import { presentMoney } from '../money';
import { badRequest, noAccount, refused } from '../refusals';
import { tenantParams } from '../schemas';
import { userLimitRows, userLimitsChange } from '../user-limits';
import {
  clearUserBlockResponses,
  getUserLimitsResponses,
  putUserLimitsResponses,
  userBlockParams,
  userLimitsBody,
} from './user-limits.schemas';

/** The limits as GET .../user-limits answers them: each user's spend this month, the guard, the blocks. */
async function limitsView(ledger: ResourceOptions['ledger'], tenant: string, currency: string) {
  const month = utcMonth(new Date());
  const limits = await ledger.reads.userLimits(tenant, month, currency);
  const money = (minor: MinorUnits | undefined) =>
    minor === undefined ? null : presentMoney(minor, currency);
  const users = userLimitRows(limits).map((row) => ({
    user: row.user,
    limit: money(row.limit),
    limitFrom: row.limitFrom,
    spent: presentMoney(row.spent, currency),
    left: money(row.left),
    reached: row.reached,
  }));
  const guard = limits.burstGuard;
  const burstGuard = guard
    ? {
        windowMinutes: guard.windowMinutes,
        maxInternationalCalls: guard.maxInternationalCalls ?? null,
        maxSpend: money(guard.maxSpend),
      }
    : null;
  const blocked = [...limits.blocked.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([user, block]) => ({ user, at: block.at.toISOString(), reason: block.reason }));
  const caps = limits.concurrentCalls;
  const concurrentCalls = caps ? { perTenant: caps.perTenant ?? null, perUser: caps.perUser ?? null } : null;
  return {
    tenantId: tenant,
    month,
    currency,
    default: money(limits.default),
    users,
    burstGuard,
    blocked,
    concurrentCalls,
  };
}

/**
 * Per-user monthly spend limits of the tenant's credits: the tenant admin (or the operator)
 * sets a default and limits by user, and the burst guard; the listing shows each user's spend
 * this month and the users the guard blocked, whose block an admin clears.
 */
export function userLimitsRoutes<L extends FastifyBaseLogger>(
  app: AdminApp<L>,
  { ledger, guards }: ResourceOptions,
): void {
  const view = (tenant: string, currency: string) => limitsView(ledger, tenant, currency);

  app.get(
    '/v1/tenants/:tenantId/user-limits',
    {
      ...guards.forTenant,
      schema: {
        operationId: 'getUserLimits',
        tags: ['tenants'],
        params: tenantParams,
        response: getUserLimitsResponses,
      },
    },
    async (request, reply) => {
      const tenant = request.params.tenantId;
      const account = await ledger.reads.readAccount(tenant);
      if (!account) return noAccount(reply, tenant);
      return reply.send(await view(tenant, account.settings.currency));
    },
  );

  app.put(
    '/v1/tenants/:tenantId/user-limits',
    {
      ...guards.forTenant,
      schema: {
        operationId: 'updateUserLimits',
        tags: ['tenants'],
        params: tenantParams,
        body: userLimitsBody,
        response: putUserLimitsResponses,
      },
    },
    async (request, reply) => {
      const tenant = request.params.tenantId;
      // The amounts are converted in the stored currency; the script refuses the change
      // should the currency have changed since (currency_mismatch).
      const account = await ledger.reads.readAccount(tenant);
      if (!account) return noAccount(reply, tenant);
      const currency = account.settings.currency;
      const asked = userLimitsChange(currency, request.body, {
        default: 'body/default',
        users: 'body/users',
        user: (user) => `body/users/${user}`,
        burstGuard: 'body/burstGuard',
      });
      if ('problem' in asked) return badRequest(reply, asked.problem);
      const result = await ledger.writes.setUserLimits(tenant, asked.change);
      if ('refused' in result) return refused(reply, result);
      return reply.send(await view(tenant, currency));
    },
  );

  app.delete(
    '/v1/tenants/:tenantId/user-blocks/:user',
    {
      ...guards.forTenant,
      schema: {
        operationId: 'clearUserBlock',
        tags: ['tenants'],
        params: userBlockParams,
        response: clearUserBlockResponses,
      },
    },
    async (request, reply) => {
      const { tenantId: tenant, user } = request.params;
      const problem = userKeyProblem(user);
      if (problem) return badRequest(reply, `params/user: the user key ${problem}`);
      const account = await ledger.reads.readAccount(tenant);
      if (!account) return noAccount(reply, tenant);
      const result = await ledger.writes.clearUserBlock(tenant, user);
      if (result.status === 'not_blocked')
        return reply.code(404).send({ error: 'not_blocked', message: `user ${user} is not blocked` });
      return reply.code(204).send();
    },
  );
}

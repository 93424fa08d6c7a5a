import type { FastifyBaseLogger } from 'fastify';
import { utcMonth } from '../../credits/calendar';
import { decimalToMinor } from '../../credits/money';
import {
  burstGuardProblem,
  effectiveLimit,
  isUserKey,
  limitLeft,
  MAX_USER_KEY_LENGTH,
  type BurstGuard,
  type UserLimit,
} from '../../credits/user-limits';
import type { MinorUnits } from '../../credits/wallet';
import type { AdminApp, ResourceOptions } from '../admin-app';
import { presentMoney, tooPrecise } from '../money';
import { badRequest, noAccount, refused } from '../refusals';
import { tenantParams } from '../schemas';
import {
  clearUserBlockResponses,
  getUserLimitsResponses,
  putUserLimitsResponses,
  userBlockParams,
  userLimitsBody,
} from './user-limits.schemas';

/**
 * Per-user monthly spend limits of the tenant's credits: the tenant admin (or the operator)
 * sets a default and limits by user, and the burst guard; the listing shows each user's spend
 * this month and the users the guard blocked, whose block an admin clears.
 */
export function userLimitsRoutes<L extends FastifyBaseLogger>(
  app: AdminApp<L>,
  { ledger, guards }: ResourceOptions,
): void {
  const view = async (tenant: string, currency: string) => {
    const month = utcMonth(new Date());
    const limits = await ledger.reads.userLimits(tenant, month, currency);
    const money = (minor: MinorUnits | undefined) =>
      minor === undefined ? null : presentMoney(minor, currency);
    const users = [...limits.users.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([user, u]) => {
        const limit = effectiveLimit(u.own, limits.default);
        return {
          user,
          limit: money(limit),
          limitFrom:
            u.own !== undefined
              ? u.own === 'none'
                ? 'none'
                : 'user'
              : limit !== undefined
                ? 'default'
                : 'none',
          spent: presentMoney(u.spent, currency),
          left: money(limitLeft(limit, u.spent)),
          reached: u.reached,
        } as const;
      });
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
    return { tenantId: tenant, month, currency, default: money(limits.default), users, burstGuard, blocked };
  };

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
      const body = request.body;
      // The amounts are converted in the stored currency; the script refuses the change
      // should the currency have changed since (currency_mismatch).
      const account = await ledger.reads.readAccount(tenant);
      if (!account) return noAccount(reply, tenant);
      const currency = account.settings.currency;
      const users = Object.entries(body.users ?? {});
      const long = users.find(([user]) => !isUserKey(user));
      if (long)
        return badRequest(
          reply,
          `body/users: ${long[0].slice(0, 40)}... is over ${MAX_USER_KEY_LENGTH} bytes`,
        );
      const amounts: Record<string, string | undefined> = {
        'body/default': body.default ?? undefined,
      };
      for (const [user, value] of users)
        if (value !== null && value !== 'none') amounts[`body/users/${user}`] = value;
      if (body.burstGuard?.maxSpend) amounts['body/burstGuard/maxSpend'] = body.burstGuard.maxSpend;
      const imprecise = tooPrecise(currency, amounts);
      if (imprecise) return badRequest(reply, imprecise);
      let burstGuard: BurstGuard | null | undefined = undefined;
      if (body.burstGuard !== undefined) {
        const g = body.burstGuard;
        burstGuard = g && {
          windowMinutes: g.windowMinutes,
          ...(typeof g.maxInternationalCalls === 'number'
            ? { maxInternationalCalls: g.maxInternationalCalls }
            : {}),
          ...(g.maxSpend ? { maxSpend: decimalToMinor(g.maxSpend, currency) } : {}),
        };
        const problem = burstGuard && burstGuardProblem(burstGuard, 'body/burstGuard');
        if (problem) return badRequest(reply, problem);
      }
      const limit = (value: string | null): UserLimit | null =>
        value === null || value === 'none' ? value : decimalToMinor(value, currency);
      const result = await ledger.writes.setUserLimits(tenant, {
        currency,
        ...(body.default !== undefined
          ? { default: body.default === null ? null : decimalToMinor(body.default, currency) }
          : {}),
        users: Object.fromEntries(users.map(([user, value]) => [user, limit(value as string | null)])),
        ...(burstGuard !== undefined ? { burstGuard } : {}),
      });
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
      if (!isUserKey(user)) return badRequest(reply, `params/user: over ${MAX_USER_KEY_LENGTH} bytes`);
      const account = await ledger.reads.readAccount(tenant);
      if (!account) return noAccount(reply, tenant);
      const result = await ledger.writes.clearUserBlock(tenant, user);
      if (result.status === 'not_blocked')
        return reply.code(404).send({ error: 'not_blocked', message: `user ${user} is not blocked` });
      return reply.code(204).send();
    },
  );
}

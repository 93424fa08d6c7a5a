import type { FastifyBaseLogger } from 'fastify';
import { utcMonth } from '../../credits/calendar';
import { decimalToMinor } from '../../credits/money';
import { usersAtLimit } from '../../credits/user-limits';
import type { AdminApp, ResourceOptions } from '../admin-app';
import { presentMoney, tooPrecise } from '../money';
import { purchaseCredits } from '../../settlement/purchase-credits';
import { isReplicaLag } from '../../settlement/retry';
import { badRequest, noAccount, refusedPayment, replicasLagging } from '../refusals';
import { tenantParams } from '../schemas';
import { etag } from '../settings-version';
import {
  adjustmentBody,
  adjustmentResponses,
  balanceResponses,
  purchaseBody,
  purchaseResponses,
} from './funds.schemas';

/** The users at their spend limit the balance names at most (GET user-limits lists them all). */
const USERS_AT_LIMIT_SHOWN = 100;

/** How far ahead of this server's clock a purchase time may be (the caller's clock may run fast). */
const PURCHASE_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * A tenant's funds: lots bought through the payment gateway or added by the operator, and the
 * balance they make, with their expiries.
 */
export function fundsRoutes<L extends FastifyBaseLogger>(app: AdminApp<L>, options: ResourceOptions): void {
  purchaseRoute(app, options);
  adjustmentRoute(app, options);
  balanceRoute(app, options);
}

/** POST .../purchases: a tenant admin buys credits. */
function purchaseRoute<L extends FastifyBaseLogger>(
  app: AdminApp<L>,
  { ledger, gateway, guards }: ResourceOptions,
): void {
  /**
   * A tenant admin buys credits: charged through the payment gateway first, credited only
   * when the payment succeeded, exactly once per purchase id (src/api/purchases.ts).
   */
  app.post(
    '/v1/tenants/:tenantId/purchases',
    {
      ...guards.forTenant,
      schema: {
        operationId: 'createPurchase',
        tags: ['funds'],
        params: tenantParams,
        body: purchaseBody,
        response: purchaseResponses,
      },
    },
    async (request, reply) => {
      const tenant = request.params.tenantId;
      const body = request.body;
      const imprecise = tooPrecise(body.currency, { 'body/amount': body.amount });
      if (imprecise) return badRequest(reply, imprecise);
      const amountMinor = decimalToMinor(body.amount, body.currency);
      if (amountMinor <= 0n) return badRequest(reply, 'body/amount must be more than zero');
      if (!gateway)
        return reply.code(503).send({
          error: 'purchases_disabled',
          message: 'this service has no payment gateway (PAYMENT_GATEWAY=none)',
        });
      const result = await purchaseCredits(ledger.writes, gateway, tenant, {
        purchaseId: body.purchaseId,
        amount: amountMinor,
        currency: body.currency,
      });
      if ('refused' in result) return refusedPayment(reply, 'body/purchaseId', body.purchaseId, result);
      if (result.outcome === 'unavailable')
        return reply.code(503).send({ error: 'payment_gateway_unavailable', message: result.message });
      if (result.outcome === 'not_replicated') {
        request.log.warn({ tenantId: tenant, detail: result.message }, 'purchase not yet on the replicas');
        return replicasLagging(reply, 'purchase');
      }
      const { purchase } = result;
      if (result.outcome === 'failed')
        return reply.code(402).send({
          error: 'payment_failed',
          message: purchase.message || purchase.reason,
          purchaseId: purchase.purchaseId,
          declineCode: purchase.reason,
        });
      return reply.code(result.duplicate ? 200 : 201).send({
        purchaseId: purchase.purchaseId,
        status: 'succeeded',
        duplicate: result.duplicate,
        lotId: purchase.lotId,
        amount: presentMoney(purchase.amount, purchase.currency),
        gatewayRef: purchase.gatewayRef,
        balance: presentMoney(purchase.balance ?? 0n, purchase.currency),
      });
    },
  );
}

/** POST .../adjustments: the operator adds or removes money without a payment. */
function adjustmentRoute<L extends FastifyBaseLogger>(
  app: AdminApp<L>,
  { ledger, guards }: ResourceOptions,
): void {
  /**
   * An operator's adjustment: money without a payment (goodwill, a correction, a migration),
   * with its reason and who made it. Only a migration may be back-dated.
   */
  app.post(
    '/v1/tenants/:tenantId/adjustments',
    {
      ...guards.forOperator,
      schema: {
        operationId: 'createAdjustment',
        tags: ['funds'],
        params: tenantParams,
        body: adjustmentBody,
        response: adjustmentResponses,
      },
    },
    async (request, reply) => {
      const tenant = request.params.tenantId;
      const body = request.body;
      const migration = body.kind === 'migration';
      if (body.purchasedAt !== undefined && !migration)
        return badRequest(reply, 'body/purchasedAt is for migrations only (kind: migration)');
      if (!body.reason.trim()) return badRequest(reply, 'body/reason must say why');
      if (!body.madeBy.trim()) return badRequest(reply, 'body/madeBy must name who made it');
      const imprecise = tooPrecise(body.currency, { 'body/amount': body.amount });
      if (imprecise) return badRequest(reply, imprecise);
      const amountMinor = decimalToMinor(body.amount, body.currency);
      if (amountMinor <= 0n) return badRequest(reply, 'body/amount must be more than zero');
      // Without a purchase time the lot is bought now, on the ledger's clock.
      const purchasedAt = body.purchasedAt ? new Date(body.purchasedAt) : undefined;
      // Funds bought in the future would expire later than 12 months after they were paid.
      if (purchasedAt && purchasedAt.getTime() > Date.now() + PURCHASE_CLOCK_SKEW_MS)
        return badRequest(reply, 'body/purchasedAt must not be in the future');
      const result = await ledger.writes.addFunds(tenant, {
        paymentRef: body.adjustmentId,
        amount: amountMinor,
        currency: body.currency,
        purchasedAt,
        reason: body.reason.trim(),
        madeBy: body.madeBy.trim(),
        migration,
      });
      if ('refused' in result) return refusedPayment(reply, 'body/adjustmentId', body.adjustmentId, result);
      try {
        await ledger.writes.awaitReplicas([tenant]);
      } catch (error) {
        if (!isReplicaLag(error)) throw error;
        request.log.warn({ tenantId: tenant, err: error }, 'adjustment not yet on the replicas');
        return replicasLagging(reply, 'adjustment');
      }
      return reply.code(result.duplicate ? 200 : 201).send({
        adjustmentId: body.adjustmentId,
        lotId: result.lotId,
        duplicate: result.duplicate,
        balance: presentMoney(result.balance, body.currency),
      });
    },
  );
}

/** GET .../balance: the balance, its lots, and the users at their spend limit. */
function balanceRoute<L extends FastifyBaseLogger>(
  app: AdminApp<L>,
  { ledger, guards }: ResourceOptions,
): void {
  app.get(
    '/v1/tenants/:tenantId/balance',
    {
      ...guards.forTenant,
      schema: {
        operationId: 'getBalance',
        tags: ['funds'],
        params: tenantParams,
        response: balanceResponses,
      },
    },
    async (request, reply) => {
      const tenant = request.params.tenantId;
      const account = await ledger.reads.readAccount(tenant);
      if (!account) return noAccount(reply, tenant);
      const c = account.settings.currency;
      const money = (minor: bigint) => presentMoney(minor, c);
      const month = utcMonth(new Date());
      const limits = await ledger.reads.userLimits(tenant, month, c);
      const { lastFailure } = account.autoRecharge;
      return reply.header('etag', etag(account.settingsVersion)).send({
        tenantId: tenant,
        billingMode: account.settings.mode,
        balance: money(account.balance),
        reserved: money(account.sessionsHold),
        available: money(account.balance - account.sessionsHold),
        blocked: account.blocked,
        lowBalanceThreshold: money(account.settings.lowBalanceThreshold),
        autoRecharge: {
          enabled: account.settings.autoRecharge.enabled,
          triggerAmount: money(account.settings.autoRecharge.trigger),
          rechargeAmount: money(account.settings.autoRecharge.amount),
          monthlyCap: account.settings.autoRecharge.monthlyCap,
          pendingRequestId: account.autoRecharge.pendingRequestId || null,
          consecutiveFailures: account.autoRecharge.consecutiveFailures,
          lastFailure: lastFailure ? { at: lastFailure.at.toISOString(), reason: lastFailure.reason } : null,
        },
        lots: account.lots.map((lot) => ({
          lotId: lot.lotId,
          source: lot.source,
          amount: money(lot.amount),
          remaining: money(lot.remaining),
          forfeited: money(lot.expired),
          purchasedAt: lot.purchasedAt.toISOString(),
          expiresAt: lot.expiresAt.toISOString(),
          status: lot.status,
        })),
        pools: Object.entries(account.poolUsed).map(([key, used]) => ({
          pool: key.slice(0, key.lastIndexOf(':')),
          month: key.slice(key.lastIndexOf(':') + 1),
          usedSeconds: used,
        })),
        owed: Object.entries(account.owed).map(([period, owed]) => ({ period, amount: money(owed) })),
        usersAtLimit: { month, ...usersAtLimit(limits.users, limits.default, USERS_AT_LIMIT_SHOWN) },
      });
    },
  );
}

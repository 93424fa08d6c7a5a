import { lotExpiry } from '../credits/calendar';
import type { MinorUnits, PurchaseRecord } from '../credits/wallet';
import { Refusal, ResultCode } from './result-codes';
import { AccountWrites } from './account-writes';

function parsePurchase(purchaseId: string, json: string): PurchaseRecord {
  const raw = JSON.parse(json) as Record<string, string | undefined>;
  return {
    purchaseId,
    status: raw.status as PurchaseRecord['status'],
    amount: BigInt(raw.amount!),
    currency: raw.currency!,
    paymentMethodRef: raw.paymentMethodRef!,
    startedAt: new Date(Number(raw.startedAt)),
    ...(raw.settledAt ? { settledAt: new Date(Number(raw.settledAt)) } : {}),
    ...(raw.lotId ? { lotId: raw.lotId } : {}),
    ...(raw.gatewayRef ? { gatewayRef: raw.gatewayRef } : {}),
    ...(raw.balance !== undefined ? { balance: BigInt(raw.balance) } : {}),
    ...(raw.paidDebt !== undefined ? { paidDebt: BigInt(raw.paidDebt) } : {}),
    ...(raw.status === 'failed' ? { reason: raw.reason ?? '', message: raw.message ?? '' } : {}),
  };
}

/** Money in: funds added, purchases and auto-recharges recorded with their lots; lots expired. */
export class FundsWrites extends AccountWrites {
  /**
   * An operator's adjustment (a goodwill credit, a migration): a lot without a payment,
   * idempotent by `paymentRef`. `reason` and `madeBy` are audited on the lot and in
   * credits.adjustment.added; tooling that seeds accounts (tests, the load generator) gets
   * `provisioning` by `system`.
   */
  async addFunds(
    tenantId: string,
    funds: {
      paymentRef: string;
      amount: MinorUnits;
      currency: string;
      /** Default: now, the script's own clock (so a lot bought now is never taken as back-dated). */
      purchasedAt?: Date;
      reason?: string;
      madeBy?: string;
      /** A migration from another system: the only adjustment that may be back-dated. */
      migration?: boolean;
    },
  ): Promise<{ duplicate: boolean; lotId: string; balance: MinorUnits; paidDebt: MinorUnits } | Refusal> {
    const now = this.clock();
    const purchasedAt = funds.purchasedAt ?? now;
    const result = await this.run('addFunds', this.paymentKeys(tenantId), [
      tenantId,
      ...this.clockArgs(now),
      funds.paymentRef,
      funds.amount.toString(),
      funds.currency,
      purchasedAt.getTime(),
      lotExpiry(purchasedAt).getTime(),
      funds.reason ?? 'provisioning',
      funds.madeBy ?? 'system',
      funds.migration ? '1' : '0',
    ]);
    if ('refused' in result) return result;
    const outcome = JSON.parse(String(result.reply[1])) as Record<string, string>;
    return {
      duplicate: result.code === ResultCode.DUPLICATE,
      lotId: outcome.lotId!,
      balance: BigInt(outcome.balance!),
      paidDebt: BigInt(outcome.paidDebt!),
    };
  }

  /**
   * Begins a purchase (before the card is charged): pending with its amount, currency and the
   * tenant's payment method, or the stored purchase when this id was begun before.
   * `settled` is true when it succeeded or failed before: nothing is to be charged then.
   */
  async beginPurchase(
    tenantId: string,
    purchase: { purchaseId: string; amount: MinorUnits; currency: string },
  ): Promise<{ settled: boolean; purchase: PurchaseRecord } | Refusal> {
    const k = this.keys(tenantId);
    const result = await this.run(
      'beginPurchase',
      [k.account, k.payments, this.pendingKey(tenantId)],
      [tenantId, this.clock().getTime(), purchase.purchaseId, purchase.amount.toString(), purchase.currency],
    );
    if ('refused' in result) return result;
    return {
      settled: result.code === ResultCode.DUPLICATE,
      purchase: parsePurchase(purchase.purchaseId, String(result.reply[1])),
    };
  }

  /** Records the gateway's answer to a pending purchase: the lot on success, once. */
  async recordPurchase(
    tenantId: string,
    result:
      | { purchaseId: string; status: 'succeeded'; gatewayRef: string }
      | { purchaseId: string; status: 'failed'; reason: string; message: string },
  ): Promise<{ duplicate: boolean; purchase: PurchaseRecord } | Refusal> {
    const now = this.clock();
    const succeeded = result.status === 'succeeded';
    const reply = await this.run('recordPurchase', this.paymentKeys(tenantId), [
      tenantId,
      ...this.clockArgs(now),
      result.purchaseId,
      result.status,
      now.getTime(),
      lotExpiry(now).getTime(),
      succeeded ? result.gatewayRef : '',
      succeeded ? '' : result.reason,
      succeeded ? '' : result.message,
    ]);
    if ('refused' in reply) return reply;
    return {
      duplicate: reply.code === ResultCode.DUPLICATE,
      purchase: parsePurchase(result.purchaseId, String(reply.reply[1])),
    };
  }

  async recordRechargeResult(
    tenantId: string,
    result:
      | { requestId: string; status: 'succeeded'; amount: MinorUnits; currency: string; gatewayRef: string }
      | { requestId: string; status: 'failed'; reason: string },
  ): Promise<
    | {
        duplicate: boolean;
        status: 'succeeded' | 'failed';
        lotId: string;
        balance: MinorUnits;
        failures: number;
        autoRechargeDisabled: boolean;
      }
    | Refusal
  > {
    const now = this.clock();
    const succeeded = result.status === 'succeeded';
    const reply = await this.run('rechargeResult', this.paymentKeys(tenantId), [
      tenantId,
      ...this.clockArgs(now),
      result.requestId,
      result.status,
      succeeded ? result.amount.toString() : '0',
      succeeded ? result.currency : '',
      now.getTime(),
      lotExpiry(now).getTime(),
      succeeded ? result.gatewayRef : '',
      succeeded ? '' : result.reason,
    ]);
    if ('refused' in reply) return reply;
    const outcome = JSON.parse(String(reply.reply[1])) as {
      status: 'succeeded' | 'failed';
      lotId: string;
      balance: string;
      failures: string;
      autoRechargeDisabled: boolean;
    };
    return {
      duplicate: reply.code === ResultCode.DUPLICATE,
      status: outcome.status,
      lotId: outcome.lotId,
      balance: BigInt(outcome.balance),
      failures: Number(outcome.failures),
      autoRechargeDisabled: outcome.autoRechargeDisabled,
    };
  }

  async expireLots(
    tenantId: string,
    now = this.clock(),
  ): Promise<{ lotsExpired: number; forfeited: MinorUnits; balance: MinorUnits } | Refusal> {
    const k = this.keys(tenantId);
    const result = await this.run(
      'expireLots',
      [k.account, k.lots, k.lotExpiry, k.outbox, ...this.indexKeys(tenantId), this.pendingKey(tenantId)],
      [tenantId, ...this.clockArgs(now)],
    );
    if ('refused' in result) return result;
    return {
      lotsExpired: Number(result.reply[1]),
      forfeited: BigInt(String(result.reply[2])),
      balance: BigInt(String(result.reply[3])),
    };
  }
}

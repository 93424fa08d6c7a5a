import type { Cluster, Redis } from 'ioredis';
import type { MinorUnits } from '../credits/wallet';
import { tenantKeys } from './keys';
import { guarded } from './result-codes';

type Kind = 'purchase' | 'recharge';

/** A purchase or an auto-recharge request as the ledger holds it (the settlement's HeldPayment). */
export interface StoredPayment {
  kind: Kind;
  tenantId: string;
  id: string;
  status: 'pending' | 'succeeded' | 'failed';
  amount: MinorUnits;
  currency: string;
  paymentMethodRef: string;
  startedAt: Date;
  lotId?: string;
  gatewayRef?: string;
  reason?: string;
}

/** A lot bought by a purchase (`p:<purchase id>`) or an auto-recharge (`r:<request id>`). */
export interface StoredPaymentLot {
  tenantId: string;
  lotId: string;
  kind: Kind;
  paymentId: string;
  amount: MinorUnits;
  currency: string;
  gatewayRef: string;
  purchasedAt: Date;
}

const ACCOUNT_FIELDS = [
  'currency',
  'arPending',
  'arPendingSince',
  'arPendingAmount',
  'arPendingMethod',
  'arAmount',
  'paymentMethodRef',
] as const;

/**
 * Reads of the tenants' payments (purchases in the payments hash, the auto-recharge request
 * on the account, the lots they bought), for the reconciler and the payments report. Plain
 * reads: settling is the scripts' (recordPurchase, rechargeResult).
 */
export class PaymentReads {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix = '',
  ) {}

  async readPayment(tenantId: string, kind: Kind, id: string): Promise<StoredPayment | undefined> {
    const k = tenantKeys(tenantId, this.prefix);
    if (kind === 'purchase') {
      const raw = await guarded('readPayment', () => this.redis.hget(k.payments, `purchase:${id}`));
      if (!raw) return undefined;
      const p = JSON.parse(raw) as Record<string, string | undefined>;
      return {
        kind,
        tenantId,
        id,
        status: p.status as StoredPayment['status'],
        amount: BigInt(p.amount!),
        currency: p.currency!,
        paymentMethodRef: p.paymentMethodRef!,
        startedAt: new Date(Number(p.startedAt)),
        ...(p.lotId ? { lotId: p.lotId } : {}),
        ...(p.gatewayRef ? { gatewayRef: p.gatewayRef } : {}),
        ...(p.status === 'failed' ? { reason: p.reason ?? '' } : {}),
      };
    }
    const [account, outcome, lot] = await guarded('readPayment', () =>
      Promise.all([
        this.redis.hmget(k.account, ...ACCOUNT_FIELDS),
        this.redis.hget(k.payments, `recharge:${id}`),
        this.redis.hget(k.lots, `r:${id}`),
      ]),
    );
    const [currency, pending, since, pendingAmount, pendingMethod, arAmount, methodRef] = account;
    if (!currency) return undefined;
    const base = { kind, tenantId, id, currency };
    if (outcome) {
      const o = JSON.parse(outcome) as { status: 'succeeded' | 'failed'; lotId?: string };
      const l = lot ? (JSON.parse(lot) as Record<string, string>) : undefined;
      return {
        ...base,
        status: o.status,
        amount: l ? BigInt(l.amount!) : 0n,
        paymentMethodRef: '',
        startedAt: new Date(l ? Number(l.purchasedAt) : 0),
        ...(o.lotId ? { lotId: o.lotId } : {}),
        ...(l?.ref ? { gatewayRef: l.ref } : {}),
      };
    }
    if (pending !== id) return undefined;
    // A request made before the amount and method were kept with it: the account's settings.
    return {
      ...base,
      status: 'pending',
      amount: BigInt(pendingAmount || arAmount || '0'),
      paymentMethodRef: pendingMethod || methodRef || '',
      startedAt: new Date(Number(since || 0)),
    };
  }

  /** The tenant's lots bought by a purchase or a recharge in [from, to). */
  async paymentLots(tenantId: string, window: { from: Date; to: Date }): Promise<StoredPaymentLot[]> {
    const k = tenantKeys(tenantId, this.prefix);
    const [lots, currency] = await guarded('paymentLots', () =>
      Promise.all([this.redis.hgetall(k.lots), this.redis.hget(k.account, 'currency')]),
    );
    const found: StoredPaymentLot[] = [];
    for (const [lotId, json] of Object.entries(lots)) {
      const lot = JSON.parse(json) as Record<string, string>;
      const kind = lot.source === 'purchase' || lot.source === 'recharge' ? lot.source : undefined;
      const purchasedAt = new Date(Number(lot.purchasedAt));
      if (!kind || purchasedAt < window.from || purchasedAt >= window.to) continue;
      found.push({
        tenantId,
        lotId,
        kind,
        paymentId: lotId.slice(2),
        amount: BigInt(lot.amount!),
        currency: currency ?? '',
        gatewayRef: lot.ref ?? '',
        purchasedAt,
      });
    }
    return found.sort((a, b) => a.purchasedAt.getTime() - b.purchasedAt.getTime());
  }
}

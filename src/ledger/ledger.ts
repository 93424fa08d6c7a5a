import type { Cluster, Redis } from 'ioredis';
import { lotExpiry, utcMonth } from '../credits/calendar';
import type {
  AccountSettings,
  AccountView,
  AppliedUsage,
  BillingMode,
  LedgerUsage,
  LotView,
  MinorUnits,
  PurchaseRecord,
  RatedBatch,
  SettingsChange,
  UsageOutcome,
  UsageSource,
  UsageState,
  UsageTotal,
} from '../credits/wallet';
import { tenantKeys, TenantKeys, tenantRegistryKey } from './keys';
import { interpret, LedgerError, Refusal, ResultCode } from './result-codes';
import { registerScripts, SCRIPTS_VERSION } from './script-loader';

export interface LedgerOptions {
  /** Key prefix (a namespace; tests use a fresh one each). */
  prefix?: string;
  /** How long an applied usage id is remembered (default 35 days). */
  idempotencyRetentionMs?: number;
  clock?: () => Date;
}

export const DEFAULT_IDEMPOTENCY_RETENTION_MS = 35 * 24 * 3600 * 1000;
/** Usages per applyUsage call: bounds a script's run time (Redis serves nothing else meanwhile). */
export const MAX_BATCH = 1000;

type ScriptCall = (...args: (string | number)[]) => Promise<unknown[]>;

interface RawOutcome {
  src: UsageSource;
  charge: string;
  pool: string;
  poolSec: string;
  period: string;
  lots: [string, string][] | Record<string, never>;
  balance: string;
  at: string;
  rv: string;
  r?: string;
}

function parseOutcome(json: string): UsageOutcome {
  const raw = JSON.parse(json) as RawOutcome;
  // Lua's cjson encodes an empty list as {}.
  const lots = Array.isArray(raw.lots) ? raw.lots : [];
  return {
    source: raw.src,
    charge: BigInt(raw.charge),
    pool: raw.pool,
    poolSeconds: Number(raw.poolSec),
    period: raw.period,
    lots: lots.map(([lotId, amount]) => ({ lotId, amount: BigInt(amount) })),
    balanceAfter: BigInt(raw.balance),
    appliedAt: new Date(Number(raw.at)),
    revision: raw.rv,
    rated: raw.r ?? '',
  };
}

const usageJson = (u: LedgerUsage) => ({
  id: u.id,
  src: u.source,
  charge: u.charge.toString(),
  pool: u.pool,
  poolSec: u.poolSeconds,
  period: u.period,
  r: u.rated ?? '',
});

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

/**
 * The tenants' money in Redis. Every state change is one Lua script (src/ledger/commands),
 * atomic, idempotent by its natural key, and writes the events it causes to the tenant's
 * outbox stream in the same step.
 */
export class CreditLedger {
  private readonly prefix: string;
  private readonly retentionMs: number;
  private readonly clock: () => Date;

  constructor(
    private readonly redis: Redis | Cluster,
    options: LedgerOptions = {},
  ) {
    this.prefix = options.prefix ?? '';
    this.retentionMs = options.idempotencyRetentionMs ?? DEFAULT_IDEMPOTENCY_RETENTION_MS;
    this.clock = options.clock ?? (() => new Date());
    registerScripts(redis);
  }

  keys(tenantId: string): TenantKeys {
    return tenantKeys(tenantId, this.prefix);
  }

  /** Every script call goes through here: keys first, then arguments, codes interpreted. */
  private async run(operation: string, keys: string[], args: (string | number)[]) {
    const call = (this.redis as unknown as Record<string, ScriptCall>)[`${operation}V${SCRIPTS_VERSION}`];
    if (!call) throw new LedgerError(operation, ResultCode.BAD_ARGUMENT, 'no such script');
    const reply = await call.call(this.redis, ...keys, ...args);
    return interpret(operation, reply);
  }

  private clockArgs(now = this.clock()): [number, string, string] {
    return [now.getTime(), now.toISOString(), utcMonth(now)];
  }

  /**
   * Creates the account or replaces every setting (money and state stay): for callers that
   * own the whole account (the demo, the load generator, tests). The API's updates name
   * their fields (updateSettings).
   */
  async upsertAccount(tenantId: string, settings: AccountSettings): Promise<'created' | 'updated' | Refusal> {
    const result = await this.updateSettings(tenantId, settings, { create: true });
    return 'refused' in result ? result : result.status;
  }

  /**
   * Changes the settings `change` names, and only those, in one script against the stored
   * state (updateSettings-2.lua): a concurrent change of other fields is never undone.
   * `create` lets it open the account (then mode and currency must be named); `ifCurrency`
   * refuses (currency_mismatch) when the amounts named were converted in another currency
   * than the stored one; `ifVersion` refuses (version_mismatch) when the settings changed
   * since that version was read.
   */
  async updateSettings(
    tenantId: string,
    change: SettingsChange,
    options: { create?: boolean; ifCurrency?: string; ifVersion?: number } = {},
  ): Promise<{ status: 'created' | 'updated'; version: number } | Refusal> {
    const k = this.keys(tenantId);
    // Registered first: a tenant the sweeper and the relay cannot find would keep its events.
    if (options.create) await this.redis.sadd(tenantRegistryKey(this.prefix), tenantId);
    const ar = change.autoRecharge ?? {};
    const named = (value: string | undefined, field: string) =>
      value === undefined ? {} : { [field]: value };
    const fields = {
      ...named(change.mode, 'mode'),
      ...named(change.currency, 'currency'),
      ...named(change.lowBalanceThreshold?.toString(), 'lowThreshold'),
      ...named(ar.enabled === undefined ? undefined : ar.enabled ? '1' : '0', 'arEnabled'),
      ...named(ar.trigger?.toString(), 'arTrigger'),
      ...named(ar.amount?.toString(), 'arAmount'),
      ...named(ar.monthlyCap?.toString(), 'arMonthlyCap'),
      ...named(ar.maxConsecutiveFailures?.toString(), 'arMaxFailures'),
      ...named(change.paymentMethodRef, 'paymentMethodRef'),
      ...named(change.adminContacts && JSON.stringify(change.adminContacts), 'contacts'),
      // cjson decodes {} and [] alike; capacities are an object, so an empty one is fine.
      ...(change.poolCapacities ? { caps: change.poolCapacities } : {}),
    };
    const result = await this.run(
      'updateSettings',
      [k.account, k.pools],
      [
        tenantId,
        ...this.clockArgs(),
        options.create ? 'create' : 'update',
        JSON.stringify(fields),
        JSON.stringify({
          ...(options.ifCurrency !== undefined ? { currency: options.ifCurrency } : {}),
          ...(options.ifVersion !== undefined ? { version: String(options.ifVersion) } : {}),
        }),
      ],
    );
    if ('refused' in result) return result;
    return { status: result.reply[1] as 'created' | 'updated', version: Number(result.reply[2]) };
  }

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
    const k = this.keys(tenantId);
    const now = this.clock();
    const purchasedAt = funds.purchasedAt ?? now;
    const result = await this.run(
      'addFunds',
      [k.account, k.lots, k.lotExpiry, k.payments, k.outbox],
      [
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
      ],
    );
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
      [k.account, k.payments],
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
    const k = this.keys(tenantId);
    const now = this.clock();
    const succeeded = result.status === 'succeeded';
    const reply = await this.run(
      'recordPurchase',
      [k.account, k.lots, k.lotExpiry, k.payments, k.outbox],
      [
        tenantId,
        ...this.clockArgs(now),
        result.purchaseId,
        result.status,
        now.getTime(),
        lotExpiry(now).getTime(),
        succeeded ? result.gatewayRef : '',
        succeeded ? '' : result.reason,
        succeeded ? '' : result.message,
      ],
    );
    if ('refused' in reply) return reply;
    return {
      duplicate: reply.code === ResultCode.DUPLICATE,
      purchase: parsePurchase(result.purchaseId, String(reply.reply[1])),
    };
  }

  /** One round trip: mode, currency, which usage ids were applied, and pool use. */
  async readUsageState(
    tenantId: string,
    usageIds: string[],
    poolMonths: string[],
  ): Promise<UsageState | Refusal> {
    const k = this.keys(tenantId);
    const pools = [...new Set(poolMonths.map((key) => key.slice(0, key.lastIndexOf(':'))))];
    const pipeline = this.redis.pipeline();
    pipeline.hmget(k.account, 'mode', 'currency');
    if (usageIds.length > 0) pipeline.hmget(k.applied, ...usageIds);
    if (poolMonths.length > 0) {
      pipeline.hmget(
        k.pools,
        ...poolMonths.map((key) => `used:${key}`),
        ...pools.map((pool) => `cap:${pool}`),
      );
    }
    const results = (await pipeline.exec()) ?? [];
    for (const [error] of results) if (error) throw error;
    const [mode, currency] = results[0]![1] as (string | null)[];
    if (!mode || !currency) return { refused: 'no_account', detail: tenantId };
    const applied = new Map<string, UsageOutcome>();
    if (usageIds.length > 0) {
      (results[1]![1] as (string | null)[]).forEach((outcome, i) => {
        if (outcome) applied.set(usageIds[i]!, parseOutcome(outcome));
      });
    }
    const poolUsed: Record<string, number> = {};
    const poolCapacity: Record<string, number> = {};
    if (poolMonths.length > 0) {
      const values = results[results.length - 1]![1] as (string | null)[];
      poolMonths.forEach((key, i) => (poolUsed[key] = Number(values[i] ?? 0)));
      pools.forEach((pool, i) => (poolCapacity[pool] = Number(values[poolMonths.length + i] ?? 0)));
    }
    return { mode: mode as BillingMode, currency, applied, poolUsed, poolCapacity };
  }

  /**
   * Applies a rated batch of one tenant in one script call. When the pool use it was rated
   * against has moved, nothing is applied and the current use comes back as `conflict`.
   */
  async applyUsage(
    tenantId: string,
    batch: RatedBatch,
  ): Promise<
    { applied: AppliedUsage[]; balance: MinorUnits } | { conflict: Record<string, number> } | Refusal
  > {
    if (batch.usages.length > MAX_BATCH) {
      throw new LedgerError('applyUsage', ResultCode.BAD_ARGUMENT, `at most ${MAX_BATCH} usages a call`);
    }
    const k = this.keys(tenantId);
    const result = await this.run(
      'applyUsage',
      [k.account, k.lots, k.lotExpiry, k.pools, k.applied, k.appliedIndex, k.outbox, k.totals],
      [
        tenantId,
        ...this.clockArgs(),
        this.retentionMs,
        batch.currency,
        JSON.stringify(batch.poolUse),
        JSON.stringify(batch.usages.map(usageJson)),
      ],
    );
    if ('refused' in result) return result;
    const { code, reply } = result;
    if (code === ResultCode.POOL_CONFLICT) {
      const current = JSON.parse(String(reply[1])) as Record<string, string>;
      return {
        conflict: Object.fromEntries(Object.entries(current).map(([key, used]) => [key, Number(used)])),
      };
    }
    const applied: AppliedUsage[] = [];
    for (let i = 3; i < reply.length; i += 3) {
      applied.push({
        usageId: String(reply[i]),
        duplicate: Number(reply[i + 1]) === 1,
        outcome: parseOutcome(String(reply[i + 2])),
      });
    }
    return { applied, balance: BigInt(String(reply[1])) };
  }

  /**
   * Reads the tenant's state, lets `rate` price the usages against it, and applies the
   * result; when the pool use moved in between, reads and rates again.
   */
  async settle(
    tenantId: string,
    usageIds: string[],
    poolMonths: string[],
    rate: (state: UsageState) => RatedBatch,
    maxAttempts = 5,
  ): Promise<{ applied: AppliedUsage[]; balance: MinorUnits } | Refusal> {
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const state = await this.readUsageState(tenantId, usageIds, poolMonths);
      if ('refused' in state) return state;
      const result = await this.applyUsage(tenantId, rate(state));
      if (!('conflict' in result)) return result;
    }
    throw new LedgerError('applyUsage', ResultCode.POOL_CONFLICT, `pool use of ${tenantId} kept moving`);
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
    const k = this.keys(tenantId);
    const now = this.clock();
    const succeeded = result.status === 'succeeded';
    const reply = await this.run(
      'rechargeResult',
      [k.account, k.lots, k.lotExpiry, k.payments, k.outbox],
      [
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
      ],
    );
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
      [k.account, k.lots, k.lotExpiry, k.outbox],
      [tenantId, ...this.clockArgs(now)],
    );
    if ('refused' in result) return result;
    return {
      lotsExpired: Number(result.reply[1]),
      forfeited: BigInt(String(result.reply[2])),
      balance: BigInt(String(result.reply[3])),
    };
  }

  /** Read-only: the balance as of now and what a pool has left this month. */
  async authorizationSnapshot(
    tenantId: string,
    pool: string,
    at = this.clock(),
  ): Promise<
    | { mode: BillingMode; currency: string; balance: MinorUnits; blocked: boolean; poolSecondsLeft: number }
    | Refusal
  > {
    const k = this.keys(tenantId);
    const result = await this.run(
      'authorize',
      [k.account, k.lots, k.lotExpiry, k.pools],
      [at.getTime(), pool, utcMonth(at)],
    );
    if ('refused' in result) return result;
    const [, mode, currency, balance, blocked, cap, used] = result.reply;
    return {
      mode: mode as BillingMode,
      currency: String(currency),
      balance: BigInt(String(balance)),
      blocked: Number(blocked) === 1,
      poolSecondsLeft: Math.max(0, Number(cap) - Number(used)),
    };
  }

  /**
   * Replaces the charge of an applied usage, once per revision: the old charge is refunded
   * where it came from and the new one debited.
   */
  async rerate(
    tenantId: string,
    change: {
      usageId: string;
      revision: string;
      currency: string;
      source: UsageSource;
      charge: MinorUnits;
      poolSeconds: number;
      poolUse: Record<string, number>;
    },
  ): Promise<{ duplicate: boolean; outcome: UsageOutcome } | { conflict: Record<string, number> } | Refusal> {
    const k = this.keys(tenantId);
    const now = this.clock();
    const result = await this.run(
      'rerate',
      [k.account, k.lots, k.lotExpiry, k.pools, k.applied, k.outbox, k.totals],
      [
        tenantId,
        ...this.clockArgs(now),
        change.usageId,
        change.revision,
        change.currency,
        change.source,
        change.charge.toString(),
        change.poolSeconds,
        JSON.stringify(change.poolUse),
        lotExpiry(now).getTime(),
      ],
    );
    if ('refused' in result) return result;
    if (result.code === ResultCode.POOL_CONFLICT) {
      const current = JSON.parse(String(result.reply[1])) as Record<string, string>;
      return {
        conflict: Object.fromEntries(Object.entries(current).map(([key, used]) => [key, Number(used)])),
      };
    }
    return {
      duplicate: result.code === ResultCode.DUPLICATE,
      outcome: parseOutcome(String(result.reply[1])),
    };
  }

  async readAccount(tenantId: string): Promise<AccountView | undefined> {
    const k = this.keys(tenantId);
    const redis = this.redis;
    const [account, lots, live, pools] = await Promise.all([
      redis.hgetall(k.account),
      redis.hgetall(k.lots),
      redis.zrange(k.lotExpiry, 0, -1),
      redis.hgetall(k.pools),
    ]);
    if (!account.mode) return undefined;
    const liveIds = new Set(live);
    const lotViews = Object.entries(lots)
      .map(([lotId, json]) => {
        const lot = JSON.parse(json) as Record<string, string>;
        const expired = BigInt(lot.expired ?? '0');
        const remaining = BigInt(lot.remaining!);
        return {
          lotId,
          source: lot.source as LotView['source'],
          ref: lot.ref ?? '',
          amount: BigInt(lot.amount!),
          remaining,
          expired,
          purchasedAt: new Date(Number(lot.purchasedAt)),
          expiresAt: new Date(Number(lot.expiresAt)),
          status: (liveIds.has(lotId) ? 'active' : lot.expiredAt ? 'expired' : 'spent') as LotView['status'],
        };
      })
      .sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime() || a.lotId.localeCompare(b.lotId));
    const poolUsed: Record<string, number> = {};
    const poolCapacities: Record<string, number> = {};
    for (const [field, value] of Object.entries(pools)) {
      if (field.startsWith('used:')) poolUsed[field.slice(5)] = Number(value);
      if (field.startsWith('cap:')) poolCapacities[field.slice(4)] = Number(value);
    }
    const owed: Record<string, MinorUnits> = {};
    for (const [field, value] of Object.entries(account)) {
      if (field.startsWith('owed:')) owed[field.slice(5)] = BigInt(value);
    }
    return {
      tenantId,
      settings: {
        mode: account.mode as BillingMode,
        currency: account.currency!,
        lowBalanceThreshold: BigInt(account.lowThreshold ?? '0'),
        autoRecharge: {
          enabled: account.arEnabled === '1',
          trigger: BigInt(account.arTrigger ?? '0'),
          amount: BigInt(account.arAmount ?? '0'),
          monthlyCap: Number(account.arMonthlyCap ?? 0),
          maxConsecutiveFailures: Number(account.arMaxFailures ?? 0),
        },
        paymentMethodRef: account.paymentMethodRef ?? '',
        adminContacts: JSON.parse(account.contacts ?? '[]') as string[],
        poolCapacities,
      },
      settingsVersion: Number(account.settingsVersion ?? 0),
      balance: BigInt(account.balance ?? '0'),
      debt: BigInt(account.debt ?? '0'),
      blocked: account.blocked === '1',
      autoRecharge: {
        pendingRequestId: account.arPending ?? '',
        consecutiveFailures: Number(account.arFailures ?? 0),
        month: account.arMonth ?? '',
        rechargesThisMonth: Number(account.arMonthCount ?? 0),
      },
      lots: lotViews,
      poolUsed,
      owed,
      createdAt: account.createdAt ?? '',
      updatedAt: account.updatedAt ?? '',
    };
  }

  /** Usage totals by period and source (what was applied, re-rates included), kept for good. */
  async usageTotals(tenantId: string): Promise<Record<string, Record<string, UsageTotal>>> {
    const raw = await this.redis.hgetall(this.keys(tenantId).totals);
    const totals: Record<string, Record<string, UsageTotal>> = {};
    for (const [field, value] of Object.entries(raw)) {
      const [period, source, measure] = field.split(':') as [string, string, keyof UsageTotal];
      const bySource = (totals[period] ??= {});
      const total = (bySource[source] ??= { count: 0, charge: 0n, poolSeconds: 0 });
      if (measure === 'charge') total.charge = BigInt(value);
      else total[measure] = Number(value);
    }
    return totals;
  }

  /**
   * Applied usages in [from, to) by when they were applied, oldest first, `limit` from
   * `offset` (only within the idempotency retention: older ones remain in the totals).
   */
  async listUsage(
    tenantId: string,
    range: { from: Date; to: Date; offset: number; limit: number },
  ): Promise<{ usageId: string; outcome: UsageOutcome }[]> {
    const k = this.keys(tenantId);
    const ids = await this.redis.zrangebyscore(
      k.appliedIndex,
      range.from.getTime(),
      `(${range.to.getTime()}`,
      'LIMIT',
      range.offset,
      range.limit,
    );
    if (ids.length === 0) return [];
    const outcomes = await this.redis.hmget(k.applied, ...ids);
    return ids.flatMap((usageId, i) =>
      outcomes[i] ? [{ usageId, outcome: parseOutcome(outcomes[i]!) }] : [],
    );
  }

  /**
   * Every idempotency record of a tenant (usage id and stored outcome), in pages (HSCAN), in
   * no particular order: for audits that need all of them, not a time range.
   */
  async *appliedUsages(
    tenantId: string,
    pageSize = 1000,
  ): AsyncGenerator<{ usageId: string; outcome: UsageOutcome }[]> {
    const key = this.keys(tenantId).applied;
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(key, cursor, 'COUNT', pageSize);
      cursor = next;
      const page: { usageId: string; outcome: UsageOutcome }[] = [];
      for (let i = 0; i < flat.length; i += 2)
        page.push({ usageId: flat[i]!, outcome: parseOutcome(flat[i + 1]!) });
      if (page.length > 0) yield page;
    } while (cursor !== '0');
  }

  /** Stores the SHA-256 of a tenant API key (never the key itself). */
  async storeApiKeyDigest(tenantId: string, keyId: string, digestHex: string): Promise<void> {
    await this.redis.hset(this.keys(tenantId).account, `apiKey:${keyId}`, digestHex);
  }

  async apiKeyDigest(tenantId: string, keyId: string): Promise<string | undefined> {
    return (await this.redis.hget(this.keys(tenantId).account, `apiKey:${keyId}`)) ?? undefined;
  }

  /** Every tenant with an account, in pages (SSCAN), for sweeps over all tenants. */
  async *tenants(pageSize = 500): AsyncGenerator<string[]> {
    let cursor = '0';
    do {
      const [next, page] = await this.redis.sscan(tenantRegistryKey(this.prefix), cursor, 'COUNT', pageSize);
      cursor = next;
      if (page.length > 0) yield page;
    } while (cursor !== '0');
  }

  /**
   * Events waiting in each tenant's outbox: one XLEN per tenant, sent together. Not a
   * pipeline: on a Redis Cluster the tenants' keys live on different nodes, and ioredis
   * refuses a pipeline that spans them.
   */
  async outboxLengths(tenantIds: string[]): Promise<number[]> {
    return Promise.all(tenantIds.map((tenant) => this.redis.xlen(this.keys(tenant).outbox)));
  }

  /** Ledger-wide figures for the metrics: events waiting in outboxes, tenants blocked. */
  async totals(): Promise<{ outboxBacklog: number; blockedTenants: number; tenants: number }> {
    const totals = { outboxBacklog: 0, blockedTenants: 0, tenants: 0 };
    for await (const page of this.tenants()) {
      const [lengths, states] = await Promise.all([
        this.outboxLengths(page),
        Promise.all(page.map((tenant) => this.redis.hmget(this.keys(tenant).account, 'mode', 'blocked'))),
      ]);
      lengths.forEach((length) => (totals.outboxBacklog += length));
      for (const [mode, blocked] of states)
        if (mode === 'prepaid' && blocked === '1') totals.blockedTenants += 1;
      totals.tenants += page.length;
    }
    return totals;
  }

  /** Removes outbox entries once the broker has acknowledged them. */
  async acknowledgeOutbox(tenantId: string, streamIds: string[]): Promise<number> {
    if (streamIds.length === 0) return 0;
    return this.redis.xdel(this.keys(tenantId).outbox, ...streamIds);
  }

  async outboxLength(tenantId: string): Promise<number> {
    return this.redis.xlen(this.keys(tenantId).outbox);
  }

  /**
   * A short lease on one tenant's work (relaying its outbox): true when this holder got it.
   * Leases make concurrent instances take turns; correctness never depends on them.
   */
  async lease(tenantId: string, what: string, holder: string, ttlMs: number): Promise<boolean> {
    const key = `${this.keys(tenantId).account}:lease:${what}`;
    return (await this.redis.set(key, holder, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async releaseLease(tenantId: string, what: string, holder: string): Promise<void> {
    const key = `${this.keys(tenantId).account}:lease:${what}`;
    if ((await this.redis.get(key)) === holder) await this.redis.del(key);
  }

  async readOutbox(tenantId: string, afterStreamId = '-', count = 1000): Promise<OutboxEvent[]> {
    const redis = this.redis;
    const start = afterStreamId === '-' ? '-' : `(${afterStreamId}`;
    const entries = await redis.xrange(this.keys(tenantId).outbox, start, '+', 'COUNT', count);
    return entries.map(([streamId, flat]) => {
      const fields: Record<string, string> = {};
      for (let i = 0; i < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
      return {
        streamId,
        id: fields.id!,
        type: fields.type!,
        time: fields.time!,
        tenantId: fields.tenant!,
        data: JSON.parse(fields.data!) as Record<string, unknown>,
      };
    });
  }
}

export interface OutboxEvent {
  /** Position in the tenant's outbox stream. */
  streamId: string;
  id: string;
  type: string;
  time: string;
  tenantId: string;
  data: Record<string, unknown>;
}

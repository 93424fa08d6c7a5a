import type { Cluster, Redis } from 'ioredis';
import type { ReportFields } from '../credits/usage-details';
import { lotExpiry, utcMonth } from '../credits/calendar';
import type {
  AccountSettings,
  AppliedUsage,
  BillingMode,
  LedgerUsage,
  LotDraw,
  MinorUnits,
  PurchaseRecord,
  RatedBatch,
  SettingsChange,
  UsageKey,
  UsageOutcome,
  UsageSource,
  UsageState,
} from '../credits/wallet';
import {
  isBurstGuardOn,
  packBurstGuard,
  packConcurrentCalls,
  unpackConcurrentCalls,
  type BlockReason,
  type ConcurrentCalls,
  type BurstGuard,
  type UserLimit,
} from '../credits/user-limits';
import { AccountField, settingsChangeFields } from './account-fields';
import { IndexShards } from './index-shards';
import { burstKeys, indexKeys, tenantKeys, TenantKeys, tenantRegistryKey } from './keys';
import { guarded, LedgerError, Refusal, ResultCode } from './result-codes';
import { ReplicaSync, ReplicaWait } from './replica-sync';
import { registerScripts, runScript, scriptCommand } from './script-loader';
import { packReport, unpackReport } from './report-encoding';
import { ratedArgs } from './usage-encoding';
import { lookupArgs, parseRecord, startDay, storedIfOther } from './usage-outcome';

export interface LedgerOptions {
  /** Key prefix (a namespace; tests use a fresh one each). */
  prefix?: string;
  /**
   * How long an applied usage id is remembered, counted from the end of its call's UTC start
   * day (default 35 days); a usage whose start day is past it is refused as too late.
   */
  idempotencyRetentionMs?: number;
  clock?: () => Date;
  /**
   * How the index shards are laid out: one shard on standalone Redis, one per slot on a
   * Cluster (default: from the client, `isCluster`).
   */
  indexLayout?: 'standalone' | 'cluster';
  /** Replicas that must acknowledge writes before `awaitReplicas` resolves (default: none). */
  replicas?: ReplicaWait;
}

/** The index layout for this client, unless the options name one. */
export function indexShardsFor(redis: Redis | Cluster, options: LedgerOptions = {}): IndexShards {
  return new IndexShards(options.indexLayout ?? (redis.isCluster ? 'cluster' : 'standalone'));
}

export const DEFAULT_IDEMPOTENCY_RETENTION_MS = 35 * 24 * 3600 * 1000;
/** Usages per applyUsage call: bounds a script's run time (Redis serves nothing else meanwhile). */
export const MAX_BATCH = 1000;

/**
 * The fields of a usage as applyUsage-20.lua takes them (FIELDS a usage, in this order), its
 * details and report in their storage encodings; returns the call's start day and the packed
 * report.
 */
function pushUsageArgs(args: (string | number)[], u: LedgerUsage): { day: number; report: string } {
  const { day, second, month } = startDay(u.start);
  if (month !== u.period) {
    throw new LedgerError(
      'applyUsage',
      ResultCode.BAD_ARGUMENT,
      `usage ${u.id}: period ${u.period} is not the month of its start`,
    );
  }
  args.push(
    u.id,
    storedIfOther(u.id),
    u.source,
    u.charge.toString(),
    u.pool,
    u.poolSeconds,
    u.period,
    day,
    second,
  );
  const { own, shared } = ratedArgs(u.details);
  const report = u.report ? packReport(u.report, u.derivedContext) : '';
  args.push(own, shared, report, u.user ?? '', u.international ? '1' : '0');
  return { day, report };
}

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
  readonly shards: IndexShards;
  /** `WAIT` for the replicas of the masters that took the writes (REDIS_WAIT_REPLICAS). */
  readonly replicas: ReplicaSync;
  /** Usages one applyUsage call takes at most. */
  readonly maxUsagesPerApply = MAX_BATCH;

  constructor(
    private readonly redis: Redis | Cluster,
    options: LedgerOptions = {},
  ) {
    this.prefix = options.prefix ?? '';
    this.retentionMs = options.idempotencyRetentionMs ?? DEFAULT_IDEMPOTENCY_RETENTION_MS;
    this.clock = options.clock ?? (() => new Date());
    this.shards = indexShardsFor(redis, options);
    this.replicas = new ReplicaSync(redis, this.prefix, options.replicas, this.clock);
    registerScripts(redis);
  }

  /**
   * Resolves once the configured replicas hold every write so far on the tenants' masters (at
   * once when waiting is off); throws ReplicasLaggingError (transient) when they do not.
   */
  awaitReplicas(tenantIds: Iterable<string>): Promise<void> {
    return this.replicas.awaitReplicas(tenantIds);
  }

  keys(tenantId: string): TenantKeys {
    return tenantKeys(tenantId, this.prefix);
  }

  /**
   * The tenant's index keys (events waiting, lot expiry, gauges, blocked, low balance, recharge
   * failed), in its slot: the last KEYS of every script that syncs the indexes.
   */
  private indexKeys(tenantId: string): string[] {
    const ix = indexKeys(this.shards.tag(this.shards.shardOf(tenantId)), this.prefix);
    return [ix.outbox, ix.expiry, ix.gauges, ix.blocked, ix.low, ix.rechargeFailed];
  }

  /** The tenant's shard's index of pending payments: the last KEYS of the scripts that begin or settle one. */
  /** The keys of the scripts that credit a payment's lot: addFunds, recordPurchase, rechargeResult. */
  private paymentKeys(tenantId: string): string[] {
    const k = this.keys(tenantId);
    return [
      k.account,
      k.lots,
      k.lotExpiry,
      k.payments,
      k.outbox,
      ...this.indexKeys(tenantId),
      this.pendingKey(tenantId),
    ];
  }

  private pendingKey(tenantId: string): string {
    return indexKeys(this.shards.tag(this.shards.shardOf(tenantId)), this.prefix).pendingPayments;
  }

  private run(operation: string, keys: string[], args: (string | number)[]) {
    return runScript(this.redis, operation, keys, args);
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
   * state (updateSettings-10.lua): a concurrent change of other fields is never undone.
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
    if (options.create) {
      const registry = tenantRegistryKey(this.prefix);
      await guarded('updateSettings', () => this.redis.sadd(registry, tenantId));
    }
    const fields = settingsChangeFields(change);
    const result = await this.run(
      'updateSettings',
      [k.account, k.pools, k.lotExpiry, k.outbox, ...this.indexKeys(tenantId)],
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

  /** One round trip: mode, currency, which usages were applied (by id and start), and pool use. */
  async readUsageState(
    tenantId: string,
    usages: UsageKey[],
    poolMonths: string[],
  ): Promise<UsageState | Refusal> {
    const k = this.keys(tenantId);
    const pipeline = this.redis.pipeline();
    pipeline.hmget(k.account, AccountField.mode, AccountField.currency);
    if (usages.length > 0) {
      (pipeline as unknown as Record<string, (...args: (string | number)[]) => unknown>)[
        scriptCommand('lookupApplied')
      ]!(k.applied, k.legacyApplied, this.clock().getTime(), this.retentionMs, lookupArgs(usages));
    }
    // The whole pools hash (a few fields a pool and month): the rater remembers the other
    // pools' state too, so that its next batches need no read.
    pipeline.hgetall(k.pools);
    const results = await guarded('readUsageState', async () => {
      const replies = (await pipeline.exec()) ?? [];
      for (const [error] of replies) if (error) throw error;
      return replies;
    });
    const [mode, currency] = results[0]![1] as (string | null)[];
    if (!mode || !currency) return { refused: 'no_account', detail: tenantId };
    const applied = new Map<string, UsageOutcome>();
    if (usages.length > 0) {
      const records = (results[1]![1] as unknown[]).slice(1);
      records.forEach((record, i) => {
        const usage = usages[i]!;
        if ((record as unknown[]).length > 0)
          applied.set(usage.id, parseRecord(record, startDay(usage.start).day, usage.start));
      });
    }
    const poolUsed: Record<string, number> = {};
    const poolCapacity: Record<string, number> = {};
    for (const key of poolMonths) {
      poolUsed[key] = 0;
      poolCapacity[key.slice(0, key.lastIndexOf(':'))] = 0;
    }
    // Months from the earliest asked (or this month) on; earlier ones are no longer rated.
    const since = poolMonths.map((key) => key.slice(-7)).sort()[0] ?? utcMonth(this.clock());
    for (const [field, value] of Object.entries(results[results.length - 1]![1] as Record<string, string>)) {
      if (field.startsWith('cap:')) poolCapacity[field.slice(4)] = Number(value);
      else if (field.startsWith('used:') && field.slice(-7) >= since)
        poolUsed[field.slice(5)] = Number(value);
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
    | { applied: AppliedUsage[]; tooLate: string[]; balance: MinorUnits }
    | {
        conflict: Record<string, number>;
        capacity: Record<string, number>;
        staleRead?: true;
        appliedBefore?: Map<string, UsageOutcome>;
      }
    | Refusal
  > {
    if (batch.usages.length > MAX_BATCH) {
      throw new LedgerError('applyUsage', ResultCode.BAD_ARGUMENT, `at most ${MAX_BATCH} usages a call`);
    }
    const k = this.keys(tenantId);
    const now = this.clock();
    const args: (string | number)[] = [
      tenantId,
      ...this.clockArgs(now),
      this.retentionMs,
      batch.currency,
      JSON.stringify(batch.poolUse),
      batch.poolCapacity ? JSON.stringify(batch.poolCapacity) : '',
      batch.unread ? '1' : '0',
    ];
    const packed = batch.usages.map((u) => pushUsageArgs(args, u));
    const days = packed.map((p) => p.day);
    const result = await this.run(
      'applyUsage',
      [
        k.account,
        k.lots,
        k.lotExpiry,
        k.pools,
        k.applied,
        k.legacyApplied,
        k.legacyAppliedIndex,
        k.outbox,
        k.totals,
        ...this.indexKeys(tenantId),
        k.userLimits,
        k.userSpend,
        k.burst,
        this.pendingKey(tenantId),
        k.sessions,
      ],
      args,
    );
    if ('refused' in result) return result;
    const { code, reply } = result;
    if (code === ResultCode.POOL_CONFLICT) {
      const numbers = (json: unknown) =>
        Object.fromEntries(
          Object.entries(JSON.parse(String(json ?? '{}')) as Record<string, string>).map(([key, value]) => [
            key,
            Number(value),
          ]),
        );
      return { conflict: numbers(reply[1]), capacity: numbers(reply[2]) };
    }
    if (code === ResultCode.STALE_READ) {
      const startOf = new Map(batch.usages.map((u, n) => [u.id, { start: u.start, day: days[n]! }]));
      const appliedBefore = new Map<string, UsageOutcome>();
      for (let i = 2; i + 1 < reply.length; i += 2) {
        const id = String(reply[i]);
        const { start, day } = startOf.get(id)!;
        appliedBefore.set(id, parseRecord(reply[i + 1], day, start));
      }
      return { conflict: {}, capacity: {}, staleRead: true, appliedBefore };
    }
    const applied: AppliedUsage[] = [];
    const tooLate: string[] = [];
    batch.usages.forEach((usage, n) => {
      const status = Number(reply[3 + 2 * n]);
      const payload = reply[4 + 2 * n] as string[];
      if (status === 2) {
        tooLate.push(usage.id);
        return;
      }
      if (status === 1) {
        applied.push({
          usageId: usage.id,
          duplicate: true,
          outcome: parseRecord(payload, days[n]!, usage.start),
        });
        return;
      }
      const lots: LotDraw[] = [];
      for (let i = 0; i < payload.length; i += 2)
        lots.push({ lotId: payload[i]!, amount: BigInt(payload[i + 1]!) });
      const packedReport = packed[n]!.report;
      let report: ReportFields | undefined;
      applied.push({
        usageId: usage.id,
        duplicate: false,
        // Applied now: the stored record is what was sent, at the time the script was given.
        outcome: {
          source: usage.source,
          charge: usage.charge,
          pool: usage.pool,
          poolSeconds: usage.poolSeconds,
          period: usage.period,
          lots,
          start: new Date(Math.floor(usage.start.getTime() / 1000) * 1000),
          appliedAt: now,
          revision: '',
          ...(usage.details ? { details: usage.details } : {}),
          // As a read gives it, unpacked when read (settling reads only the details).
          get report() {
            return (report ??= unpackReport(packedReport));
          },
        },
      });
    });
    return { applied, tooLate, balance: BigInt(String(reply[1])) };
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

  /**
   * Recomputes the tenant's index entries and its part of the gauges from its state
   * (reindex-10.lua): idempotent, safe while traffic flows. Returns what changed in the gauges.
   */
  async reindex(tenantId: string): Promise<{ tenants: number; depleted: number; backlog: number } | Refusal> {
    const k = this.keys(tenantId);
    const result = await this.run(
      'reindex',
      [k.account, k.lotExpiry, k.outbox, ...this.indexKeys(tenantId), this.pendingKey(tenantId)],
      [tenantId],
    );
    if ('refused' in result) return result;
    const [, tenants, depleted, backlog] = result.reply.map(Number);
    return { tenants: tenants!, depleted: depleted!, backlog: backlog! };
  }

  /**
   * Read-only: the balance as of now, what a pool has left this month, and the user's spend
   * limit with what the user spent of it this month (`user` '' for none).
   */
  async authorizationSnapshot(
    tenantId: string,
    pool: string,
    at = this.clock(),
    user = '',
  ): Promise<
    | {
        mode: BillingMode;
        currency: string;
        balance: MinorUnits;
        blocked: boolean;
        poolSecondsLeft: number;
        userLimit?: { limit: MinorUnits; spent: MinorUnits };
        /** The burst guard blocked the user: why. */
        userBlocked?: BlockReason;
      }
    | Refusal
  > {
    const k = this.keys(tenantId);
    const result = await this.run(
      'authorize',
      [k.account, k.lots, k.lotExpiry, k.pools, k.userLimits, k.userSpend],
      [at.getTime(), pool, utcMonth(at), user],
    );
    if ('refused' in result) return result;
    const [, mode, currency, balance, blocked, cap, used, limit, spent, userBlocked] = result.reply;
    return {
      mode: mode as BillingMode,
      currency: String(currency),
      balance: BigInt(String(balance)),
      blocked: Number(blocked) === 1,
      poolSecondsLeft: Math.max(0, Number(cap) - Number(used)),
      ...(limit ? { userLimit: { limit: BigInt(String(limit)), spent: BigInt(String(spent)) } } : {}),
      ...(userBlocked ? { userBlocked: String(userBlocked) as BlockReason } : {}),
    };
  }

  /**
   * Sets the per-user monthly spend limits the change names, and only those
   * (setUserLimits-2.lua): `default` null removes the default; a user's `none` means no limit
   * for that user, null removes the user's own limit (the default applies). The amounts are
   * minor units of `currency`, which must still be the account's (currency_mismatch).
   * `burstGuard` sets the burst guard (null or one without thresholds: off).
   */
  async setUserLimits(
    tenantId: string,
    change: {
      currency: string;
      default?: MinorUnits | null;
      users?: Record<string, UserLimit | null>;
      burstGuard?: BurstGuard | null;
      /** The caps on live credit-paid call sessions; null or none set: no caps. */
      concurrentCalls?: ConcurrentCalls | null;
    },
  ): Promise<{ status: 'updated' } | Refusal> {
    const k = this.keys(tenantId);
    const limitArg = (value: UserLimit | null | undefined, removed: string) =>
      value === undefined ? '' : value === null ? removed : value.toString();
    const users = Object.fromEntries(
      Object.entries(change.users ?? {}).map(([user, value]) => [user, limitArg(value, '')]),
    );
    const result = await this.run(
      'setUserLimits',
      [k.account, k.userLimits],
      [
        change.currency,
        limitArg(change.default, 'none'),
        JSON.stringify(users),
        change.burstGuard === undefined
          ? ''
          : isBurstGuardOn(change.burstGuard)
            ? packBurstGuard(change.burstGuard)
            : 'none',
        change.concurrentCalls === undefined
          ? ''
          : change.concurrentCalls === null ||
              !unpackConcurrentCalls(packConcurrentCalls(change.concurrentCalls))
            ? 'none'
            : packConcurrentCalls(change.concurrentCalls),
      ],
    );
    if ('refused' in result) return result;
    return { status: 'updated' };
  }

  /**
   * Clears the burst guard's block of a user, with the user's window (clearUserBlock-3.lua):
   * `not_blocked` when the user was not blocked.
   */
  async clearUserBlock(tenantId: string, user: string): Promise<{ status: 'cleared' | 'not_blocked' }> {
    const k = this.keys(tenantId);
    const { window, sums } = burstKeys(k, user);
    const result = await this.run('clearUserBlock', [k.userLimits, window, sums], [user]);
    if ('refused' in result) throw new LedgerError('clearUserBlock', ResultCode.BAD_ARGUMENT, result.detail);
    return { status: String(result.reply[1]) === '1' ? 'cleared' : 'not_blocked' };
  }

  /**
   * Replaces the charge of an applied usage, once per revision: only the difference of what
   * credits pay moves money (rerate-17.lua): an increase is debited, a cut refunded the way the
   * call took its money, in reverse.
   */
  async rerate(
    tenantId: string,
    change: {
      usageId: string;
      /** The call's start: where its record is. */
      start: Date;
      revision: string;
      currency: string;
      source: UsageSource;
      charge: MinorUnits;
      poolSeconds: number;
      poolUse: Record<string, number>;
      /** The user key the spend limits count by (userKeyOf the call); none: no user's spend moves. */
      user?: string;
    },
  ): Promise<
    | { duplicate: boolean; outcome: UsageOutcome; balance: MinorUnits }
    | { conflict: Record<string, number> }
    | Refusal
  > {
    const k = this.keys(tenantId);
    const now = this.clock();
    const { day, second, month } = startDay(change.start);
    const result = await this.run(
      'rerate',
      [
        k.account,
        k.lots,
        k.lotExpiry,
        k.pools,
        k.applied,
        k.legacyApplied,
        k.outbox,
        k.totals,
        ...this.indexKeys(tenantId),
        k.userLimits,
        k.userSpend,
        this.pendingKey(tenantId),
      ],
      [
        tenantId,
        ...this.clockArgs(now),
        change.usageId,
        day,
        second,
        month,
        change.revision,
        change.currency,
        change.source,
        change.charge.toString(),
        change.poolSeconds,
        JSON.stringify(change.poolUse),
        lotExpiry(now).getTime(),
        this.retentionMs,
        storedIfOther(change.usageId),
        change.user ?? '',
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
      outcome: parseRecord(result.reply[1], day, change.start),
      balance: BigInt(String(result.reply[2])),
    };
  }

  /**
   * Tells the tenant what a re-rating run changed (`credits.usage.rerated`), once per
   * revision: `duplicate` when it was told for this revision before.
   */
  async rerateNotice(
    tenantId: string,
    notice: { revision: string; from: Date; to: Date; calls: number; before: MinorUnits; after: MinorUnits },
  ): Promise<{ duplicate: boolean; balance: MinorUnits } | Refusal> {
    const k = this.keys(tenantId);
    const result = await this.run(
      'rerateNotice',
      [k.account, k.lotExpiry, k.outbox, k.rerateNotices, ...this.indexKeys(tenantId)],
      [
        tenantId,
        ...this.clockArgs(),
        notice.revision,
        notice.from.toISOString(),
        notice.to.toISOString(),
        notice.calls,
        notice.before.toString(),
        notice.after.toString(),
      ],
    );
    if ('refused' in result) return result;
    return { duplicate: result.code === ResultCode.DUPLICATE, balance: BigInt(String(result.reply[1])) };
  }
}

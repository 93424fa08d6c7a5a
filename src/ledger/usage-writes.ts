import type { ReportFields } from '../credits/usage-details';
import { utcMonth } from '../credits/calendar';
import type {
  AppliedUsage,
  BillingMode,
  LedgerUsage,
  LotDraw,
  MinorUnits,
  RatedBatch,
  UsageKey,
  UsageOutcome,
  UsageState,
} from '../credits/wallet';
import { AccountField } from './account-fields';
import { guarded, LedgerError, Refusal, ResultCode } from './result-codes';
import { scriptCommand } from './script-loader';
import { packReport, unpackReport } from './report-encoding';
import { ratedArgs } from './usage-encoding';
import { lookupArgs, parseRecord, startDay, storedIfOther } from './usage-outcome';
import { FundsWrites } from './funds-writes';
import { MAX_BATCH } from './ledger-base';

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

/** Usage: a tenant's state read for rating, and a rated batch applied, each usage once by its id. */
export class UsageWrites extends FundsWrites {
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
    if (code === ResultCode.POOL_CONFLICT)
      return { conflict: numbers(reply[1]), capacity: numbers(reply[2]) };
    if (code === ResultCode.STALE_READ) return staleRead(batch, days, reply);
    return appliedOf(batch, packed, reply, now);
  }
}

/** A JSON object of numbers as the script replies it (strings), as numbers. */
const numbers = (json: unknown) =>
  Object.fromEntries(
    Object.entries(JSON.parse(String(json ?? '{}')) as Record<string, string>).map(([key, value]) => [
      key,
      Number(value),
    ]),
  );

/** A batch rated without a read that had usages applied before: their stored outcomes. */
function staleRead(batch: RatedBatch, days: number[], reply: unknown[]) {
  const startOf = new Map(batch.usages.map((u, n) => [u.id, { start: u.start, day: days[n]! }]));
  const appliedBefore = new Map<string, UsageOutcome>();
  for (let i = 2; i + 1 < reply.length; i += 2) {
    const id = String(reply[i]);
    const { start, day } = startOf.get(id)!;
    appliedBefore.set(id, parseRecord(reply[i + 1], day, start));
  }
  return { conflict: {}, capacity: {}, staleRead: true as const, appliedBefore };
}

/**
 * Each usage's outcome from the script's reply (`status`, payload per usage): too late, applied
 * before (its stored record), or applied now (what was sent, with the lots it drew on).
 */
function appliedOf(
  batch: RatedBatch,
  packed: { day: number; report: string }[],
  reply: unknown[],
  now: Date,
): { applied: AppliedUsage[]; tooLate: string[]; balance: MinorUnits } {
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
        outcome: parseRecord(payload, packed[n]!.day, usage.start),
      });
      return;
    }
    applied.push({
      usageId: usage.id,
      duplicate: false,
      outcome: appliedNow(usage, payload, packed[n]!.report, now),
    });
  });
  return { applied, tooLate, balance: BigInt(String(reply[1])) };
}

/** Applied now: the stored record is what was sent, at the time the script was given. */
function appliedNow(usage: LedgerUsage, payload: string[], packedReport: string, now: Date): UsageOutcome {
  const lots: LotDraw[] = [];
  for (let i = 0; i < payload.length; i += 2)
    lots.push({ lotId: payload[i]!, amount: BigInt(payload[i + 1]!) });
  let report: ReportFields | undefined;
  return {
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
  };
}

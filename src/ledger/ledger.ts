import { lotExpiry } from '../credits/calendar';
import type { MinorUnits, UsageOutcome, UsageSource } from '../credits/wallet';
import { Refusal, ResultCode } from './result-codes';
import { parseRecord, startDay, storedIfOther } from './usage-outcome';
import { UsageWrites } from './usage-writes';

export { DEFAULT_IDEMPOTENCY_RETENTION_MS, indexShardsFor, MAX_BATCH } from './ledger-base';
export type { LedgerOptions } from './ledger-base';

/**
 * The tenants' money in Redis. Every state change is one Lua script (src/ledger/commands),
 * atomic, idempotent by its natural key, and writes the events it causes to the tenant's
 * outbox stream in the same step.
 */
export class CreditLedger extends UsageWrites {
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

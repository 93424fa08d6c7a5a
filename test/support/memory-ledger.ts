import type {
  AppliedUsage,
  BillingMode,
  RatedBatch,
  UsageKey,
  UsageOutcome,
  UsageState,
} from '../../src/credits/wallet';
import { packReport, unpackReport } from '../../src/ledger/report-encoding';
import { DAY_MS } from '../../src/ledger/usage-outcome';
import type { LedgerRefusal, SettlementLedger } from '../../src/settlement/ports';

/**
 * The settlement port in memory, for unit tests of the use cases without Redis: one tenant's
 * balance, pool use and applied usages, with the ledger's rules that the use case relies on
 * (a usage applies once by its id; a usage whose call's start day is past the retention
 * is too late; a batch rated against pool use that has moved applies nothing and answers the
 * current use; a batch rated without a read whose usage was applied refuses when it draws on
 * a pool; currency and mode are checked as the script checks them). The Redis ledger itself is
 * tested against Redis.
 */
export class MemoryLedger implements SettlementLedger {
  balance = 0n;
  readonly applied = new Map<string, UsageOutcome>();
  readonly poolUsed: Record<string, number> = {};
  readonly calls: { read: number; apply: number } = { read: 0, apply: 0 };
  /** Run before each apply (a test moves the pool, or throws, here). */
  beforeApply?: (batch: RatedBatch) => void;

  constructor(
    readonly tenantId: string,
    public mode: BillingMode,
    public currency: string,
    readonly poolCapacity: Record<string, number> = {},
    private readonly now: () => Date = () => new Date('2026-11-24T10:00:00Z'),
  ) {}

  /** How long after the end of its call's start day a usage id is remembered (the ledger's rule). */
  retentionMs = 35 * DAY_MS;

  private tooLate(start: Date): boolean {
    return (Math.floor(start.getTime() / DAY_MS) + 1) * DAY_MS + this.retentionMs <= this.now().getTime();
  }

  async readUsageState(
    tenantId: string,
    usages: UsageKey[],
    poolMonths: string[],
  ): Promise<UsageState | LedgerRefusal> {
    this.calls.read += 1;
    if (tenantId !== this.tenantId) return { refused: 'no_account', detail: tenantId };
    const applied = new Map(
      usages.flatMap(({ id, start }) =>
        this.applied.has(id) && !this.tooLate(start) ? [[id, this.applied.get(id)!]] : [],
      ),
    );
    return {
      mode: this.mode,
      currency: this.currency,
      applied,
      poolUsed: Object.fromEntries(poolMonths.map((key) => [key, this.poolUsed[key] ?? 0])),
      poolCapacity: { ...this.poolCapacity },
    };
  }

  async applyUsage(tenantId: string, batch: RatedBatch) {
    this.calls.apply += 1;
    this.beforeApply?.(batch);
    if (tenantId !== this.tenantId) return { refused: 'no_account', detail: tenantId };
    const moved = Object.entries(batch.poolUse).filter(([key, used]) => (this.poolUsed[key] ?? 0) !== used);
    const resized = Object.entries(batch.poolCapacity ?? {}).filter(
      ([pool, cap]) => (this.poolCapacity[pool] ?? 0) !== cap,
    );
    if (moved.length > 0 || resized.length > 0)
      return {
        conflict: Object.fromEntries(Object.keys(batch.poolUse).map((key) => [key, this.poolUsed[key] ?? 0])),
        capacity: { ...this.poolCapacity },
      };
    const before = batch.usages.filter((u) => this.applied.has(u.id) && !this.tooLate(u.start));
    if (batch.unread && Object.keys(batch.poolUse).length > 0 && before.length > 0)
      return {
        conflict: {},
        capacity: {},
        staleRead: true as const,
        appliedBefore: new Map(before.map((u) => [u.id, this.applied.get(u.id)!])),
      };
    const fresh = batch.usages.filter((u) => !this.applied.has(u.id) && !this.tooLate(u.start));
    if (fresh.length > 0 && batch.currency !== this.currency)
      return { refused: 'currency_mismatch', detail: this.currency };
    const paid = { prepaid: 'credits', postpaid: 'postpaid' }[this.mode];
    if (fresh.some((u) => (u.source === 'credits' || u.source === 'postpaid') && u.source !== paid))
      return { refused: 'mode_mismatch', detail: this.mode };
    const applied: AppliedUsage[] = [];
    const tooLate: string[] = [];
    for (const usage of batch.usages) {
      if (this.tooLate(usage.start)) {
        tooLate.push(usage.id);
        continue;
      }
      const stored = this.applied.get(usage.id);
      if (stored) {
        applied.push({ usageId: usage.id, duplicate: true, outcome: stored });
        continue;
      }
      if (usage.source === 'credits') this.balance -= usage.charge;
      if (usage.pool) {
        const key = `${usage.pool}:${usage.period}`;
        this.poolUsed[key] = (this.poolUsed[key] ?? 0) + usage.poolSeconds;
      }
      const outcome: UsageOutcome = {
        source: usage.source,
        charge: usage.charge,
        pool: usage.pool,
        poolSeconds: usage.poolSeconds,
        period: usage.period,
        lots: [],
        start: usage.start,
        appliedAt: this.now(),
        revision: '',
        ...(usage.details ? { details: usage.details } : {}),
        // As the Redis ledger reads it back: the fields its encoding keeps.
        report: usage.report ? unpackReport(packReport(usage.report, usage.derivedContext)) : {},
      };
      this.applied.set(usage.id, outcome);
      applied.push({ usageId: usage.id, duplicate: false, outcome });
    }
    return { applied, tooLate, balance: this.balance };
  }
}

import { userKeyOf } from '../credits/user-limits';
import type { MinorUnits, UsageOutcome, UsageSource, UsageState } from '../credits/wallet';
import type { UsageRecord } from '../rating';
import type { AppliedUsageRecord, PricedUsage, RerateCheckpoint, RerateRecord } from './ports';
import { detailsOf, fingerprint } from './rated-details';
import { sourceOf } from './batch-rating';
import {
  rerateRevision,
  type RerateOptions,
  type RerateReport,
  type RerateRequest,
  type TenantRerate,
} from './rerate-request';

export {
  rerateRevision,
  type RerateOptions,
  type RerateProgress,
  type RerateReport,
  type RerateRequest,
  type TenantRerate,
} from './rerate-request';

/** The usage record as the ledger kept it: the report's fields and the call's start. */
export function recordOf(tenantId: string, usage: AppliedUsageRecord): UsageRecord | undefined {
  const { report } = usage.outcome;
  if (!report.callType || report.duration === undefined) return undefined;
  const fields = Object.fromEntries(Object.entries(report).filter(([, value]) => value !== undefined));
  return {
    ...fields,
    id: usage.usageId,
    tenantId,
    callType: report.callType,
    startDateTime: usage.outcome.start.toISOString(),
    duration: report.duration,
  };
}

const poolKey = (outcome: Pick<UsageOutcome, 'pool' | 'period'>) => `${outcome.pool}:${outcome.period}`;

/** Which change a usage needs: none, one to apply, one applied by this revision, or no price. */
type Decision =
  | { kind: 'same' }
  | { kind: 'unpriced'; reason: string }
  | { kind: 'change'; price: PricedUsage; source: UsageSource; poolSeconds: number; record: UsageRecord }
  | { kind: 'done'; record: UsageRecord; price: PricedUsage | undefined };

/**
 * The use case "re-rate a past period": the applied usages whose calls started in [from, to)
 * are priced again with the decks now in force and compared with what was charged. A dry run
 * reports, per tenant, the calls that change and the totals before and after. A real run
 * replaces each changed charge through the ledger (only the difference moves money: a cut is
 * refunded the way the call was paid, an increase debited; once per usage and revision), publishes the re-rated record, keeps a
 * checkpoint after each usage, and tells each tenant once what changed. A run stopped part way
 * and run again ends as one run would have: a usage re-rated before the checkpoint is found
 * with this revision and counted, never charged again.
 *
 * Pool minutes: a call that drew on a pool draws on it again in its own month, with its own
 * seconds given back first; a call that drew on none still draws on none.
 */
export class PeriodRerate {
  private readonly clock: () => Date;
  private readonly pageSize: number;
  private readonly maxAttempts: number;
  private rerated = 0;
  /** Re-rated records not yet sent: sent a page at a time, before the page's checkpoint. */
  private unsent: RerateRecord[] = [];

  constructor(private readonly options: RerateOptions) {
    this.clock = options.clock ?? (() => new Date());
    this.pageSize = options.pageSize ?? 500;
    this.maxAttempts = options.maxAttempts ?? 5;
  }

  async run(request: RerateRequest): Promise<RerateReport> {
    if (!(request.from.getTime() < request.to.getTime()))
      throw new RangeError('the period is empty: from must be before to');
    const revision = rerateRevision(request, this.options.decksDigest);
    const tenants: TenantRerate[] = [];
    let complete = true;
    const ids = request.tenantId ? [[request.tenantId]] : this.options.ledger.tenantPages();
    outer: for await (const page of ids)
      for (const tenantId of [...page].sort()) {
        const result = await this.tenant(tenantId, request, revision);
        if (result === 'stopped') {
          complete = false;
          break outer;
        }
        if (result) tenants.push(result);
      }
    tenants.sort((a, b) => (a.tenantId < b.tenantId ? -1 : 1));
    return { revision, from: request.from, to: request.to, dryRun: request.dryRun, complete, tenants };
  }

  private stopped(): boolean {
    const { stopAfter, signal } = this.options;
    return (stopAfter !== undefined && this.rerated >= stopAfter) || signal?.aborted === true;
  }

  /** One tenant's usages of the period, from its checkpoint on; undefined without an account. */
  private async tenant(
    tenantId: string,
    request: RerateRequest,
    revision: string,
  ): Promise<TenantRerate | 'stopped' | undefined> {
    const { ledger, checkpoints, progress } = this.options;
    let state = await ledger.readUsageState(tenantId, [], []);
    if ('refused' in state) return undefined;
    const checkpoint: RerateCheckpoint = request.dryRun
      ? { calls: 0, before: 0n, charged: 0n, done: false }
      : await checkpoints.read(revision, tenantId);
    const result: TenantRerate = {
      tenantId,
      currency: state.currency,
      examined: 0,
      calls: checkpoint.calls,
      before: checkpoint.before,
      after: checkpoint.charged,
      unpriced: [],
      refused: [],
    };
    if (checkpoint.done) return result;
    progress?.tenant?.(tenantId);

    let cursor = checkpoint.after;
    let offset = 0;
    for (;;) {
      const from = cursor ? new Date(Math.max(cursor.start, request.from.getTime())) : request.from;
      const page = await ledger.listUsage(tenantId, { from, to: request.to, offset, limit: this.pageSize });
      const fresh = cursor ? page.filter((usage) => isAfter(usage, cursor!)) : page;
      if (fresh.length === 0) {
        if (page.length < this.pageSize) break;
        offset += this.pageSize;
        continue;
      }
      state = await this.poolState(tenantId, fresh, state);
      // The page's records are sent, then its checkpoint kept, once for the page (and when
      // stopped part way): a kill in between leaves usages re-rated past the checkpoint, which
      // the next run finds with this revision, counts and sends again.
      const keep = async () => {
        if (request.dryRun || !cursor) return;
        // The page's changes are on the replicas before anything says they were made.
        await ledger.awaitReplicas([tenantId]);
        await this.send();
        await checkpoints.save(revision, tenantId, {
          after: cursor,
          calls: result.calls,
          before: result.before,
          charged: result.after,
          done: false,
        });
      };
      for (const usage of fresh) {
        if (this.stopped()) {
          await keep();
          return 'stopped';
        }
        result.examined += 1;
        state = await this.usage(tenantId, usage, state, revision, request.dryRun, result);
        cursor = { start: usage.outcome.start.getTime(), usageId: usage.usageId };
        progress?.usage?.(tenantId, result.examined, result.calls);
      }
      await keep();
      offset = 0;
      if (page.length < this.pageSize) break;
    }

    if (!request.dryRun) {
      if (result.calls > 0) {
        const told = await ledger.rerateNotice(tenantId, {
          revision,
          from: request.from,
          to: request.to,
          calls: result.calls,
          before: result.before,
          after: result.after,
        });
        if ('refused' in told)
          throw new Error(`the notice of ${tenantId} was refused: ${told.refused} ${told.detail}`);
      }
      await ledger.awaitReplicas([tenantId]);
      await checkpoints.save(revision, tenantId, {
        ...(cursor ? { after: cursor } : {}),
        calls: result.calls,
        before: result.before,
        charged: result.after,
        done: true,
      });
    }
    progress?.tenantDone?.(result);
    return result;
  }

  /** The state with the pool months of these usages read (the ones they drew on). */
  private async poolState(tenantId: string, usages: AppliedUsageRecord[], state: UsageState) {
    const months = [...new Set(usages.filter((u) => u.outcome.pool !== '').map((u) => poolKey(u.outcome)))];
    if (months.length === 0) return state;
    const read = await this.options.ledger.readUsageState(tenantId, [], months);
    if ('refused' in read) throw new Error(`the pools of ${tenantId} could not be read: ${read.refused}`);
    return read;
  }

  /** Prices one usage again and, unless dry, applies the change; returns the state after it. */
  private async usage(
    tenantId: string,
    usage: AppliedUsageRecord,
    state: UsageState,
    revision: string,
    dryRun: boolean,
    result: TenantRerate,
  ): Promise<UsageState> {
    const { outcome } = usage;
    for (let attempt = 1; ; attempt++) {
      const decision = this.decide(tenantId, usage, state, revision);
      if (decision.kind === 'same') return state;
      if (decision.kind === 'unpriced') {
        result.unpriced.push({ usageId: usage.usageId, reason: decision.reason });
        return state;
      }
      if (decision.kind === 'done') {
        // Re-rated by this revision before the checkpoint was kept: counted, published again.
        result.calls += 1;
        result.before += outcome.previousCharge ?? 0n;
        result.after += outcome.charge;
        if (!dryRun && decision.price)
          this.publish(
            tenantId,
            usage,
            decision.record,
            decision.price,
            outcome,
            revision,
            outcome.previousCharge ?? 0n,
          );
        return state;
      }
      const { price, source, poolSeconds, record } = decision;
      const key = poolKey(outcome);
      if (dryRun) {
        result.calls += 1;
        result.before += outcome.charge;
        result.after += price.charge;
        return withPoolUse(state, outcome, key, poolSeconds);
      }
      const applied = await this.options.ledger.rerate(tenantId, {
        usageId: usage.usageId,
        start: outcome.start,
        revision,
        currency: state.currency,
        source,
        charge: price.charge,
        poolSeconds,
        poolUse: outcome.pool === '' ? {} : { [key]: state.poolUsed[key] ?? 0 },
        user: userKeyOf(record),
      });
      if ('conflict' in applied) {
        if (attempt >= this.maxAttempts)
          throw new Error(`the pool use of ${tenantId} kept moving over ${attempt} attempts`);
        state = { ...state, poolUsed: { ...state.poolUsed, ...applied.conflict } };
        continue;
      }
      if ('refused' in applied) {
        result.refused.push({ usageId: usage.usageId, reason: `${applied.refused}: ${applied.detail}` });
        return state;
      }
      result.calls += 1;
      // A duplicate is this revision applied meanwhile: what it replaced is what was read.
      result.before += applied.duplicate
        ? (applied.outcome.previousCharge ?? outcome.charge)
        : outcome.charge;
      result.after += applied.outcome.charge;
      this.rerated += 1;
      this.publish(tenantId, usage, record, price, applied.outcome, revision, outcome.charge);
      return applied.duplicate ? state : withPoolUse(state, outcome, key, poolSeconds);
    }
  }

  private decide(tenantId: string, usage: AppliedUsageRecord, state: UsageState, revision: string): Decision {
    const { outcome } = usage;
    const record = recordOf(tenantId, usage);
    if (!record) return { kind: 'unpriced', reason: 'stored without the call (no usage report kept)' };
    const { pricer } = this.options;
    if (outcome.pool !== '' && pricer.poolFor(record)?.pool !== outcome.pool)
      return { kind: 'unpriced', reason: `the call no longer classifies to its pool ${outcome.pool}` };
    const key = poolKey(outcome);
    // Its own seconds given back first: the pool's room for this call is what it had then.
    const left =
      outcome.pool === ''
        ? 0
        : Math.max(
            0,
            (state.poolCapacity[outcome.pool] ?? 0) - (state.poolUsed[key] ?? 0) + outcome.poolSeconds,
          );
    const price = pricer.price(record, state.currency, left);
    if (outcome.revision === revision)
      return { kind: 'done', record, price: price.kind === 'priced' ? price : undefined };
    if (price.kind === 'unrated') return { kind: 'unpriced', reason: price.reason };
    const source = sourceOf(price, state.mode);
    const poolSeconds = outcome.pool === '' ? 0 : price.poolSeconds;
    if (source === outcome.source && price.charge === outcome.charge && poolSeconds === outcome.poolSeconds)
      return { kind: 'same' };
    return { kind: 'change', price, source, poolSeconds, record };
  }

  /** Sends the records re-rated since the last send, in one call. */
  private async send(): Promise<void> {
    const sink = this.options.records;
    const records = this.unsent;
    this.unsent = [];
    if (sink && records.length > 0) await sink.publish(records);
  }

  /** Queues a re-rated call's record for the next send. */
  private publish(
    tenantId: string,
    usage: AppliedUsageRecord,
    record: UsageRecord,
    price: PricedUsage,
    outcome: UsageOutcome,
    revision: string,
    previousCharge: MinorUnits,
  ): void {
    if (!this.options.records) return;
    const fp = usage.outcome.details?.fingerprint ?? fingerprint(record);
    this.unsent.push({
      tenantId,
      record,
      details: detailsOf(fp, price),
      applied: {
        charge: outcome.charge,
        poolSeconds: outcome.poolSeconds,
        source: outcome.source,
        appliedAt: this.clock(),
      },
      revision,
      previousCharge,
    });
  }
}

/** Whether a listed usage comes after the checkpoint's, in the listing's order. */
const isAfter = (usage: AppliedUsageRecord, after: { start: number; usageId: string }) => {
  const start = usage.outcome.start.getTime();
  return start > after.start || (start === after.start && usage.usageId > after.usageId);
};

/** The state after a usage's pool seconds moved from what it drew to `poolSeconds`. */
function withPoolUse(state: UsageState, outcome: UsageOutcome, key: string, poolSeconds: number): UsageState {
  if (outcome.pool === '' || poolSeconds === outcome.poolSeconds) return state;
  return {
    ...state,
    poolUsed: { ...state.poolUsed, [key]: (state.poolUsed[key] ?? 0) + poolSeconds - outcome.poolSeconds },
  };
}

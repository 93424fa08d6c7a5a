import type { BillingMode, UsageState } from '../credits/wallet';

/** The pool of a `<pool>:<yyyy-mm>` key. */
export const poolOfKey = (key: string) => key.slice(0, key.lastIndexOf(':'));

/** What the rater remembers of a tenant between its batches, to rate one without a read first. */
export interface KnownTenant {
  mode: BillingMode;
  currency: string;
  /** Seconds used by `<pool>:<yyyy-mm>`, as the last apply left them. */
  poolUsed: Map<string, number>;
  /** Monthly capacity in seconds, by pool. */
  poolCapacity: Map<string, number>;
}

/**
 * A bounded memory of tenants (least recently used first out): its size is a setting, not a
 * count of tenants. Nothing in it is trusted: a batch rated from it declares what it was rated
 * against, and the ledger refuses the batch when any of it has moved (then the tenant is read).
 */
export class TenantMemory {
  private readonly known = new Map<string, KnownTenant>();

  constructor(readonly capacity = 20_000) {}

  get(tenant: string): KnownTenant | undefined {
    const entry = this.known.get(tenant);
    if (entry) {
      // Most recently used last: Map keeps insertion order.
      this.known.delete(tenant);
      this.known.set(tenant, entry);
    }
    return entry;
  }

  set(tenant: string, entry: KnownTenant): void {
    this.known.delete(tenant);
    this.known.set(tenant, entry);
    if (this.known.size > this.capacity) this.known.delete(this.known.keys().next().value!);
  }

  forget(tenant: string): void {
    this.known.delete(tenant);
  }

  get size(): number {
    return this.known.size;
  }
}

/**
 * The state a remembered tenant is rated against, when the memory holds every pool month the
 * batch draws on (with nothing read of which usages were applied); undefined otherwise.
 */
export function rememberedState(
  known: KnownTenant | undefined,
  poolMonths: string[],
): UsageState | undefined {
  if (!known || !poolMonths.every((key) => known.poolUsed.has(key) && known.poolCapacity.has(poolOfKey(key))))
    return undefined;
  return {
    mode: known.mode,
    currency: known.currency,
    applied: new Map(),
    poolUsed: Object.fromEntries(poolMonths.map((key) => [key, known.poolUsed.get(key)!])),
    poolCapacity: Object.fromEntries(
      poolMonths.map((key) => [poolOfKey(key), known.poolCapacity.get(poolOfKey(key))!]),
    ),
  };
}

/** What the rater remembers of the tenant after a batch: the state it rated against, and its draws. */
export function remember(
  memory: TenantMemory,
  tenant: string,
  state: UsageState,
  before: KnownTenant | undefined,
  poolMonths: string[],
  applied: { duplicate: boolean; outcome: { pool: string; period: string; poolSeconds: number } }[],
): void {
  const same = before && before.mode === state.mode && before.currency === state.currency;
  const entry: KnownTenant = {
    mode: state.mode,
    currency: state.currency,
    poolUsed: same ? before.poolUsed : new Map(),
    poolCapacity: same ? before.poolCapacity : new Map(),
  };
  for (const key of poolMonths) {
    entry.poolUsed.set(key, 0);
    entry.poolCapacity.set(poolOfKey(key), 0);
  }
  // All the state says (a read gives every pool of the tenant), so later batches need no read.
  for (const [key, used] of Object.entries(state.poolUsed)) entry.poolUsed.set(key, used);
  for (const [pool, cap] of Object.entries(state.poolCapacity)) entry.poolCapacity.set(pool, cap);
  for (const { duplicate, outcome } of applied) {
    if (duplicate || outcome.poolSeconds <= 0) continue;
    const key = `${outcome.pool}:${outcome.period}`;
    entry.poolUsed.set(key, (entry.poolUsed.get(key) ?? 0) + outcome.poolSeconds);
  }
  memory.set(tenant, entry);
}

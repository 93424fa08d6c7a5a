import type { BillingMode } from '../credits/wallet';

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

import type { Ledger } from '../ledger/open-ledger';

export interface ExpirySweeperOptions {
  ledger: Pick<Ledger, 'indexes' | 'writes'>;
  /** Tenants expired per round trip (default 500). */
  pageSize?: number;
  intervalMs?: number;
  clock?: () => Date;
  /** Called for each tenant whose lots expired in a sweep (the outbox relay is poked). */
  onExpired?: (tenantId: string, lotsExpired: number) => void;
  onError?: (error: unknown) => void;
}

/**
 * Forfeits expired funds on a schedule, for tenants with no usage to trigger it: only the
 * tenants the expiry index says have a lot due (one command per index shard when none is).
 * Safe with several instances: expiring is idempotent, so two sweeps of one tenant forfeit once.
 */
export class ExpirySweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: ExpirySweeperOptions) {}

  start(): void {
    const tick = () => {
      this.running = this.sweep()
        .then(() => undefined)
        .catch((error: unknown) => this.options.onError?.(error))
        .finally(() => {
          this.running = undefined;
          if (this.timer) this.timer = setTimeout(tick, this.options.intervalMs ?? 60_000);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass over the tenants with a lot due; returns the number of lots expired. */
  async sweep(): Promise<number> {
    const now = (this.options.clock ?? (() => new Date()))();
    let total = 0;
    for await (const page of this.options.ledger.indexes.dueForExpiry(now, this.options.pageSize)) {
      const results = await Promise.all(
        page.map((tenant) => this.options.ledger.writes.expireLots(tenant, now)),
      );
      results.forEach((result, i) => {
        if ('lotsExpired' in result && result.lotsExpired > 0) {
          total += result.lotsExpired;
          this.options.onExpired?.(page[i]!, result.lotsExpired);
        }
      });
    }
    return total;
  }
}

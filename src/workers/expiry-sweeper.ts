import type { ExpiryLedger } from '../settlement/worker-ports';
import { Periodic } from './periodic';

export interface ExpirySweeperOptions {
  ledger: ExpiryLedger;
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
  private readonly schedule: Periodic;

  constructor(private readonly options: ExpirySweeperOptions) {
    this.schedule = new Periodic(() => this.sweep(), options.intervalMs ?? 60_000, options.onError);
  }

  start(): void {
    this.schedule.start();
  }

  stop(): Promise<void> {
    return this.schedule.stop();
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

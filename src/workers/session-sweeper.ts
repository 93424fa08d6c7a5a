import { Periodic } from './periodic';

/** What the sweeper needs of the ledger: the sessions index and the expiry of a tenant's sessions. */
export interface SessionSweepLedger {
  indexes: { dueSessions(now: Date, pageSize?: number): AsyncIterable<string[]> };
  sessions: { expireSessions(tenantId: string, at: Date): Promise<{ expired: number; dropped: number }> };
}

export interface SessionSweeperOptions {
  ledger: SessionSweepLedger;
  /** Tenants read from an index shard per round trip (default 500). */
  pageSize?: number;
  intervalMs?: number;
  clock?: () => Date;
  /** Called for each tenant whose sessions expired (switch stopped renewing) or were dropped. */
  onSwept?: (tenantId: string, counts: { expired: number; dropped: number }) => void;
  onError?: (error: unknown) => void;
}

/**
 * Expires call sessions whose switch stopped renewing them, and drops those whose CDR did not
 * come within the retention: only the tenants the sessions index says have one due (one
 * command per index shard when none is), never a walk over the tenants. Safe with several
 * instances: each session's expiry is one script, and a session expires once.
 */
export class SessionSweeper {
  private readonly schedule: Periodic;

  constructor(private readonly options: SessionSweeperOptions) {
    this.schedule = new Periodic(() => this.sweep(), options.intervalMs ?? 10_000, options.onError);
  }

  start(): void {
    this.schedule.start();
  }

  stop(): Promise<void> {
    return this.schedule.stop();
  }

  /** One pass over the tenants with a session due; returns the sessions expired and dropped. */
  async sweep(): Promise<{ expired: number; dropped: number }> {
    const now = (this.options.clock ?? (() => new Date()))();
    const total = { expired: 0, dropped: 0 };
    const { indexes, sessions } = this.options.ledger;
    for await (const page of indexes.dueSessions(now, this.options.pageSize)) {
      const results = await Promise.all(page.map((tenant) => sessions.expireSessions(tenant, now)));
      results.forEach((counts, i) => {
        total.expired += counts.expired;
        total.dropped += counts.dropped;
        if (counts.expired + counts.dropped > 0) this.options.onSwept?.(page[i]!, counts);
      });
    }
    return total;
  }
}

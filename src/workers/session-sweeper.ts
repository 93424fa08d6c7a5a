import type { Ledger } from '../ledger/open-ledger';

export interface SessionSweeperOptions {
  ledger: Pick<Ledger, 'indexes' | 'sessions'>;
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
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: SessionSweeperOptions) {}

  start(): void {
    const tick = () => {
      this.running = this.sweep()
        .then(() => undefined)
        .catch((error: unknown) => this.options.onError?.(error))
        .finally(() => {
          this.running = undefined;
          if (this.timer) this.timer = setTimeout(tick, this.options.intervalMs ?? 10_000);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
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

import type { PaymentReconciler, ReconcileSummary } from '../settlement/reconcile-payments';

export interface ReconcilerWorkerOptions {
  reconciler: Pick<PaymentReconciler, 'reconcileOnce'>;
  intervalMs: number;
  onPass?: (summary: ReconcileSummary) => void;
  onError?: (error: unknown) => void;
}

/**
 * The reconciler role: a pass over the payments pending longer than the grace period every
 * `intervalMs` (the index of pending payments: one command per index shard when none is).
 * Safe with several instances: settling is idempotent, and the gateway answers a second
 * charge with the same key by replaying the first (or 409 while it runs: pending, next pass).
 */
export class ReconcilerWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: ReconcilerWorkerOptions) {}

  start(): void {
    const tick = () => {
      this.running = this.options.reconciler
        .reconcileOnce()
        .then((summary) => this.options.onPass?.(summary))
        .catch((error: unknown) => this.options.onError?.(error))
        .finally(() => {
          this.running = undefined;
          if (this.timer) this.timer = setTimeout(tick, this.options.intervalMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}

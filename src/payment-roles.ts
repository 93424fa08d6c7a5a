import { Command } from 'commander';
import type { Logger } from 'pino';
import type { Config } from './config';
import type { PipelineInstrumentation } from './shared/instrumentation';
import type { Ledger } from './ledger/open-ledger';
import { paymentLedgerOf } from './ledger/open-ledger';
import { CachedQuery } from './observability/cached-query';
import type { LedgerGaugeValues } from './observability/metrics';
import type { PaymentGateway } from './settlement/ports';
import { formatPaymentsReport, paymentsReport } from './settlement/payments-report';
import {
  DEFAULT_KEY_WINDOW_MS,
  PaymentReconciler,
  type ReconcileSummary,
} from './settlement/reconcile-payments';
import { ReconcilerWorker } from './workers/payment-reconciler';

/** Payments taken per index shard by one reconciler pass. */
const RECONCILE_PAGE = 100;

/** The reconciler over the ledger and a gateway, with the configured grace period. */
export function paymentReconciler(
  ledger: Ledger,
  gateway: PaymentGateway,
  config: Pick<Config, 'payments'>,
  onSettled?: ConstructorParameters<typeof PaymentReconciler>[2]['onSettled'],
): PaymentReconciler {
  return new PaymentReconciler(paymentLedgerOf(ledger), gateway, {
    graceMs: config.payments.reconcileGraceSeconds * 1000,
    keyWindowMs: DEFAULT_KEY_WINDOW_MS,
    pageSize: RECONCILE_PAGE,
    clock: () => new Date(),
    ...(onSettled ? { onSettled } : {}),
  });
}

/** Starts the reconciler role; returns its stop. */
export function startReconciler(parts: {
  ledger: Ledger;
  gateway: PaymentGateway;
  config: Config;
  logger: Logger;
  instrumentation: PipelineInstrumentation;
  poke: (tenantId: string) => void;
}): () => Promise<void> {
  const { logger, instrumentation, poke } = parts;
  const reconciler = paymentReconciler(parts.ledger, parts.gateway, parts.config, (payment, settled) => {
    instrumentation.emit('paymentSettled', { outcome: settled.outcome });
    const fields = { ...payment, outcome: settled.outcome, detail: settled.detail };
    if (settled.outcome === 'succeeded' || settled.outcome === 'failed') {
      logger.info(fields, 'pending payment settled');
      poke(payment.tenantId);
    } else if (settled.outcome === 'mismatch') logger.error(fields, 'pending payment differs at the gateway');
    else logger.debug(fields, 'pending payment looked at');
  });
  const worker = new ReconcilerWorker({
    reconciler,
    intervalMs: parts.config.payments.reconcileIntervalSeconds * 1000,
    onError: (error) => logger.error({ err: error }, 'reconciler pass failed'),
  });
  worker.start();
  return () => worker.stop();
}

/** The gauges a scrape reads from the index shards, NaN until read. */
export const UNKNOWN_GAUGES: Omit<LedgerGaugeValues, 'ageSeconds'> = {
  tenants: NaN,
  depleted: NaN,
  backlog: NaN,
  pendingPayments: NaN,
  oldestPendingPaymentSeconds: NaN,
};

/**
 * How often the pending payments are counted for a scrape at most: on a Cluster a count is two
 * commands per index shard (16,384 each), on top of the ledger gauges' one.
 */
const PENDING_GAUGES_MAX_AGE_MS = 10_000;

/**
 * The ledger-wide gauges, with the pending payments' count and oldest age (read at most every
 * PENDING_GAUGES_MAX_AGE_MS; NaN until read), from the index shards.
 */
export function ledgerGaugeReader(ledger: Ledger): () => Promise<Omit<LedgerGaugeValues, 'ageSeconds'>> {
  const pending = new CachedQuery(() => ledger.indexes.pendingSummary(), {
    maxAgeMs: PENDING_GAUGES_MAX_AGE_MS,
    waitMs: 500,
  });
  return async () => {
    const [gauges, summary] = await Promise.all([ledger.indexes.gauges(), pending.get()]);
    const oldest = summary?.value.oldest;
    return {
      ...gauges,
      pendingPayments: summary ? summary.value.count : NaN,
      oldestPendingPaymentSeconds: !summary
        ? NaN
        : oldest
          ? Math.max(0, (Date.now() - oldest.getTime()) / 1000)
          : 0,
    };
  };
}

/** Parts a payments command needs, opened from the configuration and closed after it. */
export interface PaymentsCommandParts {
  ledger: Ledger;
  gateway: PaymentGateway;
  config: Config;
  close(): void;
}

/** `rater payments`: settle what was left pending now, and the report of charges against the books. */
export function paymentsCommand(open: () => PaymentsCommandParts, isoTime: (value: string) => Date): Command {
  const payments = new Command('payments').description('purchases and auto-recharges at the payment gateway');
  payments
    .command('reconcile')
    .description('settle the payments pending longer than PAYMENTS_RECONCILE_GRACE_SECONDS, once (one pass)')
    .action(async () => {
      const parts = open();
      try {
        const summary: ReconcileSummary = await paymentReconciler(
          parts.ledger,
          parts.gateway,
          parts.config,
          (payment, settled) =>
            console.error(
              `${settled.outcome.padEnd(16)} ${payment.tenantId} ${payment.kind} ${payment.id}` +
                (settled.detail ? ` (${settled.detail})` : ''),
            ),
        ).reconcileOnce();
        console.log(JSON.stringify(summary));
        if (summary.mismatch > 0) process.exitCode = 1;
      } finally {
        parts.close();
      }
    });
  payments
    .command('report')
    .description(
      'every gateway charge created in the window beside the purchase or recharge and lot the books hold for it, and every such lot beside its charge; exits 1 on a mismatch',
    )
    .requiredOption('--from <iso>', 'from then (inclusive)', isoTime)
    .requiredOption('--to <iso>', 'until then (exclusive)', isoTime)
    .action(async (o: { from: Date; to: Date }) => {
      const parts = open();
      try {
        const report = await paymentsReport(paymentLedgerOf(parts.ledger), parts.gateway, o);
        console.log(formatPaymentsReport(report));
        if (report.mismatches > 0) process.exitCode = 1;
      } finally {
        parts.close();
      }
    });
  return payments;
}

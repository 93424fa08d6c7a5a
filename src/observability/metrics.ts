import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { EVENT_TYPES, RECORD_RESULTS, REJECTION_CODES, SESSION_REASONS } from '../credits/codes';
import type { PartitionsReport, PipelineInstrumentation } from '../shared/instrumentation';

/** The ledger-wide gauges as a scrape sees them (from the index shards' counters). */
export interface LedgerGaugeValues {
  tenants: number;
  depleted: number;
  backlog: number;
  /** Payments begun and not settled (the index of pending payments). */
  pendingPayments: number;
  /** Seconds since the oldest of them began (0 when none is pending). */
  oldestPendingPaymentSeconds: number;
  /** Seconds since they were read from Redis. */
  ageSeconds: number;
}

/** The call sessions' gauges as a scrape sees them (from the index shards' counters). */
export interface SessionGaugeValues {
  live: number;
  /** Money sessions hold, in minor units, by currency. */
  held: Record<string, number>;
}

/** Bucket boundaries, in seconds. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
export const LAG_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/** What the reconciler can make of a pending payment (settlement/settle-payment.ts). */
const PAYMENT_OUTCOMES = ['succeeded', 'failed', 'already_settled', 'pending', 'mismatch', 'ignored'];

/** Every `x-error-code` of the dead-letter topic. */
const DEAD_LETTER_REASONS = REJECTION_CODES;

/**
 * The service's Prometheus metrics: collectors subscribed to the pipeline's events. Every
 * series with known labels exists at zero from the start, so rates and alerts see it.
 */
export function createMetrics(
  instrumentation: PipelineInstrumentation,
  /** Read on each scrape (cached by the caller): the ledger-wide gauges, NaN when unknown. */
  ledgerGauges?: () => Promise<LedgerGaugeValues>,
  /** The consumer's partitions (with the consumer role): read on each scrape, no I/O. */
  partitions?: () => PartitionsReport,
  /** Read on each scrape (cached by the caller): the call sessions' gauges, NaN when unknown. */
  sessionGauges?: () => Promise<SessionGaugeValues>,
): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'rater_' });
  // prom-client names these three gauges with _total, which the Prometheus conventions (and
  // `promtool check metrics`) keep for counters; the same counts come as rater_nodejs_active_*.
  for (const name of ['handles', 'requests', 'resources'])
    registry.removeSingleMetric(`rater_nodejs_active_${name}_total`);

  pipelineCollectors(registry, instrumentation);
  workerCollectors(registry, instrumentation);
  if (ledgerGauges) ledgerGaugeCollectors(registry, ledgerGauges);
  if (sessionGauges) sessionGaugeCollectors(registry, sessionGauges);
  if (partitions) partitionCollectors(registry, partitions);
  errorCollectors(registry, instrumentation);
  kafkaRequestCollectors(registry, instrumentation);
  return registry;
}

/** The CDR path: records by result, dead letters by reason, stage latencies, debit and consumer lag. */
function pipelineCollectors(registry: Registry, instrumentation: PipelineInstrumentation): void {
  const records = new Counter({
    name: 'rater_records_consumed_total',
    help: 'Usage records consumed, by result.',
    labelNames: ['result'],
    registers: [registry],
  });
  RECORD_RESULTS.forEach((result) => records.inc({ result }, 0));
  // Counted a batch at a time (a record at a time costs a label lookup per record).
  instrumentation.on('batch', ({ rated, duplicates, deadLettered }) => {
    if (rated > duplicates) records.inc({ result: 'rated' }, rated - duplicates);
    if (duplicates > 0) records.inc({ result: 'duplicate' }, duplicates);
    if (deadLettered > 0) records.inc({ result: 'dead_letter' }, deadLettered);
  });

  const deadLetters = new Counter({
    name: 'rater_dead_letters_total',
    help: 'Records sent to the dead-letter topic, by reason.',
    labelNames: ['reason'],
    registers: [registry],
  });
  DEAD_LETTER_REASONS.forEach((reason) => deadLetters.inc({ reason }, 0));
  instrumentation.on('deadLetter', ({ reason }) => deadLetters.inc({ reason }));

  const stage = (name: string, help: string, event: 'rating' | 'ledger' | 'batch') => {
    const histogram = new Histogram({ name, help, buckets: LATENCY_BUCKETS, registers: [registry] });
    instrumentation.on(event, ({ seconds }: { seconds: number }) => histogram.observe(seconds));
  };
  stage('rater_rating_duration_seconds', 'Time to rate the records of one tenant in a batch.', 'rating');
  stage(
    'rater_ledger_duration_seconds',
    'Time of the ledger script call for one tenant in a batch.',
    'ledger',
  );
  stage('rater_batch_duration_seconds', 'Time to process one Kafka batch, commit included.', 'batch');

  const debitLag = new Histogram({
    name: 'rater_debit_lag_seconds',
    help: 'From the end of a call to its debit or accrual.',
    buckets: LAG_BUCKETS,
    registers: [registry],
  });
  instrumentation.on('debitLag', ({ seconds }) => debitLag.observe(seconds));

  const consumerLag = new Gauge({
    name: 'rater_consumer_lag_messages',
    help: 'Messages behind the end of the partition after the last batch.',
    labelNames: ['topic', 'partition'],
    registers: [registry],
  });
  instrumentation.on('consumerLag', ({ topic, partition, lag }) =>
    consumerLag.set({ topic, partition: String(partition) }, lag),
  );
}

/** Events published, recharges, payments reconciled, call session answers and sweeps. */
function workerCollectors(registry: Registry, instrumentation: PipelineInstrumentation): void {
  const events = new Counter({
    name: 'rater_events_published_total',
    help: 'Balance events published to the events topic, by type.',
    labelNames: ['type'],
    registers: [registry],
  });
  EVENT_TYPES.forEach((type) => events.inc({ type }, 0));
  instrumentation.on('eventsPublished', ({ type, count }) => events.inc({ type }, count));

  const recharges = new Counter({
    name: 'rater_recharges_total',
    help: 'Auto-recharges recorded, by outcome.',
    labelNames: ['outcome'],
    registers: [registry],
  });
  ['succeeded', 'failed'].forEach((outcome) => recharges.inc({ outcome }, 0));
  instrumentation.on('recharge', ({ outcome }) => recharges.inc({ outcome }));

  const reconciled = new Counter({
    name: 'rater_payments_reconciled_total',
    help: 'Pending payments the reconciler looked at, by outcome (succeeded and failed: settled now).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  PAYMENT_OUTCOMES.forEach((outcome) => reconciled.inc({ outcome }, 0));
  instrumentation.on('paymentSettled', ({ outcome }) => reconciled.inc({ outcome }));
  const sessionAnswers = new Counter({
    name: 'rater_session_answers_total',
    help: 'Call session starts and renewals answered, by request and reason (refused: balance_depleted, user_spend_limit, user_blocked, concurrent_calls, unrated_destination, unknown_tenant).',
    labelNames: ['request', 'reason'],
    registers: [registry],
  });
  for (const request of ['start', 'update'])
    SESSION_REASONS.forEach((reason) => sessionAnswers.inc({ request, reason }, 0));
  instrumentation.on('sessionAnswer', (answer) => sessionAnswers.inc(answer));
  const swept = new Counter({
    name: 'rater_sessions_swept_total',
    help: 'Call sessions the sweeper expired (not renewed in time, no end) or dropped (no CDR within the retention).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  ['expired', 'dropped'].forEach((outcome) => swept.inc({ outcome }, 0));
  instrumentation.on('sessionsSwept', ({ expired, dropped }) => {
    if (expired > 0) swept.inc({ outcome: 'expired' }, expired);
    if (dropped > 0) swept.inc({ outcome: 'dropped' }, dropped);
  });
}

/** The ledger-wide gauges, read on each scrape. */
function ledgerGaugeCollectors(registry: Registry, ledgerGauges: () => Promise<LedgerGaugeValues>): void {
  const gauge = (name: string, help: string, read: (g: LedgerGaugeValues) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.set(read(await ledgerGauges()));
      },
    });
  gauge(
    'rater_outbox_backlog_events',
    'Events waiting in the tenants\u2019 outboxes for the relay.',
    (g) => g.backlog,
  );
  gauge(
    'rater_depleted_tenants',
    'Prepaid tenants whose credit-paid calls are blocked at zero balance.',
    (g) => g.depleted,
  );
  gauge('rater_tenants', 'Tenants with an account.', (g) => g.tenants);
  gauge(
    'rater_payments_pending',
    'Purchases and auto-recharges begun and not settled (the reconciler settles them).',
    (g) => g.pendingPayments,
  );
  gauge(
    'rater_payments_pending_oldest_age_seconds',
    'Seconds since the oldest pending purchase or auto-recharge began (0 when none is pending).',
    (g) => g.oldestPendingPaymentSeconds,
  );
  gauge(
    'rater_ledger_gauges_age_seconds',
    'How old the ledger-wide gauges are (they are read from Redis, cached; NaN: never read).',
    (g) => g.ageSeconds,
  );
}

/** The call sessions live and the money they hold, read on each scrape. */
function sessionGaugeCollectors(registry: Registry, sessionGauges: () => Promise<SessionGaugeValues>): void {
  new Gauge({
    name: 'rater_call_sessions_live',
    help: 'Call sessions in progress (started, neither ended nor expired nor settled).',
    registers: [registry],
    async collect() {
      this.set((await sessionGauges()).live);
    },
  });
  new Gauge({
    name: 'rater_call_sessions_held_minor_units',
    help: 'Money call sessions hold (reserved for calls in progress, held until their CDRs), in minor units, by currency.',
    labelNames: ['currency'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [currency, amount] of Object.entries((await sessionGauges()).held))
        this.set({ currency }, amount);
    },
  });
}

/** The consumer's partitions: stuck ones, and the seconds since each one's progress. */
function partitionCollectors(registry: Registry, partitions: () => PartitionsReport): void {
  new Gauge({
    name: 'rater_stuck_partitions',
    help: 'Assigned partitions with records waiting and no batch committed for STUCK_PARTITION_SECONDS.',
    registers: [registry],
    collect() {
      this.set(partitions().stuck().length);
    },
  });
  const since = new Gauge({
    name: 'rater_partition_seconds_since_progress',
    help: 'Seconds since the partition last committed a batch, for assigned partitions with records waiting (0 when none wait).',
    labelNames: ['topic', 'partition'],
    registers: [registry],
    collect() {
      // Only the partitions assigned now: a partition that moved away drops its series.
      this.reset();
      for (const p of partitions().states()) {
        since.set({ topic: p.topic, partition: String(p.partition) }, p.waiting ? p.secondsSinceProgress : 0);
      }
    },
  });
}

/** Ledger script errors by operation, and transient failures retried by stage. */
function errorCollectors(registry: Registry, instrumentation: PipelineInstrumentation): void {
  const scriptErrors = new Counter({
    name: 'rater_script_errors_total',
    help: 'Ledger script calls that failed, by operation.',
    labelNames: ['operation'],
    registers: [registry],
  });
  scriptErrors.inc({ operation: 'applyUsage' }, 0);
  instrumentation.on('scriptError', ({ operation }) => scriptErrors.inc({ operation }));

  const retries = new Counter({
    name: 'rater_retries_total',
    help: 'Transient failures retried, by stage.',
    labelNames: ['stage'],
    registers: [registry],
  });
  ['ledger', 'produce', 'commit', 'registry', 'replicas'].forEach((s) => retries.inc({ stage: s }, 0));
  instrumentation.on('retry', ({ stage: s }) => retries.inc({ stage: s }));
}

/** What the broker is asked to do, counted on the client side (its own figures are in JMX). */
function kafkaRequestCollectors(registry: Registry, instrumentation: PipelineInstrumentation): void {
  const kafkaRequests = new Counter({
    name: 'rater_kafka_requests_total',
    help: 'Requests sent the broker by the service producer and the CDR consumer, by client and protocol API.',
    labelNames: ['client', 'api'],
    registers: [registry],
  });
  for (const [client, api] of [
    ['producer', 'Produce'],
    ['consumer', 'Fetch'],
    ['consumer', 'OffsetCommit'],
  ] as const) {
    kafkaRequests.inc({ client, api }, 0);
  }
  instrumentation.on('kafkaRequest', ({ client, api }) => kafkaRequests.inc({ client, api }));
}

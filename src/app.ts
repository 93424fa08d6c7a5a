import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import Fastify from 'fastify';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createTransport } from 'nodemailer';
import type { Logger } from 'pino';
import { healthRoutes } from './api/health';
import swagger from '@fastify/swagger';
import { adminRoutes, OPENAPI_OPTIONS } from './api/admin-routes';
import { consoleRoutes } from './api/console/console-routes';
import { operatorViewsOf } from './api/console/operator-views';
import { ConsoleSessions } from './ledger/console-sessions';
import { metricsRoute } from './api/metrics-route';
import { refuseQueryCredentials } from './api/query-credentials';
import type { Config, Role } from './config';
import { countRequests, usageProducerConfig } from './kafka/consumer-settings';
import { subscribeToEvents } from './kafka/event-subscriber';
import { ExpirySweeper } from './workers/expiry-sweeper';
import { SessionSweeper } from './workers/session-sweeper';
import { PipelineInstrumentation } from './kafka/instrumentation';
import { Notifier } from './workers/notifier';
import { OutboxRelay } from './kafka/outbox-relay';
import { PaymentGateway } from './settlement/ports';
import { cardGatewayOf, paymentGateway, serveGatewayWebhooks } from './app-payments';
import type { UsagePricer } from './settlement/ports';
import { RechargeWorker } from './workers/recharge-worker';
import { ensureTopics } from './kafka/topics';
import { UsageConsumer } from './kafka/usage-consumer';
import { Ledger, openLedger } from './ledger/open-ledger';
import { connectRedis, firstConnection, seedConnectionError } from './ledger/redis-connection';
import { kafkaClient } from './kafka/kafka-client';
import { explainKafkaConnectError, explainRedisConnectError } from './config/connection-errors';
import { createLogger, logPipelineEvents, redisErrorLog } from './observability/logs';
import { CachedQuery } from './observability/cached-query';
import { createMetrics } from './observability/metrics';
import { rateBookDigest, type RateBook } from './rating';
import type { RatedRecordSink, RerateLedger } from './settlement/ports';
import { PeriodRerate, RerateOptions } from './settlement/rerate-period';
import { KafkaRatedRecordSink } from './kafka/rated-record-sink';
import { ledgerGaugeReader, startReconciler, UNKNOWN_GAUGES } from './payment-roles';

/** The running service: adapters built from the configuration, wired together. */
export interface App {
  /** Base URL of the HTTP server. */
  url: string;
  ledger: Ledger;
  instrumentation: PipelineInstrumentation;
  /** Finishes the batch in hand, commits, publishes what is pending, then disconnects. */
  stop(): Promise<void>;
}

export interface AppDependencies {
  /** Required by the consumer role. */
  pricer?: UsagePricer;
  /** Replaces the gateway PAYMENT_GATEWAY chose (tests: one behind a recording proxy). */
  gateway?: PaymentGateway;
  logger?: Logger;
  /** The rate decks and plans: tenants' licences become pool capacities. */
  book?: RateBook;
}

/** The ledger as re-rating a period needs it. */
export function rerateLedgerOf(ledger: Ledger): RerateLedger {
  return {
    tenantPages: () => ledger.tenants.pages(),
    readUsageState: (tenantId, usages, poolMonths) =>
      ledger.writes.readUsageState(tenantId, usages, poolMonths),
    listUsage: (tenantId, range) => ledger.reads.listUsage(tenantId, range),
    rerate: (tenantId, change) => ledger.writes.rerate(tenantId, change),
    awaitReplicas: (tenantIds) => ledger.writes.awaitReplicas(tenantIds),
    rerateNotice: (tenantId, notice) => ledger.writes.rerateNotice(tenantId, notice),
  };
}

/** The use case "re-rate a past period" over the ledger, with the decks of `book`. */
export function periodRerate(
  ledger: Ledger,
  pricer: UsagePricer,
  book: RateBook,
  records?: RatedRecordSink,
  options: Partial<RerateOptions> = {},
): PeriodRerate {
  return new PeriodRerate({
    ledger: rerateLedgerOf(ledger),
    pricer,
    decksDigest: rateBookDigest(book),
    checkpoints: ledger.rerates,
    ...(records ? { records } : {}),
    ...options,
  });
}

const CHECK_TIMEOUT_MS = 2_000;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`${what} did not answer in ${CHECK_TIMEOUT_MS} ms`)),
        CHECK_TIMEOUT_MS,
      ).unref(),
    ),
  ]);
}

/** A scrape waits this long at most for the ledger-wide gauges, read again after this long. */
const LEDGER_GAUGES_WAIT_MS = 500;
const LEDGER_GAUGES_MAX_AGE_MS = 1_000;

/** A registry request without an answer in this long fails (and the batch waits, retrying). */
const REGISTRY_TIMEOUT_MS = 5_000;
type RegistryMiddleware = NonNullable<ConstructorParameters<typeof SchemaRegistry>[0]['middlewares']>[number];
const registryTimeout: RegistryMiddleware = () => ({
  prepareRequest: (next) => next().then((request) => request.enhance({ timeout: REGISTRY_TIMEOUT_MS })),
});

/** What /readyz and the start's log say of payments: the gateway, and when purchases are off. */
function paymentFacts(config: Config): { paymentGateway: string; payments?: string } {
  const gateway = config.payments.gateway ?? 'none';
  return gateway === 'none'
    ? {
        paymentGateway: gateway,
        payments:
          'disabled: no payment gateway (PAYMENT_GATEWAY=none), purchases answer 503 and auto-recharge is off; set PAYMENT_GATEWAY=stripe and STRIPE_API_KEY to take payments',
      }
    : { paymentGateway: gateway };
}

/**
 * The console's secret (CONSOLE_SECRET or CONSOLE_SECRET_FILE): without one, a random one for
 * this process, which is right for one instance only (the log says so).
 */
function consoleSecret(config: Config, logger: Logger): string {
  const { secret, secretFile } = config.console;
  if (secret) return secret;
  if (secretFile) {
    let text: string;
    try {
      text = readFileSync(secretFile, 'utf8').trim();
    } catch (error) {
      throw new Error(`CONSOLE_SECRET_FILE ${secretFile}: ${(error as Error).message}`, { cause: error });
    }
    if (text.length < 32)
      throw new Error(`CONSOLE_SECRET_FILE ${secretFile}: the secret must be at least 32 characters`);
    return text;
  }
  logger.info(
    'CONSOLE_SECRET is not set: the console signs with a secret of this process (one instance only)',
  );
  return randomBytes(32).toString('base64url');
}

export async function startApp(config: Config, dependencies: AppDependencies): Promise<App> {
  const logger = dependencies.logger ?? createLogger(config.logLevel);
  const has = (role: Role) => config.roles.includes(role);
  const gateway = dependencies.gateway ?? paymentGateway(config);
  const cards = cardGatewayOf(gateway);
  if (config.payments.gateway === 'simulated')
    logger.warn(
      { paymentGateway: 'simulated' },
      'PAYMENT_GATEWAY=simulated: charges are approved without any payment (tests and demos only)',
    );
  const instrumentation = new PipelineInstrumentation();
  logPipelineEvents(instrumentation, logger);
  const stops: (() => Promise<void>)[] = [];

  const redis = connectRedis(config.redis);
  redis.on('error', redisErrorLog(logger, config.redis.url));
  // A password or a certificate that Redis or the client refuses stops the start, naming
  // the setting; a Redis that is down does not (the ledger waits for it, as in an outage).
  const first = await firstConnection(redis);
  // The first error may only say a connection closed (a Cluster's) or was reset (a refused
  // client certificate): the server, or the Cluster's seed node, asked directly, says why.
  const refused =
    explainRedisConnectError(first) ??
    (first ? explainRedisConnectError(await seedConnectionError(config.redis)) : undefined);
  if (refused) {
    redis.disconnect();
    throw refused;
  }
  const ledger = openLedger(redis, {
    prefix: config.redis.keyPrefix,
    idempotencyRetentionMs: config.ledger.idempotencyRetentionDays * 24 * 3600 * 1000,
    sessionRetentionMs: config.sessions.retentionHours * 3600 * 1000,
    replicas: { replicas: config.redis.waitReplicas, timeoutMs: config.redis.waitTimeoutMs },
  });

  const kafka = kafkaClient(config.kafka, { logSink: logger });
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (error) {
    redis.disconnect();
    throw (
      explainKafkaConnectError(error) ??
      new Error(
        `Kafka did not answer at KAFKA_BROKERS=${config.kafka.brokers.join(',')}: ${(error as Error).message}`,
        {
          cause: error,
        },
      )
    );
  }
  const { topics } = config.kafka;
  if (config.kafka.createTopics) {
    const created = await ensureTopics(admin, Object.values(topics), config.kafka.topicPartitions);
    if (created.length > 0) logger.info({ topics: created }, 'created topics');
  }
  const producer = kafka.producer(usageProducerConfig());
  countRequests(producer, 'producer', (request) => instrumentation.emit('kafkaRequest', request));
  await producer.connect();

  let relay: OutboxRelay | undefined;
  if (has('relay')) {
    relay = new OutboxRelay({
      ledger,
      producer,
      topic: topics.eventsOut,
      source: config.outbox.eventsSource,
      sweepIntervalMs: config.outbox.sweepIntervalMs,
      onPublished: (tenantId, byType, eventIds) => {
        for (const [type, count] of byType) instrumentation.emit('eventsPublished', { type, count });
        logger.debug({ tenantId, events: Object.fromEntries(byType), eventIds }, 'events published');
      },
      onError: (error) => logger.error({ err: error }, 'outbox relay round failed'),
    });
    relay.start();
    stops.push(() => relay!.stop());
  }
  const poke = (tenantId: string) => relay?.poke(tenantId);

  let consumer: UsageConsumer | undefined;
  if (has('consumer')) {
    if (!dependencies.pricer) throw new Error('the consumer role needs rate decks to price usage');
    consumer = new UsageConsumer({
      kafka,
      producer,
      ledger: ledger.writes,
      pricer: dependencies.pricer,
      registry: config.schemaRegistry.url
        ? new SchemaRegistry({
            host: config.schemaRegistry.url,
            middlewares: [registryTimeout],
            ...(config.schemaRegistry.username
              ? {
                  auth: {
                    username: config.schemaRegistry.username,
                    password: config.schemaRegistry.password!,
                  },
                }
              : {}),
          })
        : undefined,
      groupId: config.kafka.groupId,
      sessionTimeoutMs: config.kafka.sessionTimeoutMs,
      stuckPartitionMs: config.kafka.stuckPartitionSeconds * 1000,
      topics,
      instrumentation,
      deadLetterLog: ledger.deadLetters,
      maxMessageBytes: config.kafka.maxMessageBytes,
      cdrRules: {
        ...(config.cdr.maxRecordBytes ? { maxRecordBytes: config.cdr.maxRecordBytes } : {}),
        maxDepth: config.cdr.maxDepth,
        futureSkewMs: config.cdr.futureSkewSeconds * 1000,
        maxAgeMs: (config.ledger.idempotencyRetentionDays * 24 - config.cdr.lateMarginHours) * 3600 * 1000,
      },
    });
    await consumer.start();
    stops.unshift(() => consumer!.stop());
  }

  if (has('recharge')) {
    if (!gateway) throw new Error('the recharge role needs a payment gateway: set PAYMENT_GATEWAY');
    const worker = new RechargeWorker({
      ledger,
      gateway,
      onRecorded: (tenantId, requestId, status, detail) => {
        instrumentation.emit('recharge', { outcome: status });
        if (status === 'succeeded')
          logger.info({ tenantId, requestId, status, ...detail }, 'recharge recorded');
        else logger.warn({ tenantId, requestId, status, ...detail }, 'recharge recorded');
        poke(tenantId);
      },
      onUnknown: (tenantId, requestId, message) =>
        logger.warn({ tenantId, requestId, message }, 'recharge outcome unknown: pending for the reconciler'),
    });
    const subscription = await subscribeToEvents({
      kafka,
      groupId: `${config.kafka.groupId}-recharge`,
      topic: topics.eventsOut,
      handle: (event) => worker.handle(event),
      onMalformed: (error) => logger.error({ err: error }, 'malformed event skipped'),
    });
    stops.unshift(subscription.stop);
  }

  if (has('notifier') && config.mail.smtpUrl) {
    const transport = createTransport(config.mail.smtpUrl);
    const notifier = new Notifier({
      ledger,
      transport,
      from: config.mail.from,
      notifyLowBalance: config.mail.notifyLowBalance,
      redis,
      keyPrefix: config.redis.keyPrefix,
      onSent: (event, to) =>
        logger.info(
          { tenantId: event.subject, eventId: event.id, type: event.type, recipients: to.length },
          'notice mailed',
        ),
    });
    const subscription = await subscribeToEvents({
      kafka,
      groupId: `${config.kafka.groupId}-notifier`,
      topic: topics.eventsOut,
      handle: (event) => notifier.handle(event),
      onMalformed: (error) => logger.error({ err: error }, 'malformed event skipped'),
    });
    stops.unshift(async () => {
      await subscription.stop();
      transport.close();
    });
  }

  if (has('reconciler')) {
    if (!gateway) throw new Error('the reconciler role needs a payment gateway: set PAYMENT_GATEWAY');
    stops.unshift(startReconciler({ ledger, gateway, config, logger, instrumentation, poke }));
  }

  if (has('sweeper')) {
    const sweeper = new ExpirySweeper({
      ledger,
      intervalMs: config.expiry.sweepIntervalSeconds * 1000,
      onExpired: (tenantId, lots) => {
        logger.info({ tenantId, lots }, 'funds expired');
        poke(tenantId);
      },
      onError: (error) => logger.error({ err: error }, 'expiry sweep failed'),
    });
    sweeper.start();
    stops.unshift(() => sweeper.stop());
    const sessionSweeper = new SessionSweeper({
      ledger,
      intervalMs: config.sessions.sweepIntervalSeconds * 1000,
      onSwept: (tenantId, counts) => {
        logger.info({ tenantId, ...counts }, 'call sessions expired or dropped');
        instrumentation.emit('sessionsSwept', counts);
      },
      onError: (error) => logger.error({ err: error }, 'session sweep failed'),
    });
    sessionSweeper.start();
    stops.unshift(() => sessionSweeper.stop());
  }

  // The gauges are the index shards' counters (one command on standalone Redis, one per slot
  // on a Cluster), never a walk over the tenants. With Redis away or slow a scrape answers the
  // last values within 0.5 s (NaN if never read), with their age: it never fails with the store.
  const ledgerGauges = new CachedQuery(ledgerGaugeReader(ledger), {
    maxAgeMs: LEDGER_GAUGES_MAX_AGE_MS,
    waitMs: LEDGER_GAUGES_WAIT_MS,
  });
  const sessionGauges = new CachedQuery(() => ledger.indexes.sessionGauges(), {
    maxAgeMs: LEDGER_GAUGES_MAX_AGE_MS,
    waitMs: LEDGER_GAUGES_WAIT_MS,
  });
  const metrics = createMetrics(
    instrumentation,
    async () => {
      const cached = await ledgerGauges.get();
      if (!cached) return { ...UNKNOWN_GAUGES, ageSeconds: NaN };
      return { ...cached.value, ageSeconds: (Date.now() - cached.at) / 1000 };
    },
    consumer ? () => consumer!.partitions() : undefined,
    async () => (await sessionGauges.get())?.value ?? { live: NaN, held: {} },
  );

  const http = Fastify({
    loggerInstance: logger,
    bodyLimit: 64 * 1024,
    // A path parameter may be a user key (256 bytes of UTF-8, percent-encoded): the schema
    // refuses a longer one with a 400, before the router's 414.
    routerOptions: { maxParamLength: 1024 },
    // Strict validation: an unknown or mistyped field is a 400 naming it, never dropped or coerced.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });
  refuseQueryCredentials(http);
  // Only JSON bodies: fastify's built-in text/plain parser would hand a string to a route
  // that expects an object (a 400); without it a text body is a 415, as documented.
  http.removeContentTypeParser('text/plain');
  metricsRoute(http, metrics);
  await http.register(swagger, OPENAPI_OPTIONS);
  if (has('api') && dependencies.pricer) {
    adminRoutes(http, {
      ledger,
      pricer: dependencies.pricer,
      book: dependencies.book,
      operatorTokenSha256: config.api.operatorTokenSha256,
      gateway,
      cards,
      publicUrl: config.http.publicUrl,
      sessions: { grantSeconds: config.sessions.grantSeconds, graceSeconds: config.sessions.graceSeconds },
      onSessionAnswer: (request, answer) =>
        instrumentation.emit('sessionAnswer', { request, reason: answer.reason }),
      ...(dependencies.book
        ? {
            rerate: periodRerate(
              ledger,
              dependencies.pricer,
              dependencies.book,
              new KafkaRatedRecordSink(producer, topics.ratedOut),
            ),
          }
        : {}),
    });
    serveGatewayWebhooks(http, config, ledger, cards, logger);
    if (config.console.enabled) {
      const secure = config.console.secureCookies;
      await http.register(consoleRoutes, {
        prefix: '/console',
        ledger,
        sessions: new ConsoleSessions(redis, config.redis.keyPrefix),
        gateway,
        cards,
        publicUrl: config.http.publicUrl,
        operatorTokenSha256: config.api.operatorTokenSha256,
        secret: consoleSecret(config, logger),
        sessionTtlMs: config.console.sessionTtlMinutes * 60_000,
        secureCookies: secure === 'auto' ? 'auto' : secure === 'true',
        operator: operatorViewsOf(ledger),
      });
      // The service's address opens the console (303: the browser follows with a GET).
      http.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/console', 303));
    }
  }
  healthRoutes(
    http,
    [
      { name: 'redis', check: async () => (await withTimeout(redis.ping(), 'redis')) === 'PONG' },
      { name: 'kafka', check: async () => (await withTimeout(admin.listTopics(), 'kafka'), true) },
      // With REDIS_WAIT_REPLICAS: the replicas did not acknowledge the last writes in time.
      ...(ledger.writes.replicas.enabled
        ? [
            {
              name: 'redis_replicas',
              check: async () => {
                const lag = await ledger.writes.replicas.lagging();
                return lag === undefined || `redis_replicas_lagging: ${lag}`;
              },
            },
          ]
        : []),
      ...(consumer
        ? [
            { name: 'consumer', check: async () => consumer!.isConsuming() },
            {
              name: 'partitions',
              check: async () => {
                const stuck = consumer!.partitions().stuck();
                return stuck.length === 0 || `stuck: ${stuck.map((s) => s.reason).join('; ')}`;
              },
            },
          ]
        : []),
    ],
    [
      // A consumer crash kafkajs does not restart from (a bug, not an outage): the process is
      // no longer alive for its job, and the orchestrator should restart it.
      ...(consumer
        ? [{ name: 'consumer', check: async () => consumer!.crashReason()?.message ?? true }]
        : []),
    ],
    paymentFacts(config),
  );
  http.get('/v1/openapi.json', { schema: { hide: true } }, async () => http.swagger());
  await http.listen({ host: config.http.host, port: config.http.port });
  const address = http.server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  logger.info({ port, roles: config.roles, ...paymentFacts(config) }, 'rater started');

  return {
    url: `http://${config.http.host}:${port}`,
    ledger,
    instrumentation,
    async stop() {
      // The consumer first (it finishes and commits its batch), the relay after it, so the
      // events of that last batch still go out; then the connections.
      for (const stop of stops) await stop();
      await http.close();
      await producer.disconnect();
      await admin.disconnect();
      redis.disconnect();
      logger.info('rater stopped');
    },
  };
}

import swagger from '@fastify/swagger';
import Fastify from 'fastify';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { adminRoutes, OPENAPI_OPTIONS } from './api/admin-routes';
import { consoleRoutes } from './api/console/console-routes';
import { operatorViewsOf } from './api/console/operator-views';
import { healthRoutes } from './api/health';
import { metricsRoute } from './api/metrics-route';
import { refuseQueryCredentials } from './api/query-credentials';
import { serveGatewayWebhooks } from './app-payments';
import { periodRerate } from './app-rerate';
import type { Wiring } from './app-wiring';
import type { Config } from './config';
import { KafkaRatedRecordSink } from './kafka/rated-record-sink';
import type { UsageConsumer } from './kafka/usage-consumer';
import { ConsoleSessions } from './ledger/console-sessions';
import { CachedQuery } from './observability/cached-query';
import { createMetrics } from './observability/metrics';
import { ledgerGaugeReader, UNKNOWN_GAUGES } from './payment-roles';
import type { RateBook } from './rating';
import type { CardGateway, PaymentGateway, UsagePricer } from './settlement/ports';

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

/** What the HTTP server serves besides metrics and health: the admin API and the console. */
export interface HttpParts {
  /** With the api role: the admin API needs the pricer (and the console comes with the API). */
  api?: { pricer: UsagePricer; book: RateBook | undefined };
  gateway: PaymentGateway | undefined;
  cards: CardGateway | undefined;
  consumer: UsageConsumer | undefined;
}

/** What /readyz and the start's log say of payments: the gateway, and when purchases are off. */
export function paymentFacts(config: Config): { paymentGateway: string; payments?: string } {
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

/**
 * The metrics registry. The gauges are the index shards' counters (one command on standalone
 * Redis, one per slot on a Cluster), never a walk over the tenants. With Redis away or slow a
 * scrape answers the last values within 0.5 s (NaN if never read), with their age: it never
 * fails with the store.
 */
function metricsOf({ ledger, instrumentation }: Wiring, consumer: UsageConsumer | undefined) {
  const ledgerGauges = new CachedQuery(ledgerGaugeReader(ledger), {
    maxAgeMs: LEDGER_GAUGES_MAX_AGE_MS,
    waitMs: LEDGER_GAUGES_WAIT_MS,
  });
  const sessionGauges = new CachedQuery(() => ledger.indexes.sessionGauges(), {
    maxAgeMs: LEDGER_GAUGES_MAX_AGE_MS,
    waitMs: LEDGER_GAUGES_WAIT_MS,
  });
  return createMetrics(
    instrumentation,
    async () => {
      const cached = await ledgerGauges.get();
      if (!cached) return { ...UNKNOWN_GAUGES, ageSeconds: NaN };
      return { ...cached.value, ageSeconds: (Date.now() - cached.at) / 1000 };
    },
    consumer ? () => consumer.partitions() : undefined,
    async () => (await sessionGauges.get())?.value ?? { live: NaN, held: {} },
  );
}

/** The server, strict about what it accepts. */
function httpServer(logger: Logger) {
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
  return http;
}

type Http = ReturnType<typeof httpServer>;

/** The admin API, the payment provider's webhooks, and the console when it is enabled. */
async function apiAndConsole(
  http: Http,
  wiring: Wiring,
  { pricer, book }: NonNullable<HttpParts['api']>,
  { gateway, cards }: HttpParts,
): Promise<void> {
  const { config, ledger, logger, instrumentation } = wiring;
  adminRoutes(http, {
    ledger,
    pricer,
    book,
    operatorTokenSha256: config.api.operatorTokenSha256,
    gateway,
    cards,
    publicUrl: config.http.publicUrl,
    sessions: { grantSeconds: config.sessions.grantSeconds, graceSeconds: config.sessions.graceSeconds },
    onSessionAnswer: (request, answer) =>
      instrumentation.emit('sessionAnswer', { request, reason: answer.reason }),
    ...(book
      ? {
          rerate: periodRerate(
            ledger,
            pricer,
            book,
            new KafkaRatedRecordSink(wiring.producer, config.kafka.topics.ratedOut),
          ),
        }
      : {}),
  });
  serveGatewayWebhooks(http, config, ledger, cards, logger);
  if (!config.console.enabled) return;
  const secure = config.console.secureCookies;
  await http.register(consoleRoutes, {
    prefix: '/console',
    ledger,
    sessions: new ConsoleSessions(wiring.redis, config.redis.keyPrefix),
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

/** /readyz's checks (Redis, Kafka, the replicas, the consumer) and /healthz's. */
function serveHealth(http: Http, { config, redis, admin, ledger }: Wiring, consumer?: UsageConsumer) {
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
            { name: 'consumer', check: async () => consumer.isConsuming() },
            {
              name: 'partitions',
              check: async () => {
                const stuck = consumer.partitions().stuck();
                return stuck.length === 0 || `stuck: ${stuck.map((s) => s.reason).join('; ')}`;
              },
            },
          ]
        : []),
    ],
    [
      // A consumer crash kafkajs does not restart from (a bug, not an outage): the process is
      // no longer alive for its job, and the orchestrator should restart it.
      ...(consumer ? [{ name: 'consumer', check: async () => consumer.crashReason()?.message ?? true }] : []),
    ],
    paymentFacts(config),
  );
}

/** The HTTP server: metrics, the admin API and console (with the api role), health, listening. */
export async function serveHttp(wiring: Wiring, parts: HttpParts): Promise<{ http: Http; port: number }> {
  const { config } = wiring;
  const http = httpServer(wiring.logger);
  metricsRoute(http, metricsOf(wiring, parts.consumer));
  await http.register(swagger, OPENAPI_OPTIONS);
  if (parts.api) await apiAndConsole(http, wiring, parts.api, parts);
  serveHealth(http, wiring, parts.consumer);
  http.get('/v1/openapi.json', { schema: { hide: true } }, async () => http.swagger());
  await http.listen({ host: config.http.host, port: config.http.port });
  const address = http.server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  return { http, port };
}

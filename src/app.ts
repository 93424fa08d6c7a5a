import type { Logger } from 'pino';
import { startConsumer } from './app-consumer';
import { connectKafka, connectLedger } from './app-connections';
import { paymentFacts, serveHttp } from './app-http';
import { cardGatewayOf, paymentGateway } from './app-payments';
import type { Wiring } from './app-wiring';
import { startRelay, startWorkerRoles } from './app-workers';
import type { Config, Role } from './config';
import { PipelineInstrumentation } from './shared/instrumentation';
import type { UsageConsumer } from './kafka/usage-consumer';
import type { Ledger } from './ledger/open-ledger';
import { createLogger, logPipelineEvents } from './observability/logs';
import type { RateBook } from './rating';
import type { PaymentGateway, UsagePricer } from './settlement/ports';

export { periodRerate, rerateLedgerOf } from './app-rerate';

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

/** Redis, the ledger, Kafka and the shared producer, with the instrumentation every role reports to. */
async function connect(config: Config, logger: Logger): Promise<Wiring> {
  const instrumentation = new PipelineInstrumentation();
  logPipelineEvents(instrumentation, logger);
  const { redis, ledger } = await connectLedger(config, logger);
  const { kafka, admin, producer } = await connectKafka(config, logger, redis, instrumentation);
  return { config, logger, instrumentation, redis, ledger, kafka, admin, producer, stops: [] };
}

/**
 * Starts the roles of `config.roles` (CONSUMER, API, RELAY, ... in RATER_ROLES) over one Redis
 * and one Kafka connection, and the HTTP server (health and metrics always; the admin API and
 * console with the api role).
 */
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
  const wiring = await connect(config, logger);
  const { ledger, instrumentation, stops } = wiring;

  const relay = has('relay') ? startRelay(wiring) : undefined;
  const poke = (tenantId: string) => relay?.poke(tenantId);

  let consumer: UsageConsumer | undefined;
  if (has('consumer')) {
    if (!dependencies.pricer) throw new Error('the consumer role needs rate decks to price usage');
    consumer = await startConsumer(wiring, dependencies.pricer);
  }

  await startWorkerRoles(wiring, { has, gateway, poke });

  const { pricer, book } = dependencies;
  const api = has('api') && pricer ? { pricer, book } : undefined;
  const { http, port } = await serveHttp(wiring, { ...(api ? { api } : {}), gateway, cards, consumer });
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
      await wiring.producer.disconnect();
      await wiring.admin.disconnect();
      wiring.redis.disconnect();
      logger.info('rater stopped');
    },
  };
}

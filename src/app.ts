import Fastify from 'fastify';
import Redis from 'ioredis';
import { Admin, Kafka, logLevel } from 'kafkajs';
import pino, { Logger } from 'pino';
import { healthRoutes } from './api/health';
import type { Config } from './config';

/** The running service: adapters built from the configuration, wired together. */
export interface App {
  /** Base URL of the HTTP server once started. */
  url: string;
  stop(): Promise<void>;
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

export async function startApp(
  config: Config,
  logger: Logger = pino({ level: config.logLevel }),
): Promise<App> {
  const redis = new Redis(config.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
  const kafka = new Kafka({
    clientId: config.kafka.clientId,
    brokers: config.kafka.brokers,
    logLevel: logLevel.NOTHING,
  });
  const admin: Admin = kafka.admin();

  const http = Fastify({ loggerInstance: logger });
  healthRoutes(http, [
    { name: 'redis', check: async () => (await withTimeout(redis.ping(), 'redis')) === 'PONG' },
    { name: 'kafka', check: async () => (await withTimeout(admin.listTopics(), 'kafka'), true) },
  ]);

  await Promise.allSettled([redis.connect(), admin.connect()]);
  await http.listen({ host: config.http.host, port: config.http.port });
  const address = http.server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  logger.info({ port }, 'rater started');

  return {
    url: `http://${config.http.host}:${port}`,
    async stop() {
      await http.close();
      await admin.disconnect();
      redis.disconnect();
      logger.info('rater stopped');
    },
  };
}

import type { Cluster, Redis } from 'ioredis';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { countRequests, usageProducerConfig } from './kafka/consumer-settings';
import type { PipelineInstrumentation } from './shared/instrumentation';
import type { Logger } from 'pino';
import type { Config } from './config';
import { explainKafkaConnectError, explainRedisConnectError } from './config/connection-errors';
import { kafkaClient } from './kafka/kafka-client';
import { ensureTopics } from './kafka/topics';
import { type Ledger, openLedger } from './ledger/open-ledger';
import { connectRedis, firstConnection, seedConnectionError } from './ledger/redis-connection';
import { redisErrorLog } from './observability/logs';

/**
 * Redis and the ledger over it. A password or a certificate that Redis or the client refuses
 * stops the start, naming the setting; a Redis that is down does not (the ledger waits for it,
 * as in an outage).
 */
export async function connectLedger(
  config: Config,
  logger: Logger,
): Promise<{ redis: Redis | Cluster; ledger: Ledger }> {
  const redis = connectRedis(config.redis);
  redis.on('error', redisErrorLog(logger, config.redis.url));
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
  return { redis, ledger };
}

/**
 * Kafka: the admin client (connected, or the start stops naming the setting), the topics when
 * KAFKA_CREATE_TOPICS asks for them, and the idempotent producer every role shares.
 */
export async function connectKafka(
  config: Config,
  logger: Logger,
  redis: Redis | Cluster,
  instrumentation: PipelineInstrumentation,
): Promise<{ kafka: Kafka; admin: Admin; producer: Producer }> {
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
  if (config.kafka.createTopics) {
    const created = await ensureTopics(
      admin,
      Object.values(config.kafka.topics),
      config.kafka.topicPartitions,
    );
    if (created.length > 0) logger.info({ topics: created }, 'created topics');
  }
  const producer = kafka.producer(usageProducerConfig());
  countRequests(producer, 'producer', (request) => instrumentation.emit('kafkaRequest', request));
  await producer.connect();
  return { kafka, admin, producer };
}

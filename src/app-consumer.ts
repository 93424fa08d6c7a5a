import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Config } from './config';
import { UsageConsumer } from './kafka/usage-consumer';
import type { UsagePricer } from './settlement/ports';
import type { Wiring } from './app-wiring';

/** A registry request without an answer in this long fails (and the batch waits, retrying). */
const REGISTRY_TIMEOUT_MS = 5_000;
type RegistryMiddleware = NonNullable<ConstructorParameters<typeof SchemaRegistry>[0]['middlewares']>[number];
const registryTimeout: RegistryMiddleware = () => ({
  prepareRequest: (next) => next().then((request) => request.enhance({ timeout: REGISTRY_TIMEOUT_MS })),
});

/** The schema registry the CDRs' Avro schemas come from, when SCHEMA_REGISTRY_URL names one. */
function schemaRegistry(config: Config): SchemaRegistry | undefined {
  return config.schemaRegistry.url
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
    : undefined;
}

/**
 * The consumer role: CDRs in, settled against the ledger, rated records and dead letters out.
 * Started here; stopped first on the way down (it finishes and commits its batch).
 */
export async function startConsumer(wiring: Wiring, pricer: UsagePricer): Promise<UsageConsumer> {
  const { config, kafka, producer, ledger, instrumentation } = wiring;
  const consumer = new UsageConsumer({
    kafka,
    producer,
    ledger: ledger.writes,
    pricer,
    registry: schemaRegistry(config),
    groupId: config.kafka.groupId,
    sessionTimeoutMs: config.kafka.sessionTimeoutMs,
    stuckPartitionMs: config.kafka.stuckPartitionSeconds * 1000,
    topics: config.kafka.topics,
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
  wiring.stops.unshift(() => consumer.stop());
  return consumer;
}

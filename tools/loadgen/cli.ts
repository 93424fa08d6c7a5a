import { Command } from 'commander';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { loadConfig } from '../../src/config';
import { ensureTopics } from '../../src/kafka/topics';
import { openLedger } from '../../src/ledger/open-ledger';
import { connectRedis } from '../../src/ledger/redis-connection';
import { loadRateBook } from '../../src/rating';
import { cdrStream, DEFAULT_STREAM, tenantProfiles } from './cdr-stream';
import { provisionTenants } from './tenants';
import { writeStream } from './writer';

const whole = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a whole number, got ${v}`);
  return n;
};

/** `rater loadgen`: a seeded stream of realistic CDRs to the usage topic of the configuration. */
export function loadgenCommand(): Command {
  return new Command('loadgen')
    .description('write a reproducible stream of realistic CDRs to the usage topic (docs/development.md)')
    .option('--count <n>', 'records to write', whole, 100_000)
    .option('--rate <n>', 'records a second (0: as fast as the broker takes them)', whole, 0)
    .option('--seed <n>', 'seed of the stream', whole, DEFAULT_STREAM.seed)
    .option('--tenants <n>', 'tenants, drawn by Zipf', whole, DEFAULT_STREAM.tenants)
    .option('--id-prefix <text>', 'prefix of the usage ids', DEFAULT_STREAM.idPrefix)
    .option(
      '--provision <amount>',
      "first open the tenants' accounts, prepaid ones with this many minor units",
    )
    .action(
      async (o: {
        count: number;
        rate: number;
        seed: number;
        tenants: number;
        idPrefix: string;
        provision?: string;
      }) => {
        const config = loadConfig();
        if (o.provision !== undefined) {
          if (!/^\d+$/.test(o.provision))
            throw new Error(`--provision takes minor units, got ${o.provision}`);
          const redis = connectRedis(config.redis, { maxRetriesPerRequest: 20 });
          const ledger = openLedger(redis, { prefix: config.redis.keyPrefix });
          await provisionTenants(
            ledger,
            loadRateBook(config.rates.dir),
            tenantProfiles(o),
            BigInt(o.provision),
          );
          redis.disconnect();
        }
        const kafka = new Kafka({
          clientId: 'rater-loadgen',
          brokers: config.kafka.brokers,
          logLevel: logLevel.WARN,
        });
        const admin = kafka.admin();
        await admin.connect();
        await ensureTopics(admin, [config.kafka.topics.usageIn], config.kafka.topicPartitions);
        await admin.disconnect();
        // Not idempotent: kafkajs's idempotent producer does not take several sends in flight,
        // and a retried send's repeats are no different from the stream's own.
        const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
        await producer.connect();
        const stream = cdrStream(o.count, { seed: o.seed, tenants: o.tenants, idPrefix: o.idPrefix });
        const result = await writeStream(stream, {
          producer,
          topic: config.kafka.topics.usageIn,
          rate: o.rate,
        });
        await producer.disconnect();
        const perSecond = Math.round(result.sent / result.seconds);
        console.log(JSON.stringify({ topic: config.kafka.topics.usageIn, ...result, perSecond }));
      },
    );
}

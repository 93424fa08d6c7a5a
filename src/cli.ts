#!/usr/bin/env node
import { Command } from 'commander';
import { tenantCommand } from './api/tenant-cli';
import { replayDeadLetters } from './kafka/dead-letter-replay';
import { startApp } from './app';
import { connectRedis } from './ledger/redis-connection';
import { kafkaClient } from './kafka/kafka-client';
import { loadConfig } from './config';
import { openLedger } from './ledger/open-ledger';
import { reindexTenants } from './ledger/reindex';
import { RatingPricer } from './settlement/rating-pricer';
import { loadRateBook } from './rating';
import { ratesCommand } from './rating/cli';

/** `rater`: the one command line of the service and its tools. */
const program = new Command('rater').description(
  'usage-rating stream processor for prepaid communications credits',
);

program
  .command('serve')
  .description('run the service with the configuration from the environment (see README)')
  .action(async () => {
    const config = loadConfig();
    const book = loadRateBook(config.rates.dir);
    const app = await startApp(config, { pricer: new RatingPricer(book), book });
    const shutdown = () => {
      app.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
  });

program.addCommand(ratesCommand());
program.addCommand(tenantCommand());

program
  .command('dlq')
  .description('the dead-letter topic')
  .command('replay')
  .description('send dead letters back to the usage topic once their cause is fixed')
  .option('--reason <code>', 'only records rejected for this reason (x-error-code)')
  .option('--max <n>', 'at most this many records', (v) => Number(v))
  .option('--dry-run', 'count what would be replayed, send nothing')
  .action(async (o: { reason?: string; max?: number; dryRun?: boolean }) => {
    const config = loadConfig();
    const kafka = kafkaClient(config.kafka, { clientId: `${config.kafka.clientId}-replay` });
    const result = await replayDeadLetters({
      kafka,
      deadLetterTopic: config.kafka.topics.deadLetter,
      usageTopic: config.kafka.topics.usageIn,
      groupId: `${config.kafka.groupId}-dlq-replay`,
      ...o,
    });
    console.log(JSON.stringify(result, null, 2));
  });

program
  .command('ledger')
  .description('the Redis ledger')
  .command('reindex')
  .description(
    "recompute every tenant's index entries and gauges (after an upgrade, or a move between standalone Redis and a Cluster)",
  )
  .option('--layout <layout>', 'standalone or cluster (default: from REDIS_CLUSTER)')
  .action(async (o: { layout?: 'standalone' | 'cluster' }) => {
    if (o.layout && o.layout !== 'standalone' && o.layout !== 'cluster')
      throw new Error(`--layout ${String(o.layout)}: standalone or cluster`);
    const config = loadConfig();
    const redis = connectRedis(config.redis);
    try {
      const ledger = openLedger(redis, {
        prefix: config.redis.keyPrefix,
        ...(o.layout ? { indexLayout: o.layout } : {}),
      });
      const report = await reindexTenants(ledger, {
        onPage: (progress) => console.error(`reindexed ${progress.tenants} tenants`),
      });
      console.log(JSON.stringify(report, null, 2));
    } finally {
      redis.disconnect();
    }
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

#!/usr/bin/env node
import { Command } from 'commander';
import { logLevel, Partitioners } from 'kafkajs';
import { formatMinor } from './rating';
import { KafkaRatedRecordSink } from './kafka/rated-record-sink';
import type { RerateReport } from './settlement/rerate-period';
import { tenantCommand } from './api/tenant-cli';
import { keysCommand, tokenCommand } from './api/keys-cli';
import { cdrCommand } from './kafka/cdr-cli';
import { replayDeadLetters } from './kafka/dead-letter-replay';
import { periodRerate, startApp } from './app';
import { paymentGateway } from './app-payments';
import { paymentsCommand } from './payment-roles';
import { connectRedis } from './ledger/redis-connection';
import { kafkaClient } from './kafka/kafka-client';
import { loadConfig } from './config';
import { settingsHelp } from './config/settings-help';
import { openLedger } from './ledger/open-ledger';
import { reindexTenants } from './ledger/reindex';
import { RatingPricer } from './settlement/rating-pricer';
import { loadRateBook, RateBook, RateBookError } from './rating';
import { ratesCommand } from './rating/cli';

/** `rater`: the one command line of the service and its tools. */
/**
 * The configuration of the one-off commands (dead-letter replay, reindex, re-rating): they
 * serve no role, and need what the consumer needs (Kafka, Redis, the rates), so the settings
 * of the other roles (a payment gateway, SMTP) are not asked for.
 */
const commandConfig = () => loadConfig({ ...process.env, RATER_ROLES: 'consumer' });

/**
 * The rate decks of RATES_DIR, or an error that names the setting: a folder that is missing, or
 * files that do not load (each problem with its file and line).
 */
function ratesOf(dir: string): RateBook {
  try {
    return loadRateBook(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new Error(
        `RATES_DIR: ${dir} is not a folder (it holds decks.yaml, plans.yaml, countries.csv and the deck files; the image ships /app/rates)`,
        { cause: error },
      );
    if (error instanceof RateBookError)
      throw new Error(
        `RATES_DIR: the rate files in ${dir} do not load:\n${error.errors.map((e) => `  ${e.file}:${e.line}: ${e.message}`).join('\n')}`,
        { cause: error },
      );
    throw error;
  }
}

const program = new Command('rater').description(
  'usage-rating stream processor for prepaid communications credits',
);

program
  .command('serve')
  .description(
    'run the service with the configuration from the environment (docs/operating.md, the configuration table)',
  )
  .addHelpText('after', () => `\n${settingsHelp()}`)
  .action(async () => {
    const config = loadConfig();
    const book = ratesOf(config.rates.dir);
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
program.addCommand(keysCommand());
program.addCommand(tokenCommand());
program.addCommand(cdrCommand(commandConfig));

program
  .command('dlq')
  .description('the dead-letter topic')
  .command('replay')
  .description('send dead letters back to the usage topic once their cause is fixed')
  .option('--reason <code>', 'only records rejected for this reason (x-error-code)')
  .option('--max <n>', 'at most this many records', (v) => Number(v))
  .option('--dry-run', 'count what would be replayed, send nothing')
  .action(async (o: { reason?: string; max?: number; dryRun?: boolean }) => {
    const config = commandConfig();
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
    const config = commandConfig();
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

/** An ISO 8601 time with its offset, as a Date; anything else is refused. */
function isoTime(value: string): Date {
  const at = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:\d{2})$/.test(value) || Number.isNaN(at.getTime()))
    throw new Error(`not an ISO 8601 time with an offset: ${value}`);
  return at;
}

/** The report as a table, one line per tenant, money as decimals in the tenant's currency. */
function rerateTable(report: RerateReport): string {
  const rows = [['tenant', 'calls', 'old total', 'new total', 'difference', 'currency']];
  for (const t of report.tenants)
    rows.push([
      t.tenantId,
      String(t.calls),
      formatMinor(t.before, t.currency),
      formatMinor(t.after, t.currency),
      formatMinor(t.after - t.before, t.currency),
      t.currency,
    ]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '),
  );
  const skipped = report.tenants.flatMap((t) => [
    ...t.unpriced.map((u) => `  ${t.tenantId} ${u.usageId}: not priced again (${u.reason})`),
    ...t.refused.map((u) => `  ${t.tenantId} ${u.usageId}: refused by the ledger (${u.reason})`),
  ]);
  return [
    `revision ${report.revision}, calls that started in [${report.from.toISOString()}, ${report.to.toISOString()})` +
      (report.dryRun ? ' (dry run: nothing changed)' : ''),
    ...lines,
    ...(skipped.length > 0 ? ['left as they are:', ...skipped] : []),
    ...(report.complete ? [] : ['stopped part way: run the same command again to go on']),
  ].join('\n');
}

program.addCommand(
  paymentsCommand(() => {
    // The reconciler's settings: Redis, the gateway and the grace period.
    const config = loadConfig({ ...process.env, RATER_ROLES: 'reconciler' });
    const gateway = paymentGateway(config);
    if (!gateway) throw new Error('PAYMENT_GATEWAY: the payments commands need a gateway');
    const redis = connectRedis(config.redis);
    const ledger = openLedger(redis, { prefix: config.redis.keyPrefix });
    return { ledger, gateway, config, close: () => redis.disconnect() };
  }, isoTime),
);

program
  .command('rerate')
  .description(
    'price the usage of a past period again with the decks now in force: refund or charge the difference, once per revision',
  )
  .requiredOption('--from <iso>', 'calls that started from then (inclusive)', isoTime)
  .requiredOption('--to <iso>', 'until then (exclusive)', isoTime)
  .option('--tenant <id>', "one tenant's usage only")
  .option('--dry-run', 'report per tenant what would change, change nothing')
  .action(async (o: { from: Date; to: Date; tenant?: string; dryRun?: boolean }) => {
    const config = commandConfig();
    const book = ratesOf(config.rates.dir);
    const redis = connectRedis(config.redis);
    const kafka = kafkaClient(config.kafka, {
      clientId: `${config.kafka.clientId}-rerate`,
      logLevel: logLevel.WARN,
    });
    const producer = o.dryRun
      ? undefined
      : kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
    // Ctrl-C stops after the usage in hand: the checkpoint says where the next run goes on.
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    process.once('SIGTERM', () => stop.abort());
    const tty = process.stderr.isTTY === true;
    let line = '';
    const progress = {
      tenant: (tenantId: string) => {
        if (!tty) console.error(`re-rating ${tenantId}`);
      },
      usage: (tenantId: string, examined: number, calls: number) => {
        if (tty) {
          const bar = '#'.repeat(Math.min(30, Math.floor(Math.log2(examined + 1) * 2))).padEnd(30, '.');
          line = `\r${tenantId} [${bar}] ${examined} usages, ${calls} re-rated`;
          process.stderr.write(line);
        } else if (examined % 1000 === 0) console.error(`${tenantId}: ${examined} usages, ${calls} re-rated`);
      },
      tenantDone: (t: { tenantId: string; examined: number; calls: number }) => {
        if (tty && line) process.stderr.write('\n');
        line = '';
        if (!tty) console.error(`${t.tenantId}: done, ${t.examined} usages, ${t.calls} re-rated`);
      },
    };
    try {
      await producer?.connect();
      const ledger = openLedger(redis, {
        prefix: config.redis.keyPrefix,
        idempotencyRetentionMs: config.ledger.idempotencyRetentionDays * 24 * 3600 * 1000,
      });
      const rerate = periodRerate(
        ledger,
        new RatingPricer(book),
        book,
        producer ? new KafkaRatedRecordSink(producer, config.kafka.topics.ratedOut) : undefined,
        { signal: stop.signal, progress },
      );
      const report = await rerate.run({
        from: o.from,
        to: o.to,
        ...(o.tenant ? { tenantId: o.tenant } : {}),
        dryRun: o.dryRun === true,
      });
      if (tty && line) process.stderr.write('\n');
      console.log(rerateTable(report));
      if (!report.complete) process.exitCode = 2;
    } finally {
      await producer?.disconnect();
      redis.disconnect();
    }
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

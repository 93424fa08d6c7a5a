import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners, Producer } from 'kafkajs';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { ensureTopics } from '../../src/kafka/topics';
import { openLedger, type Ledger } from '../../src/ledger/open-ledger';
import type { MinorUnits } from '../../src/credits/wallet';
import { cdrStream, tenantProfiles, type CdrStreamOptions, type TenantProfile } from '../loadgen/cdr-stream';
import { provisionTenants } from '../loadgen/tenants';
import { writeStream } from '../loadgen/writer';
import { loadRateBook } from '../../src/rating';
import { stackEnv, stackRedis } from '../stack/stack';
import { projectRoot } from '../stack/toolchain';
import type { ChaosOptions, ChaosReport } from './chaos-types';
import { ChaosDriver, sleep, type FaultSchedule } from './driver';
import { stopRater } from './rater-process';
import { reconcile, type Reconciliation } from './reconcile';

export type { ChaosOptions, ChaosReport } from './chaos-types';

/**
 * The shipped decks charge about 12 minor units per generated record (without pools), so a
 * purchase of that times the average tenant's records makes the Zipf head (roughly a tenth
 * of the prepaid tenants) run out and go below zero, and leaves the others in credit.
 */
export function defaultFunds(count: number, tenants: number): MinorUnits {
  return BigInt(Math.max(1_000, Math.round((count * 12) / tenants)));
}

/** The topics, Redis key prefix and usage id prefix of a run: its own, so runs never meet. */
export function chaosNames(runId: string) {
  return {
    topics: {
      usageIn: `${runId}.usage.cdr`,
      ratedOut: `${runId}.usage.rated`,
      eventsOut: `${runId}.credits.events`,
      deadLetter: `${runId}.usage.cdr.dlq`,
    },
    keyPrefix: `${runId}:`,
    idPrefix: `${runId}-`,
  };
}

/** Sends until the broker takes it: the broker is restarted under the writer. */
function persistentProducer(producer: Producer, log: (line: string) => void): Producer {
  return {
    ...producer,
    send: async (record) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await producer.send(record);
        } catch (error) {
          if (attempt >= 60) throw error;
          log(`produce failed (${error instanceof Error ? error.message : String(error)}), retrying`);
          await sleep(1_000);
        }
      }
    },
  };
}

/** The rater's settings: the stack's, with the run's own topics, group and Redis namespace. */
function raterEnv(options: ChaosOptions, runId: string, redisCluster: boolean): Record<string, string> {
  const { topics, keyPrefix } = chaosNames(runId);
  return {
    ...stackEnv(options.stack, { redisCluster }),
    HTTP_PORT: '0',
    // No recharge (and no sweeper): balances move by usage only.
    RATER_ROLES: 'consumer,relay',
    KAFKA_CLIENT_ID: runId,
    KAFKA_GROUP_ID: runId,
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    KAFKA_TOPIC_PARTITIONS: String(options.partitions),
    TOPIC_USAGE_IN: topics.usageIn,
    TOPIC_RATED_OUT: topics.ratedOut,
    TOPIC_EVENTS_OUT: topics.eventsOut,
    TOPIC_DEAD_LETTER: topics.deadLetter,
    REDIS_KEY_PREFIX: keyPrefix,
    OUTBOX_SWEEP_INTERVAL_MS: '500',
    LOG_LEVEL: 'info',
  };
}

/** Seeded moments: kills spread over the consumption, Redis and the broker once each. */
function faultSchedule(options: ChaosOptions): FaultSchedule {
  const rng = xoroshiro128plus(options.seed ^ 0xc4a05);
  const random = () => uniformFloat64(rng);
  const killAt = Array.from({ length: options.kills }, () =>
    Math.floor((0.03 + 0.94 * random()) * options.count),
  ).sort((a, b) => a - b);
  const redisAt = Math.floor((0.3 + 0.1 * random()) * options.count);
  const kafkaAt = Math.floor((0.6 + 0.1 * random()) * options.count);
  const freezeSeconds = options.redisFreezeSeconds ?? 0;
  const freezeAt = freezeSeconds > 0 ? Math.floor((0.45 + 0.1 * random()) * options.count) : Infinity;
  return { random, killAt, redisAt, kafkaAt, freezeSeconds, freezeAt };
}

/** Everything consumed; now every event out of the outboxes (two minutes at most). */
async function drainOutboxes(ledger: Ledger, profiles: TenantProfile[]): Promise<void> {
  const outboxDeadline = Date.now() + 120_000;
  for (;;) {
    let backlog = 0;
    for (const profile of profiles) backlog += await ledger.outbox.outboxLength(profile.tenantId);
    if (backlog === 0) break;
    if (Date.now() > outboxDeadline) throw new Error(`${backlog} events still in the outboxes`);
    await sleep(500);
  }
}

/** Writes the stream at the run's rate, through a producer that outlasts broker restarts. */
function produceStream(
  options: ChaosOptions,
  producer: Producer,
  topic: string,
  stream: Partial<CdrStreamOptions>,
  log: (line: string) => void,
) {
  let produced = false;
  let writeError: unknown;
  const producing = writeStream(cdrStream(options.count, stream), {
    producer: persistentProducer(producer, log),
    topic,
    rate: options.rate,
    signal: options.signal,
  }).then((result) => {
    produced = true;
    return result;
  });
  producing.catch((error: unknown) => (writeError = error));
  return { producing, produced: () => produced, writeError: () => writeError };
}

/** What the run did: its names, plan, faults, unplanned restarts and timings. */
function chaosFacts(
  options: ChaosOptions,
  run: {
    runId: string;
    funds: MinorUnits;
    lowBalanceThreshold: MinorUnits;
    schedule: FaultSchedule;
    driver: ChaosDriver;
    started: number;
    produceSeconds: number;
  },
): Omit<ChaosReport, keyof Reconciliation> {
  const { runId, funds, lowBalanceThreshold, schedule, driver, started, produceSeconds } = run;
  const redisCluster = options.redisCluster === true;
  return {
    runId,
    seed: options.seed,
    tenantCount: options.tenants,
    rate: options.rate,
    funds: funds.toString(),
    lowBalanceThreshold: lowBalanceThreshold.toString(),
    killsPlanned: schedule.killAt.length,
    kills: driver.kills,
    restarts: driver.restarts,
    faults: {
      redis: redisCluster ? 'failover' : options.redisKill ? 'kill' : 'restart',
      kafka: options.brokerKill ? 'kill' : 'restart',
      redisFreezeSeconds: schedule.freezeSeconds,
      freezes: driver.freezes,
    },
    ...(driver.failover ? { failover: driver.failover } : {}),
    unplanned: driver.unplanned,
    durationSeconds: Math.round((Date.now() - started) / 100) / 10,
    produceSeconds: Math.round(produceSeconds * 10) / 10,
  };
}

/**
 * A crash-and-replay run: provisions the stream's tenants, writes the stream at a steady
 * rate, SIGKILLs the rater at seeded moments spread over its progress and restarts it each
 * time, restarts (or SIGKILLs) Redis once and the broker once, optionally hangs Redis once
 * (SIGSTOP) for a while, waits until every offset is committed and
 * every event relayed, then reconciles.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const runId = `chaos-${options.seed}-${randomUUID().slice(0, 6)}`;
  const { topics, keyPrefix, idPrefix } = chaosNames(runId);
  const redisCluster = options.redisCluster === true;
  if (redisCluster && !options.stack.redisCluster?.dir)
    throw new Error('--redis-cluster needs a stack started with its cluster');
  if (redisCluster && (options.redisFreezeSeconds ?? 0) > 0) {
    // A master frozen past the node timeout is failed over; thawed, it runs the commands
    // queued on its sockets before it learns it was demoted, and those writes are lost when
    // it resyncs: Redis Cluster's documented write-loss window, not something to audit.
    throw new Error('--redis-freeze is for a single Redis: on a cluster a frozen master is failed over');
  }
  const env = raterEnv(options, runId, redisCluster);
  const funds = options.funds ?? defaultFunds(options.count, options.tenants);
  const lowBalanceThreshold = funds / 4n;
  const stream = { seed: options.seed, tenants: options.tenants, idPrefix };
  const profiles = tenantProfiles(stream);
  const schedule = faultSchedule(options);

  const redis = stackRedis(options.stack, { redisCluster, maxRetriesPerRequest: 20 });
  redis.on('error', () => undefined);
  const ledger = openLedger(redis, { prefix: keyPrefix });
  const kafka = new Kafka({
    clientId: `${runId}-driver`,
    brokers: options.stack.kafka.brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 8 },
  });
  const admin = kafka.admin();
  // Not idempotent: kafkajs's idempotent producer, with several requests in flight, is left
  // with out-of-order sequence numbers for good after a broker restart. A resend may repeat
  // input records; the rater charges a usage id once however often it arrives.
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const driver = new ChaosDriver({
    options,
    runId,
    env,
    admin,
    usageTopic: topics.usageIn,
    schedule,
    started,
    log,
  });

  try {
    await provisionTenants(ledger, loadRateBook(join(projectRoot, 'rates')), profiles, funds, new Date(), {
      lowBalanceThreshold,
    });
    await admin.connect();
    await ensureTopics(admin, Object.values(topics), options.partitions);
    await producer.connect();
    await driver.launch();
    log(
      `run ${runId}: ${options.count} CDRs at ${options.rate}/s, ${options.kills} kills, logs in ${options.logDir}`,
    );
    const writing = produceStream(options, producer, topics.usageIn, stream, log);
    await driver.drive(writing);
    const produceSeconds = (await writing.producing).seconds;

    // Then a graceful stop.
    await drainOutboxes(ledger, profiles);
    if (driver.rater) await stopRater(driver.rater, 'SIGTERM');
    log(`caught up after ${Math.round((Date.now() - started) / 1000)} s; reconciling`);

    const reconciliation = await reconcile({
      kafka,
      ledger,
      topics,
      stream: { count: options.count, options: stream },
      tenants: profiles,
      funds,
      lowBalanceThreshold,
    });
    return {
      ...chaosFacts(options, {
        runId,
        funds,
        lowBalanceThreshold,
        schedule,
        driver,
        started,
        produceSeconds,
      }),
      ...reconciliation,
    };
  } finally {
    if (driver.rater) await stopRater(driver.rater, 'SIGKILL');
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    redis.disconnect();
  }
}

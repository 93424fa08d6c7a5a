import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners, Producer } from 'kafkajs';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { ensureTopics } from '../../src/kafka/topics';
import { openLedger } from '../../src/ledger/open-ledger';
import { MinorUnits } from '../../src/credits/wallet';
import { cdrStream, tenantProfiles } from '../loadgen/cdr-stream';
import { provisionTenants } from '../loadgen/tenants';
import { writeStream } from '../loadgen/writer';
import { loadRateBook } from '../../src/rating';
import { killMaster, startClusterNode, waitForFailover } from '../stack/redis-cluster';
import { clusterSeedPort, pauseService, restart, StackInfo, stackEnv, stackRedis } from '../stack/stack';
import { projectRoot } from '../stack/toolchain';
import { isAlive, RaterProcess, startRater, stopRater } from './rater-process';
import { reconcile, Reconciliation } from './reconcile';
import { groupProgress } from './topics';

export interface ChaosOptions {
  /** A running local stack; Redis and Kafka of it are restarted during the run. */
  stack: StackInfo;
  /** CDRs to generate and send. */
  count: number;
  /** SIGKILLs of the rater, each followed by a restart. */
  kills: number;
  seed: number;
  tenants: number;
  /** Records a second offered to the usage topic, so kills land while records are in flight. */
  rate: number;
  partitions: number;
  /** Each prepaid tenant's one purchase (minor units); default: see `defaultFunds`. */
  funds?: MinorUnits;
  /** Where the raters' logs go. */
  logDir: string;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Restart a rater that made no progress for this long while records wait (ms). */
  stallMs?: number;
  /** The one Redis restart is a SIGKILL (a crash; the stack's Redis fsyncs every write, docs/operating.md). */
  redisKill?: boolean;
  /**
   * The ledger on the stack's Redis Cluster: the rater gets REDIS_CLUSTER=true and a node, and
   * the one Redis fault is a master SIGKILLed (its replica takes over), started again a few
   * seconds later (it rejoins as a replica).
   */
  redisCluster?: boolean;
  /** The one broker restart is a SIGKILL. */
  brokerKill?: boolean;
  /** Also SIGSTOP Redis once, for this many seconds, in the middle of the run. */
  redisFreezeSeconds?: number;
  /** Stops the run (the rater is killed; the caller stops the stack). */
  signal?: AbortSignal;
}

export interface ChaosReport extends Reconciliation {
  /** Names the run's topics, consumer group, Redis namespace and usage ids (`chaosNames`). */
  runId: string;
  seed: number;
  tenantCount: number;
  rate: number;
  funds: string;
  lowBalanceThreshold: string;
  killsPlanned: number;
  kills: number;
  restarts: { redis: number; kafka: number };
  /**
   * How Redis and the broker were restarted (`restart` or `kill`; `failover`: a cluster
   * master SIGKILLed), and Redis's hang, if any.
   */
  faults: {
    redis: 'restart' | 'kill' | 'failover';
    kafka: 'restart' | 'kill';
    redisFreezeSeconds: number;
    freezes: number;
  };
  /** The cluster master killed, the replica promoted, and how long each step took. */
  failover?: { killed: string; promoted: string; promotedMs: number; rejoinedMs: number };
  /** Rater restarts nobody asked for: exits of their own, or a rater that stopped making progress. */
  unplanned: { exits: number; stalls: number };
  durationSeconds: number;
  produceSeconds: number;
}

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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
  const clusterDir = options.stack.redisCluster?.dir;
  if (redisCluster && !clusterDir) throw new Error('--redis-cluster needs a stack started with its cluster');
  if (redisCluster && (options.redisFreezeSeconds ?? 0) > 0) {
    // A master frozen past the node timeout is failed over; thawed, it runs the commands
    // queued on its sockets before it learns it was demoted, and those writes are lost when
    // it resyncs: Redis Cluster's documented write-loss window, not something to audit.
    throw new Error('--redis-freeze is for a single Redis: on a cluster a frozen master is failed over');
  }
  const env: Record<string, string> = {
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
  const funds = options.funds ?? defaultFunds(options.count, options.tenants);
  const lowBalanceThreshold = funds / 4n;
  const stream = { seed: options.seed, tenants: options.tenants, idPrefix };
  const profiles = tenantProfiles(stream);

  // Seeded moments: kills spread over the consumption, Redis and the broker once each.
  const rng = xoroshiro128plus(options.seed ^ 0xc4a05);
  const random = () => uniformFloat64(rng);
  const killAt = Array.from({ length: options.kills }, () =>
    Math.floor((0.03 + 0.94 * random()) * options.count),
  ).sort((a, b) => a - b);
  const redisAt = Math.floor((0.3 + 0.1 * random()) * options.count);
  const kafkaAt = Math.floor((0.6 + 0.1 * random()) * options.count);
  const freezeSeconds = options.redisFreezeSeconds ?? 0;
  const freezeAt = freezeSeconds > 0 ? Math.floor((0.45 + 0.1 * random()) * options.count) : Infinity;
  let freezes = 0;

  const redis = stackRedis(options.stack, { redisCluster, maxRetriesPerRequest: 20 });
  redis.on('error', () => undefined);
  const ledger = openLedger(redis, { prefix: env.REDIS_KEY_PREFIX });
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
  let rater: RaterProcess | undefined;
  let generation = 0;
  const unplanned = { exits: 0, stalls: 0 };
  const restarts = { redis: 0, kafka: 0 };
  let kills = 0;
  let failover: ChaosReport['failover'];
  let killedMaster: { name: string; at: number } | undefined;

  const launch = async () => {
    for (let attempt = 1; ; attempt++) {
      generation += 1;
      rater = startRater({ env, name: `${runId}-${generation}`, logDir: options.logDir });
      try {
        await rater.ready;
        return;
      } catch (error) {
        if (attempt >= 5) throw error;
        log(
          `rater ${generation} did not start (${error instanceof Error ? error.message : String(error)}), again`,
        );
      }
    }
  };

  try {
    await provisionTenants(ledger, loadRateBook(join(projectRoot, 'rates')), profiles, funds, new Date(), {
      lowBalanceThreshold,
    });
    await admin.connect();
    await ensureTopics(admin, Object.values(topics), options.partitions);
    await producer.connect();
    await launch();
    log(
      `run ${runId}: ${options.count} CDRs at ${options.rate}/s, ${options.kills} kills, logs in ${options.logDir}`,
    );

    let produced = false;
    const producing = writeStream(cdrStream(options.count, stream), {
      producer: persistentProducer(producer, log),
      topic: topics.usageIn,
      rate: options.rate,
      signal: options.signal,
    }).then((result) => {
      produced = true;
      return result;
    });
    let writeError: unknown;
    producing.catch((error: unknown) => (writeError = error));

    let committed = 0;
    let end = 0;
    let committedAtStart = 0;
    let lastProgressAt = Date.now();
    let lastLogAt = 0;
    // A frozen Redis stops all progress for its freeze: that is waited out, not a stall.
    const stallMs = options.stallMs ?? Math.max(90_000, (freezeSeconds + 60) * 1000);
    const restartRater = async (signal: NodeJS.Signals) => {
      if (rater) await stopRater(rater, signal);
      committedAtStart = committed;
      await launch();
      lastProgressAt = Date.now();
    };

    for (;;) {
      options.signal?.throwIfAborted();
      if (writeError) throw writeError;
      try {
        const progress = await groupProgress(admin, runId, topics.usageIn);
        if (progress.committed > committed) lastProgressAt = Date.now();
        committed = progress.committed;
        end = progress.end;
      } catch {
        // The broker is restarting: the next round asks again.
      }
      if (Date.now() - lastLogAt > 5_000) {
        lastLogAt = Date.now();
        log(
          `committed ${committed} of ${end} written, ${kills} kills, ${Math.round((Date.now() - started) / 1000)} s`,
        );
      }
      const done =
        produced &&
        committed === end &&
        end >= options.count &&
        kills === killAt.length &&
        restarts.redis === 1 &&
        restarts.kafka === 1 &&
        freezes === (freezeSeconds > 0 ? 1 : 0);
      if (done) break;

      if (rater && !isAlive(rater)) {
        unplanned.exits += 1;
        log(`rater ${generation} exited by itself; restarting it`);
        await restartRater('SIGKILL');
      } else if (
        kills < killAt.length &&
        committed >= killAt[kills]! &&
        // Each kill hits a rater that has done some work, unless there is none left to do.
        (committed > committedAtStart || (produced && committed === end))
      ) {
        // A moment later, so the kill lands in the middle of whatever the rater is doing.
        await sleep(Math.floor(random() * 300));
        kills += 1;
        await restartRater('SIGKILL');
      } else if (redisCluster && killedMaster && Date.now() - killedMaster.at >= 5_000) {
        // The run went on on the promoted replica; now the killed node comes back.
        const started = Date.now();
        await startClusterNode(clusterDir!, killedMaster.name);
        failover!.rejoinedMs = Date.now() - started;
        log(
          `${killedMaster.name} started again: a replica now, the cluster healthy after ${failover!.rejoinedMs} ms`,
        );
        killedMaster = undefined;
        restarts.redis += 1;
      } else if (redisCluster && restarts.redis === 0 && !failover && committed >= redisAt) {
        const killed = await killMaster(clusterDir!, { except: [clusterSeedPort(options.stack)!] });
        log(`killed the Redis Cluster master ${killed.name} (SIGKILL); waiting for its replica`);
        const { promoted, waitedMs } = await waitForFailover(clusterDir!, killed);
        // Started again 5 s after the promotion: the run goes on on the promoted replica alone.
        killedMaster = { name: killed.name, at: Date.now() };
        failover = { killed: killed.name, promoted: promoted.name, promotedMs: waitedMs, rejoinedMs: 0 };
        log(`${promoted.name} promoted to master after ${waitedMs} ms`);
        lastProgressAt = Date.now();
      } else if (!redisCluster && restarts.redis === 0 && committed >= redisAt) {
        log(options.redisKill ? 'killing Redis (SIGKILL) and starting it again' : 'restarting Redis');
        await restart('redis', options.stack.dir, { kill: options.redisKill === true });
        restarts.redis += 1;
      } else if (restarts.kafka === 0 && committed >= kafkaAt) {
        log(
          options.brokerKill ? 'killing the broker (SIGKILL) and starting it again' : 'restarting the broker',
        );
        await restart('kafka', options.stack.dir, { kill: options.brokerKill === true });
        restarts.kafka += 1;
        lastProgressAt = Date.now();
      } else if (freezes === 0 && committed >= freezeAt) {
        log(`freezing Redis (SIGSTOP) for ${freezeSeconds} s`);
        pauseService('redis', true, options.stack.dir);
        try {
          await sleep(freezeSeconds * 1000);
        } finally {
          pauseService('redis', false, options.stack.dir);
        }
        log('Redis resumed (SIGCONT)');
        freezes += 1;
        lastProgressAt = Date.now();
      } else if (committed < end && Date.now() - lastProgressAt > stallMs) {
        unplanned.stalls += 1;
        log(
          `no progress for ${stallMs / 1000} s with ${end - committed} records waiting: restarting the rater`,
        );
        await restartRater('SIGKILL');
      }
      await sleep(200);
    }
    const produceSeconds = (await producing).seconds;

    // Everything consumed; now every event out of the outboxes, then a graceful stop.
    const outboxDeadline = Date.now() + 120_000;
    for (;;) {
      let backlog = 0;
      for (const profile of profiles) backlog += await ledger.outbox.outboxLength(profile.tenantId);
      if (backlog === 0) break;
      if (Date.now() > outboxDeadline) throw new Error(`${backlog} events still in the outboxes`);
      await sleep(500);
    }
    if (rater) await stopRater(rater, 'SIGTERM');
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
      runId,
      seed: options.seed,
      tenantCount: options.tenants,
      rate: options.rate,
      funds: funds.toString(),
      lowBalanceThreshold: lowBalanceThreshold.toString(),
      killsPlanned: killAt.length,
      kills,
      restarts,
      faults: {
        redis: redisCluster ? 'failover' : options.redisKill ? 'kill' : 'restart',
        kafka: options.brokerKill ? 'kill' : 'restart',
        redisFreezeSeconds: freezeSeconds,
        freezes,
      },
      ...(failover ? { failover } : {}),
      unplanned,
      durationSeconds: Math.round((Date.now() - started) / 100) / 10,
      produceSeconds: Math.round(produceSeconds * 10) / 10,
      ...reconciliation,
    };
  } finally {
    if (rater) await stopRater(rater, 'SIGKILL');
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    redis.disconnect();
  }
}

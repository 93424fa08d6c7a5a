import { join } from 'node:path';
import pino from 'pino';
import { App, startApp } from '../../../src/app';
import { loadConfig } from '../../../src/config';
import { openLedger } from '../../../src/ledger/open-ledger';
import { connectRedis } from '../../../src/ledger/redis-connection';
import { loadRateBook } from '../../../src/rating';
import { RatingPricer } from '../../../src/settlement/rating-pricer';
import { reconcile } from '../../../tools/chaos/reconcile';
import { chaosNames, defaultFunds } from '../../../tools/chaos/run';
import { caughtUp, groupProgress } from '../../../tools/chaos/topics';
import { cdrStream, tenantProfiles } from '../../../tools/loadgen/cdr-stream';
import { provisionTenants } from '../../../tools/loadgen/tenants';
import { writeStream } from '../../../tools/loadgen/writer';
import {
  clusterHealth,
  readCluster,
  startRedisCluster,
  stopRedisCluster,
} from '../../../tools/stack/redis-cluster';
import { killMaster, startClusterNode, waitForFailover } from '../../../tools/stack/redis-cluster-faults';
import { stackEnv } from '../../../tools/stack/stack';
import { projectRoot } from '../../../tools/stack/toolchain';
import { testKafka, testStack, uniqueName } from '../../support/stack';
import { eventually } from '../../support/wait';

jest.setTimeout(150_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The whole pipeline with its ledger on a Redis Cluster of 3 masters with a replica each:
 * the rater (startApp, the shipped decks) consumes a generated stream; a third of the way in,
 * a master is SIGKILLed; its replica is promoted; the stream goes on; the killed node comes
 * back as a replica. Then the chaos run's reconciliation, exact to the minor unit. The cluster
 * is this test's own (its kill must not meet the other tests' use of the shared one).
 */
describe('the pipeline through a Redis Cluster master failover', () => {
  const dir = join(projectRoot, '.stack', 'cluster-failover');
  const stream = { seed: 7, tenants: 40, idPrefix: '' };
  const count = 6_000;
  let app: App | undefined;

  beforeAll(async () => {
    await stopRedisCluster(dir);
    await startRedisCluster(dir);
  });
  afterAll(async () => {
    await app?.stop();
    await stopRedisCluster(dir);
  });

  it('rates every record once and charges nothing twice while a master fails over', async () => {
    const cluster = readCluster(dir)!;
    const seed = cluster.nodes[0]!;
    const runId = uniqueName('failover');
    const { topics, keyPrefix, idPrefix } = chaosNames(runId);
    const options = { ...stream, idPrefix };
    const profiles = tenantProfiles(options);
    const funds = defaultFunds(count, stream.tenants);
    const lowBalanceThreshold = funds / 4n;

    const redis = connectRedis(
      { url: `redis://${seed.host}:${seed.port}`, cluster: true },
      { maxRetriesPerRequest: 20 },
    );
    redis.on('error', () => undefined);
    const ledger = openLedger(redis, { prefix: keyPrefix });
    const kafka = testKafka();
    const admin = kafka.admin();
    const producer = kafka.producer();
    const retries: string[] = [];
    const deadLetters: string[] = [];
    try {
      await provisionTenants(ledger, loadRateBook(join(projectRoot, 'rates')), profiles, funds, new Date(), {
        lowBalanceThreshold,
      });
      app = await startApp(
        loadConfig({
          ...stackEnv(testStack()),
          // Configured as an operator would: one node of the cluster, and the switch.
          REDIS_URL: `redis://${seed.host}:${seed.port}`,
          REDIS_CLUSTER: 'true',
          REDIS_KEY_PREFIX: keyPrefix,
          HTTP_PORT: '0',
          RATER_ROLES: 'consumer,relay',
          PAYMENT_GATEWAY: 'none',
          KAFKA_CLIENT_ID: runId,
          KAFKA_GROUP_ID: runId,
          KAFKA_SESSION_TIMEOUT_MS: '6000',
          KAFKA_TOPIC_PARTITIONS: '3',
          TOPIC_USAGE_IN: topics.usageIn,
          TOPIC_RATED_OUT: topics.ratedOut,
          TOPIC_EVENTS_OUT: topics.eventsOut,
          TOPIC_DEAD_LETTER: topics.deadLetter,
          OUTBOX_SWEEP_INTERVAL_MS: '200',
        }),
        {
          pricer: new RatingPricer(loadRateBook(join(projectRoot, 'rates'))),
          logger: pino({ level: 'silent' }),
        },
      );
      app.instrumentation.on('retry', ({ stage }) => retries.push(stage));
      app.instrumentation.on('deadLetter', ({ reason }) => deadLetters.push(reason));
      await admin.connect();
      await producer.connect();

      const producing = writeStream(cdrStream(count, options), {
        producer,
        topic: topics.usageIn,
        rate: 300,
      });
      await eventually(
        async () =>
          expect((await groupProgress(admin, runId, topics.usageIn)).committed).toBeGreaterThan(count / 3),
        60_000,
        200,
      );
      const killed = await killMaster(dir, { except: [seed.port] });
      const killedAt = new Date();
      const { promoted, waitedMs } = await waitForFailover(dir, killed);
      const promotedAt = new Date();
      console.log(`killed ${killed.name}; ${promoted.name} promoted after ${waitedMs} ms`);
      // The stream goes on on the promoted master; then the killed node comes back.
      await sleep(2_000);
      await startClusterNode(dir, killed.name);
      await producing;

      await eventually(
        async () => expect(await caughtUp(admin, runId, topics.usageIn)).toBe(true),
        60_000,
        500,
      );
      await eventually(
        async () =>
          expect(
            (await Promise.all(profiles.map((p) => ledger.outbox.outboxLength(p.tenantId)))).every(
              (n) => n === 0,
            ),
          ).toBe(true),
        30_000,
        500,
      );
      await app.stop();
      app = undefined;

      const report = await reconcile({
        kafka,
        ledger,
        topics,
        stream: { count, options },
        tenants: profiles,
        funds,
        lowBalanceThreshold,
      });
      expect(report.problems).toEqual([]);
      expect({
        lost: report.lost,
        doubleCharged: report.doubleCharged,
        reconciled: report.reconciled,
      }).toEqual({
        lost: 0,
        doubleCharged: 0,
        reconciled: true,
      });
      expect(report.rated.distinctIds).toBe(report.validIds);
      // Only the stream's malformed records were set aside: none for the outage.
      expect(report.deadLetters).toMatchObject({ distinct: report.malformed, missing: 0, unexpected: 0 });
      expect(deadLetters.filter((reason) => reason === 'internal_error')).toEqual([]);
      // The killed master's tenants were charged before the kill and again after the
      // promotion, on the replica: the failover hit live traffic and was waited out (by
      // ioredis's own rounds, or by the consumer's retries when those ran out).
      const inRanges = (slot: number, ranges: string[]) =>
        ranges.some((range) => {
          const [from, to] = range.split('-').map(Number);
          return slot >= from! && slot <= (to ?? from!);
        });
      const appliedAt: Date[] = [];
      for (const profile of profiles) {
        const slot = Number(await redis.cluster('KEYSLOT', ledger.keys(profile.tenantId).account));
        if (!inRanges(slot, killed.slots ?? [])) continue;
        for await (const page of ledger.reads.appliedUsages(profile.tenantId))
          for (const { outcome } of page) appliedAt.push(outcome.appliedAt);
      }
      expect(appliedAt.some((at) => at < killedAt)).toBe(true);
      expect(appliedAt.some((at) => at > promotedAt)).toBe(true);
      console.log(
        `${report.validIds} usages rated once, ${retries.length} transient failures retried, ${report.deadLetters.distinct} malformed records dead-lettered`,
      );
      expect(await clusterHealth(readCluster(dir)!)).toBe(true);
      const roles = readCluster(dir)!.nodes;
      expect(roles.find((n) => n.name === killed.name)?.role).toBe('replica');
      expect(roles.find((n) => n.name === promoted.name)?.role).toBe('master');
    } finally {
      await producer.disconnect();
      await admin.disconnect();
      redis.disconnect();
    }
  });
});

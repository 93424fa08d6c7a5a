import calculateSlot from 'cluster-key-slot';
import { createHash } from 'node:crypto';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { join } from 'node:path';
import pino from 'pino';
import { App, startApp } from '../../../src/app';
import { loadConfig } from '../../../src/config';
import { openLedger } from '../../../src/ledger/open-ledger';
import { connectRedis } from '../../../src/ledger/redis-connection';
import { ReplicaSync } from '../../../src/ledger/replica-sync';
import { loadRateBook } from '../../../src/rating';
import { RatingPricer } from '../../../src/settlement/rating-pricer';
import { groupProgress } from '../../../tools/chaos/topics';
import { killProcess, pauseProcess } from '../../../tools/stack/processes';
import {
  ClusterNode,
  readCluster,
  startRedisCluster,
  stopRedisCluster,
} from '../../../tools/stack/redis-cluster';
import { startClusterNode, waitForFailover } from '../../../tools/stack/redis-cluster-faults';
import { withNode } from '../../../tools/stack/servers';
import { stackEnv } from '../../../tools/stack/stack';
import { projectRoot } from '../../../tools/stack/toolchain';
import { prepaid } from '../../support/ledger';
import { testKafka, testStack, uniqueName } from '../../support/stack';
import { eventually, recentCall } from '../../support/wait';

jest.setTimeout(120_000);

/** Each call: 2 minutes from a US user to a London number, paid from credits: 0.07 USD. */
const CHARGE = 7n;
const FUNDS = 10_000n;
/** Tenants on the master that fails, and calls each in the batch written while its replica is cut off. */
const TENANTS = 4;
const CALLS_EACH = 5;
const CALLS_EACH_N = BigInt(CALLS_EACH);
const BATCH = TENANTS * CALLS_EACH;
/** An operator's goodwill credit to the first tenant, asked while its replica is cut off. */
const ADJUSTMENT = 500n;
const OPERATOR_TOKEN = 'replica-wait-operator-token';

const call = (id: string, tenantId: string) =>
  JSON.stringify({
    id,
    tenantId,
    callType: 'user_out',
    ...recentCall(2),
    duration: 120,
    calleeNumber: '+442071234567',
    callerNumber: '+14155550100',
    licenseCapability: 'MCOPSTNPP',
    usageCountryCode: 'US',
  });

const inRanges = (slot: number, ranges: string[]) =>
  ranges.some((range) => {
    const [from, to] = range.split('-').map(Number);
    return slot >= from! && slot <= (to ?? from!);
  });

/** What a run left: the group's progress, and per tenant of the failed master its balance and applied ids. */
interface RunResult {
  committed: number;
  end: number;
  rated: number;
  balances: bigint[];
  /** The batch's usage ids, and those applied on the tenants' master after the failover. */
  sent: string[];
  appliedIds: string[];
  controlBalance: bigint;
  /** While the replica lagged: the batch's offsets, committed or not, and what /readyz said. */
  whileLagging: { committed: number; readyz?: { status: number; replicas?: string } };
  /** The adjustment's answers: while the replica lagged, and to the same request after the failover. */
  adjustment: { whileLagging: { status: number; error?: string }; retried: { status: number } };
}

/**
 * The ledger on a Redis Cluster of its own (3 masters, a replica each), the rater consuming one
 * partition. A master's replica is SIGSTOPped and the master drops its link (as it does after
 * `repl-timeout`, or a partition: what was in flight never arrives); a batch of calls for the
 * tenants on that master goes in; the master is SIGKILLed, the replica resumed and promoted
 * (`cluster-replica-validity-factor 0`), and the killed master started again (it rejoins as the
 * replica). Then every call must be charged once, and every committed offset be a debit that
 * survived.
 */
describe('a batch is committed only once a replica holds its debits (REDIS_WAIT_REPLICAS)', () => {
  const dir = join(projectRoot, '.stack', 'cluster-replica-wait');
  let app: App | undefined;
  let stopped: ClusterNode | undefined;

  afterEach(async () => {
    await app?.stop().catch(() => undefined);
    app = undefined;
    // Never leave a node stopped: stopRedisCluster's SIGTERM would not reach it.
    const info = readCluster(dir);
    const proc = info?.processes.find((p) => p.name === stopped?.name);
    if (proc) pauseProcess(proc, false);
    await stopRedisCluster(dir);
  });

  async function failoverRun(waitReplicas: number): Promise<RunResult> {
    await stopRedisCluster(dir);
    let info = await startRedisCluster(dir);
    const seed = info.nodes[0]!;
    const master = info.nodes.filter((n) => n.role === 'master' && n.port !== seed.port).at(-1)!;
    const replica = info.nodes.find((n) => n.role === 'replica' && n.masterId === master.id)!;
    const runId = uniqueName('replica-wait');
    const prefix = `${runId}:`;
    const topics = { usageIn: `${runId}.cdr`, ratedOut: `${runId}.rated` };

    const redis = connectRedis(
      { url: `redis://${seed.host}:${seed.port}`, cluster: true },
      { maxRetriesPerRequest: 20 },
    );
    redis.on('error', () => undefined);
    const ledger = openLedger(redis, { prefix });
    const kafka: Kafka = testKafka();
    const admin: Admin = kafka.admin();
    const producer: Producer = kafka.producer();
    try {
      // Tenants whose slot is on the master that will fail, and one elsewhere.
      const tenants: string[] = [];
      let control: string | undefined;
      for (let i = 0; tenants.length < TENANTS || !control; i++) {
        const tenant = `tenant-${i}`;
        const onMaster = inRanges(calculateSlot(ledger.keys(tenant).account), master.slots ?? []);
        if (onMaster && tenants.length < TENANTS) tenants.push(tenant);
        else if (!onMaster) control ??= tenant;
      }
      for (const tenant of [...tenants, control!]) {
        await ledger.writes.upsertAccount(tenant, prepaid());
        await ledger.writes.addFunds(tenant, {
          paymentRef: 'p1',
          amount: FUNDS,
          currency: 'USD',
          purchasedAt: new Date(),
        });
      }
      // The accounts are on the replicas before anything is cut off.
      await new ReplicaSync(redis, prefix, { replicas: 1, timeoutMs: 3_000 }).awaitReplicas([
        ...tenants,
        control!,
      ]);

      app = await startApp(
        loadConfig({
          ...stackEnv(testStack()),
          REDIS_URL: `redis://${seed.host}:${seed.port}`,
          REDIS_CLUSTER: 'true',
          REDIS_KEY_PREFIX: prefix,
          REDIS_WAIT_REPLICAS: String(waitReplicas),
          REDIS_WAIT_TIMEOUT_MS: '300',
          HTTP_PORT: '0',
          RATER_ROLES: 'consumer,api',
          PAYMENT_GATEWAY: 'none',
          OPERATOR_TOKEN_SHA256: createHash('sha256').update(OPERATOR_TOKEN).digest('hex'),
          CONSOLE_ENABLED: 'false',
          KAFKA_CLIENT_ID: runId,
          KAFKA_GROUP_ID: runId,
          KAFKA_SESSION_TIMEOUT_MS: '6000',
          KAFKA_TOPIC_PARTITIONS: '1',
          TOPIC_USAGE_IN: topics.usageIn,
          TOPIC_RATED_OUT: topics.ratedOut,
          TOPIC_EVENTS_OUT: `${runId}.events`,
          TOPIC_DEAD_LETTER: `${runId}.dlq`,
        }),
        {
          pricer: new RatingPricer(loadRateBook(join(projectRoot, 'rates'))),
          logger: pino({ level: 'silent' }),
        },
      );
      const replicaRetries: string[] = [];
      app.instrumentation.on('retry', ({ stage, error }) => {
        if (stage === 'replicas') replicaRetries.push((error as Error).message);
      });
      await admin.connect();
      await producer.connect();
      const progress = () => groupProgress(admin, runId, topics.usageIn);
      const adjust = async () => {
        const response = await fetch(`${app!.url}/v1/tenants/${tenants[0]}/adjustments`, {
          method: 'POST',
          headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            adjustmentId: 'goodwill-1',
            amount: '5.00',
            currency: 'USD',
            reason: 'goodwill',
            madeBy: 'ops@example.net',
          }),
        });
        return { status: response.status, error: ((await response.json()) as { error?: string }).error };
      };

      // The consumer is in its group and charging: one call of the control tenant, committed.
      await producer.send({
        topic: topics.usageIn,
        messages: [{ key: control!, value: call(`${runId}-control`, control!) }],
      });
      await eventually(async () => expect((await progress()).committed).toBe(1), 60_000, 200);

      // The replica hangs, and its master drops the link: the batch reaches the master only.
      const processOf = (node: ClusterNode) => info.processes.find((p) => p.name === node.name)!;
      pauseProcess(processOf(replica), true);
      stopped = replica;
      const dropped = await withNode(master.host, master.port, (c) => c.client('KILL', 'TYPE', 'replica'));
      expect(dropped).toBe(1);
      const batch = tenants.flatMap((tenant) =>
        Array.from({ length: CALLS_EACH }, (_, i) => ({ tenant, id: `${runId}-${tenant}-${i}` })),
      );
      await producer.send({
        topic: topics.usageIn,
        messages: batch.map(({ tenant, id }) => ({ key: tenant, value: call(id, tenant) })),
      });
      const whileLagging: RunResult['whileLagging'] = { committed: 0 };
      if (waitReplicas === 0) {
        // Today's behaviour: the batch is debited on the master and its offsets committed.
        await eventually(async () => expect((await progress()).committed).toBe(1 + BATCH), 30_000, 200);
      } else {
        // Debited on the master, but not committed: the replica never acknowledges.
        await eventually(() => expect(replicaRetries.length).toBeGreaterThanOrEqual(3), 30_000, 100);
        const readyz = await fetch(`${app.url}/readyz`);
        const body = (await readyz.json()) as { checks: Record<string, string> };
        whileLagging.readyz = { status: readyz.status, replicas: body.checks.redis_replicas };
      }
      whileLagging.committed = (await progress()).committed;
      const adjustedWhileLagging = await adjust();

      // The master crashes; the replica resumes and takes over, without the batch.
      await killProcess(processOf(master));
      pauseProcess(processOf(replica), false);
      stopped = undefined;
      const { promoted } = await waitForFailover(dir, master);
      expect(promoted.name).toBe(replica.name);
      info = await startClusterNode(dir, master.name);

      await eventually(
        async () => {
          const { committed, end } = await progress();
          expect(committed).toBe(end);
        },
        60_000,
        250,
      );
      if (waitReplicas > 0)
        await eventually(
          async () => expect((await fetch(`${app!.url}/readyz`)).status).toBe(200),
          20_000,
          250,
        );
      const adjustment = { whileLagging: adjustedWhileLagging, retried: { status: (await adjust()).status } };
      await app.stop();
      app = undefined;

      const appliedIds: string[] = [];
      const balances: bigint[] = [];
      for (const tenant of tenants) {
        balances.push((await ledger.reads.readAccount(tenant))!.balance);
        for await (const page of ledger.reads.appliedUsages(tenant))
          appliedIds.push(...page.map((applied) => applied.usageId));
      }
      const rated = (await admin.fetchTopicOffsets(topics.ratedOut)).reduce(
        (sum, p) => sum + Number(p.high) - Number(p.low),
        0,
      );
      return {
        ...(await progress()),
        rated,
        balances,
        sent: batch.map(({ id }) => id).sort(),
        appliedIds: appliedIds.sort(),
        controlBalance: (await ledger.reads.readAccount(control!))!.balance,
        whileLagging,
        adjustment,
      };
    } finally {
      await producer.disconnect();
      await admin.disconnect();
      redis.disconnect();
    }
  }

  it('with WAIT 1, holds the batch until a replica has it: after the failover every call is charged once', async () => {
    const waitReplicas = Number(process.env.RATER_TEST_WAIT_REPLICAS ?? 1);
    const result = await failoverRun(waitReplicas);
    // Every committed offset is a debit on the surviving master, each once.
    expect(result).toMatchObject({ committed: 1 + BATCH, end: 1 + BATCH, rated: 1 + BATCH });
    expect(result.sent).toHaveLength(BATCH);
    expect(result.appliedIds).toEqual(result.sent);
    // The adjustment answered 503 while the replica lagged; the failover lost it, and the
    // client's retry of the same request made it (201), once.
    expect(result.adjustment).toEqual({
      whileLagging: { status: 503, error: 'redis_replicas_lagging' },
      retried: { status: 201 },
    });
    expect(result.balances).toEqual(
      Array.from({ length: TENANTS }, (_, i) => FUNDS - CALLS_EACH_N * CHARGE + (i === 0 ? ADJUSTMENT : 0n)),
    );
    expect(result.controlBalance).toBe(FUNDS - CHARGE);
    // Not committed while the replica lagged, and not ready, saying why.
    expect(result.whileLagging.committed).toBe(1);
    expect(result.whileLagging.readyz?.status).toBe(503);
    expect(result.whileLagging.readyz?.replicas).toMatch(
      /^redis_replicas_lagging: 0 of 1 replicas of 127\.0\.0\.1:\d+ acknowledged the writes in 300 ms/,
    );
  });

  it('without WAIT (0), a failover loses the batch whose offsets were committed', async () => {
    const result = await failoverRun(0);
    expect(result.whileLagging.committed).toBe(1 + BATCH);
    expect(result).toMatchObject({ committed: 1 + BATCH, end: 1 + BATCH, rated: 1 + BATCH });
    // The promoted replica never got the batch: offsets committed, rated records out, no debits.
    expect(result.appliedIds).toEqual([]);
    // The adjustment was answered 201 and lost: the same request credits it again (201).
    expect(result.adjustment).toEqual({
      whileLagging: { status: 201, error: undefined },
      retried: { status: 201 },
    });
    expect(result.balances).toEqual(
      Array.from({ length: TENANTS }, (_, i) => FUNDS + (i === 0 ? ADJUSTMENT : 0n)),
    );
    expect(result.controlBalance).toBe(FUNDS - CHARGE);
  });
});

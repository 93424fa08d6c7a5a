import calculateSlot from 'cluster-key-slot';
import { join } from 'node:path';
import { openLedger } from '../../../src/ledger/open-ledger';
import { connectRedis } from '../../../src/ledger/redis-connection';
import { ReplicaSync } from '../../../src/ledger/replica-sync';
import { pauseProcess } from '../../../tools/stack/processes';
import {
  ClusterNode,
  RedisClusterInfo,
  startRedisCluster,
  stopRedisCluster,
} from '../../../tools/stack/redis-cluster';
import { withNode } from '../../../tools/stack/servers';
import { projectRoot } from '../../../tools/stack/toolchain';
import { prepaid } from '../../support/ledger';
import Redis, { Cluster } from 'ioredis';
import { testStack, uniqueName } from '../../support/stack';
import { eventually } from '../../support/wait';

jest.setTimeout(90_000);

const inRanges = (slot: number, ranges: string[]) =>
  ranges.some((range) => {
    const [from, to] = range.split('-').map(Number);
    return slot >= from! && slot <= (to ?? from!);
  });

/** `WAIT` calls each master served since `CONFIG RESETSTAT`. */
async function waitCalls(masters: ClusterNode[]): Promise<number[]> {
  return Promise.all(
    masters.map((m) =>
      withNode(m.host, m.port, async (c) => {
        const stats = String(await c.info('commandstats'));
        return Number(/cmdstat_wait:calls=(\d+)/.exec(stats)?.[1] ?? 0);
      }),
    ),
  );
}

/**
 * ReplicaSync (REDIS_WAIT_REPLICAS) on a Redis Cluster of its own (3 masters, a replica each):
 * one WAIT per master that serves the tenants, on that master, covering what any connection
 * wrote there; a replica that hangs is a lag, named, until it answers again.
 */
describe('waiting for the replicas of the masters that took the writes', () => {
  const dir = join(projectRoot, '.stack', 'replica-sync');
  let info: RedisClusterInfo;
  let writer: Cluster;
  let paused: ClusterNode | undefined;
  const clients: Cluster[] = [];
  const prefix = `${uniqueName('rs')}:`;
  const client = () => {
    const seed = info.nodes[0]!;
    const redis = connectRedis({ url: `redis://${seed.host}:${seed.port}`, cluster: true }) as Cluster;
    redis.on('error', () => undefined);
    clients.push(redis);
    return redis;
  };
  const masters = () => info.nodes.filter((n) => n.role === 'master');
  const processOf = (node: ClusterNode) => info.processes.find((p) => p.name === node.name)!;

  beforeAll(async () => {
    await stopRedisCluster(dir);
    info = await startRedisCluster(dir);
    writer = client();
  });
  afterAll(async () => {
    if (paused) pauseProcess(processOf(paused), false);
    for (const redis of clients) redis.disconnect();
    await stopRedisCluster(dir);
  });

  it('does nothing when waiting is off', async () => {
    const redis = client();
    const sync = new ReplicaSync(redis, prefix);
    expect(sync.enabled).toBe(false);
    await sync.awaitReplicas(['off-1']);
    expect(await sync.lagging()).toBeUndefined();
    expect(await redis.exists(openLedger(redis, { prefix }).keys('off-1').replicated)).toBe(0);
  });

  it('sends one WAIT to each master that serves the tenants, and none to the others', async () => {
    const tenants = Array.from({ length: 30 }, (_, i) => `spread-${i}`);
    const ledger = openLedger(writer, { prefix });
    await Promise.all(tenants.map((t) => ledger.writes.upsertAccount(t, prepaid())));
    const all = masters();
    await Promise.all(all.map((m) => withNode(m.host, m.port, (c) => c.config('RESETSTAT'))));
    await new ReplicaSync(writer, prefix, { replicas: 1, timeoutMs: 2_000 }).awaitReplicas(tenants);
    expect(await waitCalls(all)).toEqual([1, 1, 1]);

    // Tenants of one master only: that master alone is asked.
    const first = all[0]!;
    const onFirst = tenants.filter((t) => inRanges(calculateSlot(ledger.keys(t).account), first.slots ?? []));
    expect(onFirst.length).toBeGreaterThan(1);
    await Promise.all(all.map((m) => withNode(m.host, m.port, (c) => c.config('RESETSTAT'))));
    await new ReplicaSync(writer, prefix, { replicas: 1, timeoutMs: 2_000 }).awaitReplicas(onFirst);
    expect(await waitCalls(all)).toEqual([1, 0, 0]);
  });

  it("covers another connection's writes, names the lag while a replica hangs, and clears it after", async () => {
    const ledger = openLedger(writer, { prefix });
    const tenant = 'lagging-1';
    await ledger.writes.upsertAccount(tenant, prepaid());
    const master = masters().find((m) =>
      inRanges(calculateSlot(ledger.keys(tenant).account), m.slots ?? []),
    )!;
    const replica = info.nodes.find((n) => n.role === 'replica' && n.masterId === master.id)!;

    pauseProcess(processOf(replica), true);
    paused = replica;
    // Written by one client; waited for by another, fresh one (as a replay by another
    // instance finds a write it did not make): its WAIT must still cover that write.
    await ledger.writes.addFunds(tenant, { paymentRef: 'p1', amount: 1000n, currency: 'USD' });
    const sync = new ReplicaSync(client(), prefix, { replicas: 1, timeoutMs: 200 });
    const lag = `0 of 1 replicas of ${master.host}:${master.port} acknowledged the writes in 200 ms`;
    await expect(sync.awaitReplicas([tenant])).rejects.toMatchObject({
      name: 'ReplicasLaggingError',
      reason: 'redis_replicas_lagging',
      retriable: true,
      message: lag,
    });
    expect(await sync.lagging()).toMatch(
      /^0 of 1 replicas of 127\.0\.0\.1:\d+ acknowledged the writes in 200 ms \(for \d+ s\)$/,
    );

    pauseProcess(processOf(replica), false);
    paused = undefined;
    await eventually(async () => expect(await sync.lagging()).toBeUndefined(), 20_000, 200);
    await sync.awaitReplicas([tenant]);
    // The mark is a short-lived key of the tenant's slot.
    const ttl = await writer.pttl(ledger.keys(tenant).replicated);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(3_600_000);
  });

  it('on one server without replicas, says that none acknowledged', async () => {
    const redis = new Redis(testStack().redis.url);
    const standalone = `${uniqueName('solo')}:`;
    try {
      const sync = new ReplicaSync(redis, standalone, { replicas: 1, timeoutMs: 50 });
      await expect(sync.awaitReplicas(['solo-1', 'solo-2'])).rejects.toMatchObject({
        reason: 'redis_replicas_lagging',
        message: '0 of 1 replicas of redis acknowledged the writes in 50 ms',
      });
      expect(await redis.exists(`${standalone}{t:solo-1}:replicated`)).toBe(1);
      // One server: one mark and one WAIT for the batch's tenants.
      expect(await redis.exists(`${standalone}{t:solo-2}:replicated`)).toBe(0);
    } finally {
      redis.disconnect();
    }
  });
});

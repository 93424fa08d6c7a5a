import Redis, { Cluster } from 'ioredis';
import { AccountField } from '../../../src/ledger/account-fields';
import { openLedger } from '../../../src/ledger/open-ledger';
import { reindexTenants } from '../../../src/ledger/reindex';
import { ExpirySweeper } from '../../../src/workers/expiry-sweeper';
import { applyPaid, ledgerFixture, LedgerFixture, paid, prepaid } from '../../support/ledger';
import { testStack } from '../../support/stack';
import { eventually } from '../../support/wait';

/** A purchase whose lot expires 30 s after the fixture's start. */
const YEAR_AGO = new Date('2025-11-01T00:00:30.000Z');

describe.each(['standalone', 'cluster'] as const)('index shards on %s Redis', (layout) => {
  let client: Redis | Cluster;
  let f: LedgerFixture;

  beforeAll(async () => {
    if (layout === 'standalone') {
      client = new Redis(testStack().redis.url);
      return;
    }
    const nodes = testStack().redisCluster?.nodes;
    if (!nodes) throw new Error('the test stack has no Redis Cluster');
    const cluster = new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 3 } });
    await new Promise<void>((resolve, reject) => {
      cluster.once('ready', () => resolve());
      cluster.once('error', reject);
    });
    client = cluster;
  });
  afterAll(() => client.disconnect());
  beforeEach(() => {
    f = ledgerFixture({ redis: client });
  });

  it('use one shard on standalone Redis and one per slot on a Cluster', () => {
    expect(f.ledger.indexes.shards.count).toBe(layout === 'cluster' ? 16384 : 1);
  });

  const fund = async (tenant: string, ref: string, amount: bigint, purchasedAt = f.clock.now) => {
    const result = await f.ledger.writes.addFunds(tenant, {
      paymentRef: ref,
      amount,
      currency: 'USD',
      purchasedAt,
      migration: purchasedAt < f.clock.now,
    });
    if ('refused' in result) throw new Error(`funds refused: ${JSON.stringify(result)}`);
  };
  const ixOf = (tenant: string) => f.ledger.indexes.keys(f.ledger.indexes.shards.shardOf(tenant));

  /** The index entries, recounted from every tenant's state. */
  async function recount(tenants: string[]) {
    const withEvents: string[] = [];
    const expiry: Record<string, number | null> = {};
    const indexed: Record<string, number | null> = {};
    for (const tenant of tenants) {
      if ((await f.ledger.outbox.outboxLength(tenant)) > 0) withEvents.push(tenant);
      const first = await client.zrange(f.ledger.keys(tenant).lotExpiry, 0, 0, 'WITHSCORES');
      expiry[tenant] = first.length > 0 ? Number(first[1]) : null;
      const score = await client.zscore(ixOf(tenant).expiry, tenant);
      indexed[tenant] = score === null ? null : Number(score);
    }
    const totals = await f.ledger.tenants.totals();
    return {
      gauges: { tenants: totals.tenants, depleted: totals.blockedTenants, backlog: totals.outboxBacklog },
      withEvents: withEvents.sort(),
      expiry,
      indexed,
    };
  }
  const indexed = async (tenants: string[]) => {
    const counted = await recount(tenants);
    return {
      gauges: await f.ledger.indexes.gauges(),
      withEvents: (await f.ledger.indexes.tenantsWithEvents()).sort(),
      expiry: counted.indexed,
    };
  };

  it('keep the relay set: a tenant leaves it only when its outbox is empty', async () => {
    await f.ledger.writes.upsertAccount('acme', prepaid());
    expect(await f.ledger.indexes.tenantsWithEvents()).toEqual([]);
    await fund('acme', 'p1', 1000n);
    expect(await f.ledger.indexes.tenantsWithEvents()).toEqual(['acme']);
    expect((await f.ledger.indexes.gauges()).backlog).toBe(2);

    // The relay reads, an event is written meanwhile, then the relay acknowledges what it read.
    const read = await f.ledger.outbox.readOutbox('acme');
    await fund('acme', 'p2', 500n);
    expect(
      await f.ledger.outbox.acknowledgeOutbox(
        'acme',
        read.map((e) => e.streamId),
      ),
    ).toBe(2);
    expect(await f.ledger.indexes.tenantsWithEvents()).toEqual(['acme']);
    expect((await f.ledger.indexes.gauges()).backlog).toBe(2);

    const rest = await f.ledger.outbox.readOutbox('acme');
    expect(
      await f.ledger.outbox.acknowledgeOutbox(
        'acme',
        rest.map((e) => e.streamId),
      ),
    ).toBe(2);
    expect(await f.ledger.indexes.tenantsWithEvents()).toEqual([]);
    // Acknowledged twice (a relay crashed after acknowledging): the backlog stays exact.
    expect(
      await f.ledger.outbox.acknowledgeOutbox(
        'acme',
        rest.map((e) => e.streamId),
      ),
    ).toBe(0);
    expect((await f.ledger.indexes.gauges()).backlog).toBe(0);
  });

  it('publish a hint when an outbox goes from empty to not empty, once', async () => {
    const hints: string[] = [];
    let subscribed = 0;
    const unsubscribe = await f.ledger.indexes.watchOutbox(
      (tenant) => hints.push(tenant),
      () => (subscribed += 1),
    );
    try {
      expect(subscribed).toBe(1);
      await f.ledger.writes.upsertAccount('acme', prepaid());
      await fund('acme', 'p1', 1000n);
      await fund('acme', 'p2', 1000n);
      await eventually(() => expect(hints).toEqual(['acme']));
      const events = await f.ledger.outbox.readOutbox('acme');
      await f.ledger.outbox.acknowledgeOutbox(
        'acme',
        events.map((e) => e.streamId),
      );
      await fund('acme', 'p3', 1000n);
      await eventually(() => expect(hints).toEqual(['acme', 'acme']));
    } finally {
      await unsubscribe();
    }
  });

  it('let the sweeper expire only the tenants with a lot due', async () => {
    const tenants = Array.from({ length: 200 }, (_, i) => `t${i}`);
    const due = ['t7', 't100', 't199'];
    for (let i = 0; i < tenants.length; i += 50) {
      await Promise.all(
        tenants.slice(i, i + 50).map(async (tenant) => {
          await f.ledger.writes.upsertAccount(tenant, prepaid());
          await fund(tenant, 'p', 100n, due.includes(tenant) ? YEAR_AGO : f.clock.now);
        }),
      );
    }
    f.clock.advance(60_000);
    const expired: string[] = [];
    const writes = {
      expireLots: (tenant: string, now?: Date) => {
        expired.push(tenant);
        return f.ledger.writes.expireLots(tenant, now);
      },
    } as unknown as typeof f.ledger.writes;
    const sweeper = new ExpirySweeper({
      ledger: { indexes: f.ledger.indexes, writes },
      clock: () => f.clock.now,
      pageSize: 2, // pages are repeated while full
    });
    expect(await sweeper.sweep()).toBe(3);
    expect(expired.sort()).toEqual([...due].sort());
    expired.length = 0;
    expect(await sweeper.sweep()).toBe(0);
    expect(expired).toEqual([]);
  });

  it('list the tenants needing attention, kept by each script that moves them, and rebuilt by reindex', async () => {
    const low = { lowBalanceThreshold: 500n };
    const tenants = ['ok', 'low', 'blocked', 'post', 'restored', 'raised', 'expired', 'rerated'];
    await f.ledger.writes.upsertAccount('ok', prepaid(low));
    await fund('ok', 'p', 1000n);
    await f.ledger.writes.upsertAccount('low', prepaid(low));
    await fund('low', 'p', 1000n);
    await applyPaid(f, 'low', [paid('u1', 600n)]); // 400 < 500
    await f.ledger.writes.upsertAccount('blocked', prepaid(low));
    await fund('blocked', 'p', 100n);
    await applyPaid(f, 'blocked', [paid('u1', 100n)]); // 0: blocked, and below 500
    await f.ledger.writes.upsertAccount('post', prepaid({ mode: 'postpaid', ...low }));
    await applyPaid(f, 'post', [{ ...paid('u1', 700n), source: 'postpaid' }]);
    await f.ledger.writes.upsertAccount('restored', prepaid(low));
    await fund('restored', 'p', 100n);
    await applyPaid(f, 'restored', [paid('u1', 200n)]); // -100
    await fund('restored', 'p2', 1000n); // 900: restored, above 500
    await f.ledger.writes.upsertAccount('raised', prepaid());
    await fund('raised', 'p', 1000n);
    expect(await f.ledger.writes.updateSettings('raised', { lowBalanceThreshold: 2000n })).toMatchObject({
      status: 'updated',
    });
    await f.ledger.writes.upsertAccount('expired', prepaid(low));
    await fund('expired', 'old', 1000n, YEAR_AGO);
    await f.ledger.writes.upsertAccount('rerated', prepaid(low));
    await fund('rerated', 'p', 1000n);
    await applyPaid(f, 'rerated', [paid('u1', 600n)]); // 400: low, until the re-rate refunds 300
    f.clock.advance(60_000);
    await new ExpirySweeper({ ledger: f.ledger, clock: () => f.clock.now }).sweep(); // 'expired': 0
    const rerated = await f.ledger.writes.rerate('rerated', {
      usageId: 'u1',
      start: paid('u1', 0n).start,
      revision: 'r1',
      currency: 'USD',
      source: 'credits',
      charge: 300n,
      poolSeconds: 0,
      poolUse: {},
    });
    expect(rerated).toMatchObject({ balance: 700n });

    const expected = { blocked: ['blocked', 'expired'], low: ['blocked', 'expired', 'low'] };
    expect(await f.ledger.indexes.attention({ limit: 10 })).toEqual({
      ...expected,
      low: [...expected.low, 'raised'],
    });
    expect(await f.ledger.indexes.attention({ limit: 1 })).toEqual({
      blocked: ['blocked'],
      low: ['blocked'],
    });
    await expect(f.ledger.indexes.attention({ limit: 0 })).rejects.toThrow(RangeError);

    // Lowering a threshold takes a tenant out at once ('raised', 'low' at 400 under 300); a
    // usage under it brings 'low' back though it writes no event (it was told low before).
    await f.ledger.writes.updateSettings('raised', { lowBalanceThreshold: 100n });
    await f.ledger.writes.updateSettings('low', { lowBalanceThreshold: 300n });
    expect(await f.ledger.indexes.attention({ limit: 10 })).toEqual({
      ...expected,
      low: ['blocked', 'expired'],
    });
    const events = await f.ledger.outbox.outboxLength('low');
    await applyPaid(f, 'low', [paid('u2', 200n)]); // 200 < 300
    expect(await f.ledger.outbox.outboxLength('low')).toBe(events);
    expect(await f.ledger.indexes.attention({ limit: 10 })).toEqual(expected);
    await fund('low', 'p2', 500n);
    expect(await f.ledger.indexes.attention({ limit: 10 })).toEqual({
      blocked: ['blocked', 'expired'],
      low: ['blocked', 'expired'],
    });

    // An upgrade from a version without these indexes: reindex rebuilds them.
    for (const shard of new Set(tenants.map((tenant) => f.ledger.indexes.shards.shardOf(tenant)))) {
      const ix = f.ledger.indexes.keys(shard);
      await Promise.all([client.del(ix.blocked), client.del(ix.low)]);
    }
    for (const tenant of tenants) await client.hdel(f.ledger.keys(tenant).account, AccountField.ixLow);
    expect(await f.ledger.indexes.attention({ limit: 10 })).toEqual({ blocked: [], low: [] });
    await reindexTenants(f.ledger);
    expect(await f.ledger.indexes.attention({ limit: 10 })).toEqual({
      blocked: ['blocked', 'expired'],
      low: ['blocked', 'expired'],
    });
  });

  it('list the tenants whose last auto-recharge failed, newest first, until one succeeds', async () => {
    const settings = prepaid({
      autoRecharge: { enabled: true, trigger: 300n, amount: 2000n, monthlyCap: 5, maxConsecutiveFailures: 3 },
    });
    const tenants = ['first', 'second', 'third'];
    for (const tenant of tenants) {
      await f.ledger.writes.upsertAccount(tenant, settings);
      await fund(tenant, 'p', 1000n);
      await applyPaid(f, tenant, [paid('u1', 800n)]); // 200 < 300: recharge 1 requested
    }
    const fail = (tenant: string, n: number, reason: string) =>
      f.ledger.writes.recordRechargeResult(tenant, {
        requestId: `${tenant}:recharge:${n}`,
        status: 'failed',
        reason,
      });
    const times: Date[] = [];
    for (const tenant of tenants) {
      times.push(f.clock.now);
      expect(await fail(tenant, 1, 'card_declined')).toMatchObject({ status: 'failed' });
      f.clock.advance(1_000);
    }
    expect(await f.ledger.indexes.recentRechargeFailures({ limit: 10 })).toEqual([
      { tenantId: 'third', at: times[2] },
      { tenantId: 'second', at: times[1] },
      { tenantId: 'first', at: times[0] },
    ]);
    expect(await f.ledger.indexes.recentRechargeFailures({ limit: 2 })).toEqual([
      { tenantId: 'third', at: times[2] },
      { tenantId: 'second', at: times[1] },
    ]);

    // 'first' fails again (newest now, with the new reason); 'second' succeeds and leaves.
    await applyPaid(f, 'first', [paid('u2', 1n)]);
    await applyPaid(f, 'second', [paid('u2', 1n)]);
    const again = f.clock.now;
    await fail('first', 2, 'expired_card');
    expect(
      await f.ledger.writes.recordRechargeResult('second', {
        requestId: 'second:recharge:2',
        status: 'succeeded',
        amount: 2000n,
        currency: 'USD',
        gatewayRef: 'ch_2',
      }),
    ).toMatchObject({ status: 'succeeded' });
    const expected = [
      { tenantId: 'first', at: again },
      { tenantId: 'third', at: times[2] },
    ];
    expect(await f.ledger.indexes.recentRechargeFailures({ limit: 10 })).toEqual(expected);
    expect((await f.ledger.reads.readAccount('first'))!.autoRecharge).toMatchObject({
      consecutiveFailures: 2,
      lastFailure: { at: again, reason: 'expired_card' },
    });
    expect((await f.ledger.reads.readAccount('second'))!.autoRecharge).toMatchObject({
      consecutiveFailures: 0,
      lastFailure: null,
    });

    // Rebuilt by reindex from the accounts' last failures.
    for (const shard of new Set(tenants.map((tenant) => f.ledger.indexes.shards.shardOf(tenant))))
      await client.del(f.ledger.indexes.keys(shard).rechargeFailed);
    expect(await f.ledger.indexes.recentRechargeFailures({ limit: 10 })).toEqual([]);
    await reindexTenants(f.ledger);
    expect(await f.ledger.indexes.recentRechargeFailures({ limit: 10 })).toEqual(expected);
  });

  it('keep gauges equal to a full recount after a mixed workload, and reindex gives the same', async () => {
    const tenants = ['a', 'depleted', 'restored', 'switched', 'expired', 'post', 'declined'];
    for (const tenant of tenants)
      await f.ledger.writes.upsertAccount(
        tenant,
        tenant === 'post' ? prepaid({ mode: 'postpaid' }) : prepaid(),
      );
    await fund('a', 'p', 1000n);
    await applyPaid(f, 'a', [paid('u1', 300n)]);
    await fund('depleted', 'p', 1000n);
    await applyPaid(f, 'depleted', [paid('u1', 1000n)]);
    await fund('restored', 'p', 1000n);
    await applyPaid(f, 'restored', [paid('u1', 1500n)]);
    await fund('restored', 'p2', 2000n);
    await fund('switched', 'p', 100n);
    await applyPaid(f, 'switched', [paid('u2', 100n)]);
    expect(await f.ledger.writes.updateSettings('switched', { mode: 'postpaid' })).toMatchObject({
      status: 'updated',
    });
    await fund('expired', 'old', 400n, YEAR_AGO);
    f.clock.advance(60_000);
    await new ExpirySweeper({ ledger: f.ledger, clock: () => f.clock.now }).sweep();
    await f.ledger.writes.beginPurchase('declined', { purchaseId: 'b1', amount: 100n, currency: 'USD' });
    await f.ledger.writes.recordPurchase('declined', {
      purchaseId: 'b1',
      status: 'failed',
      reason: 'card_declined',
      message: 'declined',
    });
    const read = await f.ledger.outbox.readOutbox('a');
    await f.ledger.outbox.acknowledgeOutbox(
      'a',
      read.map((e) => e.streamId),
    );

    const counted = await recount(tenants);
    expect(counted.gauges).toEqual({ tenants: 7, depleted: 2, backlog: expect.any(Number) });
    expect(counted.withEvents).not.toContain('a');
    expect([counted.expiry.expired, counted.expiry.a]).toEqual([
      null,
      new Date('2027-11-01T00:00:00.000Z').getTime(),
    ]);
    const expected = { gauges: counted.gauges, withEvents: counted.withEvents, expiry: counted.expiry };
    expect(await indexed(tenants)).toEqual(expected);

    // An upgrade from a version without indexes: no index entries, no counted flags.
    const shards = new Set(tenants.map((tenant) => f.ledger.indexes.shards.shardOf(tenant)));
    for (const shard of shards) {
      const ix = f.ledger.indexes.keys(shard);
      await Promise.all([client.del(ix.outbox), client.del(ix.expiry), client.del(ix.gauges)]);
    }
    for (const tenant of tenants) {
      await client.hdel(
        f.ledger.keys(tenant).account,
        AccountField.ixGauges,
        AccountField.ixCounted,
        AccountField.ixDepleted,
        AccountField.ixBacklog,
      );
    }
    expect(await f.ledger.indexes.gauges()).toEqual({ tenants: 0, depleted: 0, backlog: 0 });
    const first = await reindexTenants(f.ledger);
    expect(first).toEqual({ tenants: 7, withoutAccount: 0, changed: counted.gauges });
    expect(await indexed(tenants)).toEqual(expected);
    const again = await reindexTenants(f.ledger);
    expect(again).toEqual({
      tenants: 7,
      withoutAccount: 0,
      changed: { tenants: 0, depleted: 0, backlog: 0 },
    });
    expect(await indexed(tenants)).toEqual(expected);

    if (layout === 'standalone') {
      // A move to a Cluster (keys copied as they are): the flags name the standalone gauges,
      // so a reindex with the Cluster's layout counts every tenant afresh in the slot shards.
      const moved = openLedger(client, { prefix: f.prefix, indexLayout: 'cluster' });
      expect(await moved.indexes.gauges()).toEqual({ tenants: 0, depleted: 0, backlog: 0 });
      expect((await reindexTenants(moved)).changed).toEqual(counted.gauges);
      expect(await moved.indexes.gauges()).toEqual(counted.gauges);
      expect((await moved.indexes.tenantsWithEvents()).sort()).toEqual(counted.withEvents);
    }
  });
});

import { readRateApply } from '../../../src/settlement/settle-tenant';
import { Cluster } from 'ioredis';
import { tenantKeys } from '../../../src/ledger/keys';
import {
  applyPaid,
  eventTypes,
  keysIn,
  ledgerFixture,
  LedgerFixture,
  paid,
  prepaid,
  startIn,
} from '../../support/ledger';
import { testStack } from '../../support/stack';

describe('ledger on a real 3-master Redis Cluster', () => {
  let cluster: Cluster;
  let f: LedgerFixture;
  const tenants = Array.from({ length: 12 }, (_, i) => `tenant-${i}`);

  beforeAll(async () => {
    const nodes = testStack().redisCluster?.nodes;
    if (!nodes) throw new Error('the test stack has no Redis Cluster');
    cluster = new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 3 } });
    await new Promise<void>((resolve, reject) => {
      cluster.once('ready', () => resolve());
      cluster.once('error', reject);
    });
  });
  afterAll(() => cluster.disconnect());
  beforeEach(() => {
    f = ledgerFixture({ redis: cluster });
  });

  it('keeps every key of a tenant in one slot, and spreads tenants over the masters', async () => {
    const slotOf = async (key: string) => Number(await cluster.cluster('KEYSLOT', key));
    const slotsPerTenant = await Promise.all(
      tenants.map(
        async (tenant) => new Set(await Promise.all(Object.values(tenantKeys(tenant, f.prefix)).map(slotOf))),
      ),
    );
    expect(slotsPerTenant.every((slots) => slots.size === 1)).toBe(true);

    const shards = (await cluster.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
    const masterOf = (slot: number) => shards.find(([from, to]) => slot >= from && slot <= to)![2][1];
    const masters = new Set(slotsPerTenant.map((slots) => masterOf([...slots][0]!)));
    expect(masters.size).toBeGreaterThanOrEqual(2);
  });

  it('runs every script: funds, exactly-once debits, thresholds, recharge, expiry and re-rating', async () => {
    await Promise.all(
      tenants.map(async (tenant) => {
        await f.ledger.writes.upsertAccount(
          tenant,
          prepaid({
            lowBalanceThreshold: 200n,
            autoRecharge: {
              enabled: true,
              trigger: 100n,
              amount: 1000n,
              monthlyCap: 3,
              maxConsecutiveFailures: 2,
            },
            poolCapacities: { 'MCOPSTN1:US': 300 },
          }),
        );
        await f.ledger.writes.addFunds(tenant, {
          paymentRef: 'p1',
          amount: 500n,
          currency: 'USD',
          purchasedAt: f.clock.now,
        });
        const batch = [paid('u1', 250n), paid('u2', 200n), paid('u1', 250n)];
        await applyPaid(f, tenant, batch);
        await applyPaid(f, tenant, batch); // a replay
        await f.ledger.writes.recordRechargeResult(tenant, {
          requestId: `${tenant}:recharge:1`,
          status: 'succeeded',
          amount: 1000n,
          currency: 'USD',
          gatewayRef: 'ch',
        });
        await readRateApply(
          f.ledger.writes,
          tenant,
          keysIn('2026-11', 'u3'),
          ['MCOPSTN1:US:2026-11'],
          (state) => ({
            currency: 'USD',
            poolUse: state.poolUsed,
            usages: [
              {
                id: 'u3',
                start: startIn('2026-11'),
                source: 'bundle',
                charge: 0n,
                pool: 'MCOPSTN1:US',
                poolSeconds: 120,
                period: '2026-11',
              },
            ],
          }),
        );
        await f.ledger.writes.rerate(tenant, {
          usageId: 'u2',
          start: startIn('2026-11'),
          revision: 'r1',
          currency: 'USD',
          source: 'credits',
          charge: 100n,
          poolSeconds: 0,
          poolUse: {},
        });
      }),
    );

    for (const tenant of tenants) {
      const account = (await f.ledger.reads.readAccount(tenant))!;
      expect([tenant, account.balance, account.blocked, account.poolUsed]).toEqual([
        tenant,
        1150n, // 500 - 250 - 200 + 1000 + (200 - 100)
        false,
        { 'MCOPSTN1:US:2026-11': 120 },
      ]);
      expect((await eventTypes(f, tenant)).map(([type]) => type)).toEqual([
        'credits.adjustment.added',
        'credits.funds.added',
        'credits.balance.low',
        'credits.recharge.requested',
        'credits.recharge.succeeded',
        'credits.funds.added',
      ]);
    }

    const expiry = new Date('2027-11-01T00:00:00.000Z');
    const expired = await Promise.all(tenants.map((tenant) => f.ledger.writes.expireLots(tenant, expiry)));
    expect(expired.every((e) => 'forfeited' in e && e.forfeited === 1150n && e.balance === 0n)).toBe(true);
    const snapshot = await f.ledger.writes.authorizationSnapshot(
      tenants[0]!,
      'MCOPSTN1:US',
      new Date('2026-11-15T00:00:00Z'),
    );
    expect(snapshot).toEqual({
      mode: 'prepaid',
      currency: 'USD',
      balance: 0n,
      blocked: true,
      poolSecondsLeft: 180,
    });

    // The sweeps over every tenant (metrics gauges, the outbox relay) reach every master.
    const lengths = await f.ledger.outbox.outboxLengths(tenants);
    expect(lengths).toEqual(await Promise.all(tenants.map((tenant) => f.ledger.outbox.outboxLength(tenant))));
    expect(await f.ledger.tenants.totals()).toEqual({
      outboxBacklog: lengths.reduce((a, b) => a + b, 0),
      blockedTenants: tenants.length,
      tenants: tenants.length,
    });
  });
});

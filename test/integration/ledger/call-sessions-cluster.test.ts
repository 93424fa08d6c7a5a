import { Cluster } from 'ioredis';
import type { LedgerUsage } from '../../../src/credits/wallet';
import { SessionSweeper } from '../../../src/workers/session-sweeper';
import { applyPaid, ledgerFixture, LedgerFixture, prepaid } from '../../support/ledger';
import { outbound, sessionHold, sessionsOver } from '../../support/sessions';
import { testStack } from '../../support/stack';

describe('call sessions on a real 3-master Redis Cluster', () => {
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
    f = ledgerFixture({ redis: cluster, start: '2026-11-01T10:00:00.000Z' });
  });
  afterAll(() => cluster.disconnect());

  it('reserves, renews, ends, settles and expires sessions in each tenant slot, sweeping only what is due', async () => {
    const s = sessionsOver(f);
    const start = f.clock.now;
    const cdr = (id: string, charge: bigint): LedgerUsage => ({
      id,
      start,
      source: 'credits',
      charge,
      pool: '',
      poolSeconds: 0,
      period: '2026-11',
      user: 'alice',
      international: true,
    });
    await Promise.all(
      tenants.map(async (tenant) => {
        await f.ledger.writes.upsertAccount(tenant, prepaid());
        await f.ledger.writes.addFunds(tenant, {
          paymentRef: 'p1',
          amount: 100n,
          currency: 'USD',
          purchasedAt: start,
        });
        const answers = await Promise.all(['a', 'b', 'c'].map((id) => s.start(outbound(tenant, id, start))));
        // 55 + 45 of 100: the third is refused.
        expect(answers.map((a) => ('reserved' in a ? a.reserved : -1n)).sort()).toEqual([0n, 45n, 55n]);
        expect(await sessionHold(f, tenant)).toBe(100n);
      }),
    );
    f.clock.advance(30_000);
    await Promise.all(
      tenants.map(async (tenant) => {
        const granted = (await f.ledger.sessions.listSessions(tenant, { cursor: '0', count: 10 })).sessions;
        expect(granted).toHaveLength(2);
        const [first, second] = granted.map((g) => g.usageId);
        expect(await s.end(tenant, first!, 30)).toMatchObject({ held: 15n });
        await applyPaid(f, tenant, [cdr(first!, 15n)]);
        expect(await s.update(tenant, second!, 30)).toMatchObject({ allowed: true });
      }),
    );
    // Nothing is due yet; then every tenant's renewed session expires, unheld (none reported used).
    const sweeper = new SessionSweeper({ ledger: f.ledger, clock: () => f.clock.now });
    expect(await sweeper.sweep()).toEqual({ expired: 0, dropped: 0 });
    f.clock.advance(400_000);
    expect(await sweeper.sweep()).toEqual({ expired: 12, dropped: 0 });
    for (const tenant of tenants) {
      expect(await sessionHold(f, tenant)).toBe(15n); // 30 s reported: 15 held until the CDR
      expect((await f.ledger.reads.readAccount(tenant))!.balance).toBe(85n);
    }
    f.clock.advance(25 * 3600 * 1000);
    expect(await sweeper.sweep()).toEqual({ expired: 0, dropped: 24 });
    for (const tenant of tenants) expect(await sessionHold(f, tenant)).toBe(0n);
    expect(await f.ledger.indexes.sessionGauges()).toEqual({ live: 0, held: { USD: 0 } });
  });
});

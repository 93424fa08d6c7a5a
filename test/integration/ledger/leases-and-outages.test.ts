import { createServer } from 'node:net';
import Redis from 'ioredis';
import { leaseKey } from '../../../src/ledger/keys';
import { openLedger } from '../../../src/ledger/open-ledger';
import { LedgerError, LedgerUnavailableError } from '../../../src/ledger/result-codes';
import { keysIn, ledgerFixture, LedgerFixture, paid, prepaid } from '../../support/ledger';

describe('ledger: leases', () => {
  let f: LedgerFixture;
  beforeEach(() => {
    f = ledgerFixture();
  });
  afterEach(() => f.close());

  it('goes to one holder at a time, and a release by another holder leaves it alone', async () => {
    const { leases } = f.ledger;
    expect(await leases.lease('acme', 'outbox', 'a', 30_000)).toBe(true);
    expect(await leases.lease('acme', 'outbox', 'b', 30_000)).toBe(false);

    await leases.releaseLease('acme', 'outbox', 'b');
    expect(await f.redis.get(leaseKey('acme', 'outbox', f.prefix))).toBe('a');
    expect(await leases.lease('acme', 'outbox', 'b', 30_000)).toBe(false);

    await leases.releaseLease('acme', 'outbox', 'a');
    expect(await f.redis.exists(leaseKey('acme', 'outbox', f.prefix))).toBe(0);
    expect(await leases.lease('acme', 'outbox', 'b', 30_000)).toBe(true);
  });

  it('expired and taken by another holder, survives the first holder releasing it late', async () => {
    const { leases } = f.ledger;
    expect(await leases.lease('acme', 'outbox', 'slow', 50)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(await leases.lease('acme', 'outbox', 'next', 30_000)).toBe(true);

    await leases.releaseLease('acme', 'outbox', 'slow');
    expect(await f.redis.get(leaseKey('acme', 'outbox', f.prefix))).toBe('next');
  });
});

describe('ledger: Redis away', () => {
  let redis: Redis;
  beforeAll(async () => {
    // A port nobody listens on: taken, then given back.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    redis = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    redis.on('error', () => undefined);
  });
  afterAll(() => redis.disconnect());

  it('is LedgerUnavailableError (retriable) from every part of the ledger', async () => {
    const ledger = openLedger(redis, { prefix: 'away:' });
    const calls: [string, () => Promise<unknown>][] = [
      [
        'script',
        () => ledger.writes.applyUsage('acme', { currency: 'USD', usages: [paid('u1', 1n)], poolUse: {} }),
      ],
      [
        'pipeline',
        () => ledger.writes.readUsageState('acme', keysIn('2026-11', 'u1'), ['MCOPSTN1:US:2026-11']),
      ],
      ['registry write', () => ledger.writes.upsertAccount('acme', prepaid())],
      ['read model', () => ledger.reads.readAccount('acme')],
      ['paged read', () => ledger.reads.appliedUsages('acme').next()],
      ['outbox', () => ledger.outbox.readOutbox('acme')],
      ['outbox lengths', () => ledger.outbox.outboxLengths(['acme', 'contoso'])],
      ['api keys', () => ledger.apiKeys.apiKeyDigest('acme', 'k1')],
      ['lease', () => ledger.leases.lease('acme', 'outbox', 'a', 1000)],
      ['lease release', () => ledger.leases.releaseLease('acme', 'outbox', 'a')],
      ['tenants', () => ledger.tenants.totals()],
      ['outbox acknowledgement', () => ledger.outbox.acknowledgeOutbox('acme', ['1-0'])],
      ['index: tenants with events', () => ledger.indexes.tenantsWithEvents()],
      ['index: lots due', () => ledger.indexes.dueForExpiry(new Date()).next()],
      ['index: gauges', () => ledger.indexes.gauges()],
      ['reindex', () => ledger.writes.reindex('acme')],
    ];
    for (const [what, call] of calls) {
      const error = await call().then(
        () => new Error(`${what} succeeded`),
        (e: unknown) => e,
      );
      expect([what, error]).toEqual([what, expect.any(LedgerUnavailableError)]);
      expect(error).toMatchObject({ retriable: true, cause: expect.any(Error) });
    }
  });

  it('is not what a bad argument is: that stays a LedgerError, not retriable', async () => {
    const ledger = openLedger(redis, { prefix: 'away:' });
    const usages = Array.from({ length: 1001 }, (_, i) => paid(`u${i}`, 1n));
    const error: unknown = await ledger.writes
      .applyUsage('acme', { currency: 'USD', usages, poolUse: {} })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LedgerError);
    expect(error).toMatchObject({ retriable: false });
  });
});

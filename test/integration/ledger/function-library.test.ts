import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis, { Cluster } from 'ioredis';
import { LedgerUnavailableError } from '../../../src/ledger/result-codes';
import { LIBRARY_NAME } from '../../../src/ledger/script-loader';
import { ManagedProcess, startDaemon, stopProcess } from '../../../tools/stack/processes';
import { startRedisCluster, stopRedisCluster } from '../../../tools/stack/redis-cluster';
import { startRedis, waitForRedis } from '../../../tools/stack/servers';
import { applyPaid, keysIn, ledgerFixture, LedgerFixture, paid, prepaid } from '../../support/ledger';
import { eventually } from '../../support/wait';

jest.setTimeout(120_000);

type FunctionList = [
  string,
  string,
  string,
  string,
  string,
  [string, string, string, unknown, string, string[]][],
][];

/** The ledger library's functions on a node: name -> flags; undefined when it has no library. */
async function libraryOn(node: Redis): Promise<Map<string, string[]> | undefined> {
  const libraries = (await node.call('FUNCTION', 'LIST', 'LIBRARYNAME', LIBRARY_NAME)) as FunctionList;
  const library = libraries.find((l) => l[1] === LIBRARY_NAME);
  return library ? new Map(library[5].map((f) => [f[1], f[5]])) : undefined;
}

const commandCalls = async (node: Redis, command: string) =>
  Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(await node.info('commandstats'))?.[1] ?? 0);

async function openFunded(f: LedgerFixture, tenant: string, amount: bigint): Promise<void> {
  await f.ledger.writes.upsertAccount(tenant, prepaid());
  await f.ledger.writes.addFunds(tenant, {
    paymentRef: 'p1',
    amount,
    currency: 'USD',
    purchasedAt: f.clock.now,
  });
}

/** Redis's server on its own: restarted empty (no AOF, no snapshot) by the tests. */
describe('ledger functions: one library, loaded where the client connects', () => {
  let dir: string;
  let proc: ManagedProcess;
  let redis: Redis;
  let f: LedgerFixture;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rater-functions-'));
    const server = await startRedis(dir);
    proc = server.proc;
    redis = new Redis({ host: server.host, port: server.port, maxRetriesPerRequest: 20 });
  });
  afterAll(async () => {
    redis?.disconnect();
    await stopProcess(proc);
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    f = ledgerFixture({ redis });
  });

  it('loads the library when the client connects, and calls each operation with FCALL (FCALL_RO to read)', async () => {
    const functions = await eventually(async () => {
      const found = await libraryOn(redis);
      if (!found) throw new Error('no library yet');
      return found;
    });
    expect(functions.get('applyUsageV8')).toEqual([]);
    expect(functions.get('lookupAppliedV8')).toEqual(['no-writes']);
    expect(functions.get('authorizeV8')).toEqual(['no-writes']);

    const [fcalls, reads, evals] = await Promise.all(
      ['fcall', 'fcall_ro', 'evalsha'].map((command) => commandCalls(redis, command)),
    );
    await openFunded(f, 'acme', 1000n);
    await applyPaid(f, 'acme', [paid('u1', 100n), paid('u2', 250n)]);
    const state = await f.ledger.writes.readUsageState('acme', keysIn('2026-11', 'u1', 'u3'), []);
    expect('refused' in state ? state : [...state.applied.keys()]).toEqual(['u1']);

    expect((await f.ledger.reads.readAccount('acme'))?.balance).toBe(650n);
    // upsertAccount, addFunds, applyUsage: FCALL; the read of applied ids: FCALL_RO.
    expect(await commandCalls(redis, 'fcall')).toBe(fcalls! + 3);
    expect(await commandCalls(redis, 'fcall_ro')).toBe(reads! + 1);
    expect(await commandCalls(redis, 'evalsha')).toBe(evals);
  });

  it('keeps the amounts of a lot as decimal text after the debits of a batch', async () => {
    await openFunded(f, 'acme', 9_999_999_999_999n);
    await applyPaid(f, 'acme', [paid('u1', 100n), paid('u2', 250n), paid('u3', 1n)]);
    const lot = JSON.parse((await redis.hget(f.ledger.keys('acme').lots, 'm:p1'))!) as Record<
      string,
      unknown
    >;
    expect([lot.amount, lot.remaining]).toEqual(['9999999999999', '9999999999648']);
    expect((await f.ledger.reads.readAccount('acme'))?.balance).toBe(9_999_999_999_648n);
  });

  it('loads the library again and retries once when a function is missing (library flushed)', async () => {
    await openFunded(f, 'acme', 1000n);
    await redis.call('FUNCTION', 'FLUSH');

    await applyPaid(f, 'acme', [paid('u1', 100n)]);
    expect(await libraryOn(redis)).toBeDefined();
    expect((await f.ledger.reads.readAccount('acme'))?.balance).toBe(900n);

    // A pipeline's read finds it missing: transient (the caller retries), and the library comes back.
    await redis.call('FUNCTION', 'FLUSH');
    await expect(f.ledger.writes.readUsageState('acme', keysIn('2026-11', 'u1'), [])).rejects.toThrow(
      LedgerUnavailableError,
    );
    await eventually(async () => expect(await libraryOn(redis)).toBeDefined());
    const state = await f.ledger.writes.readUsageState('acme', keysIn('2026-11', 'u1'), []);
    expect('refused' in state ? state : [...state.applied.keys()]).toEqual(['u1']);
    // Applied once: the repeat is a duplicate, the balance unchanged.
    const again = await applyPaid(f, 'acme', [paid('u1', 100n)]);
    expect(again.balance).toBe(900n);
  });

  it('has the library again on a Redis restarted empty, before the first call', async () => {
    await openFunded(f, 'acme', 1000n);
    await stopProcess(proc);
    rmSync(join(dir, 'redis', 'data'), { recursive: true, force: true });
    mkdirSync(join(dir, 'redis', 'data'));
    proc = startDaemon(proc.name, proc.command, proc.args, {
      cwd: proc.cwd,
      log: proc.log,
      marker: proc.marker,
    });
    await waitForRedis(redis.options.host!, redis.options.port!, proc);

    await eventually(async () => expect(await libraryOn(redis)).toBeDefined());
    expect(await commandCalls(redis, 'fcall')).toBe(0);
    expect(await f.ledger.reads.readAccount('acme')).toBeUndefined();
    await openFunded(f, 'acme', 500n);
    expect((await applyPaid(f, 'acme', [paid('u1', 100n)])).balance).toBe(400n);
  });
});

describe('ledger functions on a Redis Cluster of its own', () => {
  let dir: string;
  let cluster: Cluster;
  let f: LedgerFixture;
  const tenants = Array.from({ length: 9 }, (_, i) => `tenant-${i}`);
  const masters = () => cluster.nodes('master');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rater-functions-cluster-'));
    const info = await startRedisCluster(dir, { masters: 3, replicasPerMaster: 0 });
    cluster = new Cluster(
      info.nodes.map(({ host, port }) => ({ host, port })),
      { redisOptions: { maxRetriesPerRequest: 3 } },
    );
    await new Promise<void>((resolve, reject) => {
      cluster.once('ready', () => resolve());
      cluster.once('error', reject);
    });
    f = ledgerFixture({ redis: cluster });
  });
  afterAll(async () => {
    cluster?.disconnect();
    await stopRedisCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads the library on every master, and again on each when it is missing', async () => {
    await Promise.all(tenants.map((tenant) => openFunded(f, tenant, 1000n)));
    expect(masters()).toHaveLength(3);
    for (const node of masters()) expect((await libraryOn(node))?.get('applyUsageV8')).toEqual([]);

    await Promise.all(masters().map((node) => node.call('FUNCTION', 'FLUSH')));
    const results = await Promise.all(tenants.map((tenant) => applyPaid(f, tenant, [paid('u1', 150n)])));
    expect(results.map((r) => r.balance)).toEqual(tenants.map(() => 850n));
    for (const node of masters()) expect(await libraryOn(node)).toBeDefined();

    const again = await Promise.all(tenants.map((tenant) => applyPaid(f, tenant, [paid('u1', 150n)])));
    expect(again.map((r) => r.balance)).toEqual(tenants.map(() => 850n));
  });
});

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { toCloudEvent } from '../../src/kafka/cloudevents';
import { openLedger, Ledger } from '../../src/ledger/open-ledger';
import { connectRedis } from '../../src/ledger/redis-connection';
import type { UsageRecord } from '../../src/rating';
import { fingerprint } from '../../src/settlement/rated-details';
import { RatingPricer } from '../../src/settlement/rating-pricer';
import { TenantSettlement } from '../../src/settlement/settle-tenant';
import { stackEnv } from '../../tools/stack/stack';
import { projectRoot } from '../../tools/stack/toolchain';
import { prepaid } from '../support/ledger';
import { wrongBook } from '../support/rate-books';
import { consumeMessages, createTopics, testKafka, testStack, uniqueName } from '../support/stack';

/**
 * `rater rerate` killed with SIGKILL part way through and started again ends where one clean
 * run ends: the same balance, totals, records and event, no call refunded twice.
 */
describe('re-rating killed part way and restarted', () => {
  const CALLS = 1_500;
  const prefix = `${uniqueName('rerate-kill')}:`;
  const ratedTopic = uniqueName('rated');
  const env = {
    ...stackEnv(testStack()),
    REDIS_KEY_PREFIX: prefix,
    TOPIC_RATED_OUT: ratedTopic,
    RATES_DIR: join(projectRoot, 'rates'),
    LOG_LEVEL: 'error',
  };
  const config = loadConfig({ ...env, RATER_ROLES: 'consumer' });
  const redis = connectRedis(config.redis);
  const ledger: Ledger = openLedger(redis, { prefix: config.redis.keyPrefix });
  const kafka = testKafka();
  // Calls of the last two days, so they are within the ledger's retention.
  const from = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 - 2 * 86_400_000);
  const to = new Date(from.getTime() + 2 * 86_400_000);

  afterAll(() => redis.disconnect());

  const ukCall = (tenantId: string, i: number): UsageRecord => {
    const start = new Date(from.getTime() + i * 60_000);
    return {
      id: `${tenantId}-${i}`,
      tenantId,
      callType: 'user_out',
      startDateTime: start.toISOString(),
      endDateTime: new Date(start.getTime() + 90_000).toISOString(),
      duration: 90,
      calleeNumber: '+442071234567',
      callerNumber: '+12125550100',
      licenseCapability: 'MCOPSTNPP',
      usageCountryCode: 'US',
      userPrincipalName: `user${i % 7}@${tenantId}.example`,
    };
  };

  /** A prepaid tenant whose UK calls were charged at the wrong 1.00 a minute. */
  async function tenantWithCalls(tenantId: string) {
    await ledger.writes.upsertAccount(tenantId, prepaid());
    await ledger.writes.addFunds(tenantId, { paymentRef: 'p1', amount: 10_000_000n, currency: 'USD' });
    const settlement = new TenantSettlement({
      ledger: ledger.writes,
      pricer: new RatingPricer(wrongBook()),
      maxUsagesPerApply: 500,
      clock: () => new Date(),
    });
    for (let i = 0; i < CALLS; i += 500) {
      const batch = Array.from({ length: Math.min(500, CALLS - i) }, (_, j) => ukCall(tenantId, i + j));
      const settled = await settlement.settle(
        tenantId,
        batch.map((record) => ({ record, fingerprint: fingerprint(record) })),
      );
      expect(settled.every((s) => s.kind === 'rated')).toBe(true);
    }
  }

  /** Runs `rater rerate` for one tenant; `killAfter`: SIGKILL once it reports that many re-rated. */
  function runRerate(
    tenantId: string,
    killAfter?: number,
  ): Promise<{ code: number | null; signal: string | null; stdout: string }> {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(projectRoot, 'src', 'cli.ts'),
        'rerate',
        '--from',
        from.toISOString(),
        '--to',
        to.toISOString(),
        '--tenant',
        tenantId,
      ],
      { cwd: projectRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const done = [...stderr.matchAll(/: (\d+) usages, (\d+) re-rated/g)].map((m) => Number(m[2]));
      if (killAfter !== undefined && done.some((n) => n >= killAfter)) child.kill('SIGKILL');
    });
    return new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) =>
        code !== 0 && signal === null
          ? reject(new Error(`rerate exited ${code}: ${stderr}`))
          : resolve({ code, signal, stdout }),
      );
    });
  }

  const stateOf = async (tenantId: string) => {
    const account = (await ledger.reads.readAccount(tenantId))!;
    const usages = await ledger.reads.listUsage(tenantId, { from, to, offset: 0, limit: CALLS + 10 });
    const month = from.toISOString().slice(0, 7);
    const spend = await ledger.reads.userLimits(tenantId, month, 'USD');
    const events = (await ledger.outbox.readOutbox(tenantId))
      .filter((e) => e.type === 'credits.usage.rerated')
      .map((e) => ({
        ...(toCloudEvent(e, 'rater').data as Record<string, unknown>),
        tenantId: '',
        revision: '',
      }));
    return {
      balance: account.balance,
      lots: account.lots.map((l) => l.remaining),
      totals: await ledger.reads.usageTotals(tenantId),
      usages: usages.map((u) => [
        u.usageId.slice(tenantId.length),
        u.outcome.charge,
        u.outcome.previousCharge,
      ]),
      userSpend: [...spend.users].map(([user, u]) => [user.replace(tenantId, ''), u.spent]).sort(),
      events,
    };
  };

  it('gives the same end state as one clean run, and publishes every re-rated call', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await createTopics(admin, [ratedTopic]);
    await admin.disconnect();
    const clean = uniqueName('clean');
    const killed = uniqueName('killed');
    await tenantWithCalls(clean);
    await tenantWithCalls(killed);

    expect((await runRerate(clean)).code).toBe(0);
    const first = await runRerate(killed, 1);
    expect(first.signal).toBe('SIGKILL');
    const partway = (await ledger.reads.readAccount(killed))!.balance;
    // Part way: something was refunded, not everything.
    expect(partway).toBeGreaterThan(10_000_000n - BigInt(CALLS) * 200n);
    expect(partway).toBeLessThan(10_000_000n - BigInt(CALLS) * 7n);
    const resumed = await runRerate(killed);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(new RegExp(`${killed}\\s+\\d+\\s`));

    const [a, b] = [await stateOf(clean), await stateOf(killed)];
    // 1,500 calls of 2 minutes at 1.00 each, now at 0.0349 a minute: 0.07 each.
    expect(a.balance).toBe(10_000_000n - BigInt(CALLS) * 7n);
    expect(a.usages.every(([, charge, previous]) => charge === 7n && previous === 200n)).toBe(true);
    expect(a.events).toHaveLength(1);
    expect(b).toEqual(a);

    // Every re-rated call of the killed tenant is on the topic with the revision (a call
    // re-rated just before the kill may be published twice: same content).
    const total = async () => {
      const a2 = kafka.admin();
      await a2.connect();
      const offsets = await a2.fetchTopicOffsets(ratedTopic);
      await a2.disconnect();
      return offsets.reduce((sum, p) => sum + Number(p.high), 0);
    };
    const messages = await consumeMessages(kafka, ratedTopic, await total());
    const ids = new Set(
      messages
        .map(
          (m) => JSON.parse(m.value!.toString()) as { id: string; tenantId: string; previousCharge: string },
        )
        .filter((r) => r.tenantId === killed && r.previousCharge === '2.00')
        .map((r) => r.id),
    );
    expect(ids.size).toBe(CALLS);
  });
});

import { join } from 'node:path';
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { reconcile } from '../../tools/chaos/reconcile';
import { chaosNames, runChaos } from '../../tools/chaos/run';
import { openLedger } from '../../src/ledger/open-ledger';
import { tenantProfiles } from '../../tools/loadgen/cdr-stream';
import { down, up } from '../../tools/stack/stack';
import { projectRoot } from '../../tools/stack/toolchain';

jest.setTimeout(240_000);

/**
 * `npm run chaos` in small: 20,000 CDRs of the load generator priced by the shipped decks,
 * the real service killed 4 times, Redis and the broker SIGKILLed and started once each, then the exact
 * reconciliation. On a stack of its own, so its restarts never meet the other fault tests'.
 */
describe('a short chaos run', () => {
  const dir = join(projectRoot, '.stack', 'fault-chaos');
  const options = { count: 20_000, kills: 4, seed: 11, tenants: 100, rate: 500, partitions: 4 };
  // Redis and the broker crash (SIGKILL) rather than stop: the graceful restarts are the
  // crash-and-replay test's.
  const faults = { redisKill: true, brokerKill: true };
  afterAll(() => down(dir));

  it('rates every usage once and reconciles to the minor unit through kills and restarts', async () => {
    const stack = await up(dir);
    const report = await runChaos({
      stack,
      ...options,
      ...faults,
      logDir: join(projectRoot, '.cache', 'fault-logs'),
    });
    expect(report.problems).toEqual([]);
    expect({
      lost: report.lost,
      doubleCharged: report.doubleCharged,
      reconciled: report.reconciled,
      kills: report.kills,
      restarts: report.restarts,
      faults: report.faults,
      unplanned: report.unplanned,
    }).toEqual({
      lost: 0,
      doubleCharged: 0,
      reconciled: true,
      kills: 4,
      restarts: { redis: 1, kafka: 1 },
      faults: { redis: 'kill', kafka: 'kill', redisFreezeSeconds: 0, freezes: 0 },
      unplanned: { exits: 0, stalls: 0 },
    });
    expect(report.rated.distinctIds).toBe(report.validIds);
    expect(report.deadLetters).toMatchObject({ distinct: report.malformed, missing: 0, unexpected: 0 });
    // The funds are sized so that some tenants run out and others do not.
    expect(report.tenants.depleted).toBeGreaterThan(0);
    expect(report.tenants.depleted).toBeLessThan(report.tenants.prepaid);
    expect(report.events.byType['credits.balance.depleted']).toBe(report.tenants.depleted);

    // The audit is not blind: a second application of one usage, and a cent gone from a
    // balance, are both found.
    const names = chaosNames(report.runId);
    const redis = new Redis(stack.redis.url);
    const ledger = openLedger(redis, { prefix: names.keyPrefix });
    const kafka = new Kafka({
      clientId: 'chaos-audit',
      brokers: stack.kafka.brokers,
      logLevel: logLevel.NOTHING,
    });
    try {
      const tenants = tenantProfiles(options);
      const prepaid = tenants.find((t) => t.mode === 'prepaid')!.tenantId;
      const [period] = Object.keys(await ledger.reads.usageTotals(prepaid));
      await redis.hincrby(ledger.keys(prepaid).totals, `${period}:credits:count`, 1);
      await redis.hincrby(ledger.keys(prepaid).account, 'balance', -1);
      const audit = await reconcile({
        kafka,
        ledger,
        topics: names.topics,
        stream: { count: options.count, options: { ...options, idPrefix: names.idPrefix } },
        tenants,
        funds: BigInt(report.funds),
        lowBalanceThreshold: BigInt(report.lowBalanceThreshold),
      });
      expect(audit).toMatchObject({ reconciled: false, doubleCharged: 1, lost: 0 });
      expect(audit.problems.filter((p) => p.startsWith(`${prepaid}:`))).toHaveLength(2);
    } finally {
      redis.disconnect();
    }
  });
});

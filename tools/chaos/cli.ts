import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { down, up } from '../stack/stack';
import { projectRoot } from '../stack/toolchain';
import { ChaosOptions, ChaosReport, runChaos } from './run';

const whole = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a whole number, got ${v}`);
  return n;
};

/** PASS or FAIL, and the figures that decide it. */
export function verdict(report: ChaosReport): { pass: boolean; text: string } {
  const pass =
    report.reconciled &&
    report.kills === report.killsPlanned &&
    report.unplanned.stalls === 0 &&
    report.faults.freezes === (report.faults.redisFreezeSeconds > 0 ? 1 : 0);
  const money = Object.entries(report.money)
    .map(
      ([currency, m]) =>
        `${currency}: debited ${m.debited} = rated ${m.ratedCredits} = from lots ${m.drawnFromLots} + debt ${m.intoDebt}; owed ${m.owed}`,
    )
    .join('; ');
  const lines = [
    `${pass ? 'PASS' : 'FAIL'}: ${report.inputs} CDRs in ${report.durationSeconds} s, ${report.kills} of ${report.killsPlanned} kills, ` +
      (report.failover
        ? `Redis Cluster master ${report.failover.killed} SIGKILLed ${report.restarts.redis}x ` +
          `(${report.failover.promoted} promoted in ${report.failover.promotedMs} ms, the killed node back as a replica in ${report.failover.rejoinedMs} ms), `
        : `Redis ${report.faults.redis === 'kill' ? 'killed' : 'restarted'} ${report.restarts.redis}x, `) +
      `broker ${report.faults.kafka === 'kill' ? 'killed' : 'restarted'} ${report.restarts.kafka}x` +
      (report.faults.redisFreezeSeconds > 0
        ? `, Redis frozen ${report.faults.freezes}x for ${report.faults.redisFreezeSeconds} s`
        : ''),
    `  lost ${report.lost}, double-charged ${report.doubleCharged}, reconciled ${report.reconciled}`,
    `  rated records ${report.rated.records} for ${report.rated.distinctIds} ids (${report.validIds} valid inputs, ` +
      `${report.repeats} repeats); flagged x-duplicate ${report.rated.flaggedDuplicate} ` +
      `(${report.rated.onlyFlaggedDuplicate} ids only so), replayed ${report.rated.replayed}`,
    `  dead letters ${report.deadLetters.distinct} of ${report.malformed} malformed (missing ${report.deadLetters.missing}, unexpected ${report.deadLetters.unexpected})`,
    `  events ${report.events.distinct} distinct, ${report.events.redelivered} redelivered; tenants depleted ${report.tenants.depleted} of ${report.tenants.prepaid} prepaid, below the low threshold ${report.tenants.belowLowThreshold}`,
    `  ${money}`,
    `  unplanned rater restarts: ${report.unplanned.exits} exits, ${report.unplanned.stalls} stalls`,
    ...report.problems.slice(0, 20).map((p) => `  problem: ${p}`),
  ];
  return { pass, text: lines.join('\n') };
}

const program = new Command('chaos')
  .description(
    'a long crash-and-replay run on a local stack of its own: SIGKILLs and restarts of the rater, one Redis and one broker restart, then a reconciliation (docs/development.md)',
  )
  .option('--count <n>', 'CDRs to generate', whole, 1_000_000)
  .option('--kills <n>', 'SIGKILLs of the rater', whole, 50)
  .option('--seed <n>', 'seed of the stream and of the kill moments', whole, 1)
  .option('--tenants <n>', 'tenants, drawn by Zipf', whole, 1000)
  .option('--rate <n>', 'CDRs a second offered to the usage topic', whole, 2500)
  .option('--partitions <n>', 'partitions of the topics', whole, 6)
  .option('--redis-kill', 'the Redis restart is a SIGKILL (a crash), then a start on the same data')
  .option('--broker-kill', 'the broker restart is a SIGKILL (a crash), then a start on the same data')
  .option(
    '--redis-cluster',
    'the ledger on a Redis Cluster (3 masters, a replica each); the Redis fault is a master SIGKILLed and failed over',
  )
  .option('--redis-freeze <seconds>', 'also SIGSTOP Redis for this long once, mid-run', whole)
  .option('--dir <path>', 'stack directory', join(projectRoot, '.stack', 'chaos'))
  .option('--out <file>', 'report file', join(projectRoot, 'bench-results', 'chaos.json'))
  .action(
    async (
      o: Pick<
        ChaosOptions,
        | 'count'
        | 'kills'
        | 'seed'
        | 'tenants'
        | 'rate'
        | 'partitions'
        | 'redisKill'
        | 'brokerKill'
        | 'redisCluster'
      > & {
        redisFreeze?: number;
        dir: string;
        out: string;
      },
    ) => {
      const dir = resolve(o.dir);
      const log = (line: string) =>
        console.error(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}`);
      let report: ChaosReport;
      const abort = new AbortController();
      const stop = () => abort.abort(new Error('interrupted'));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await down(dir);
        log(`starting the stack in ${dir}`);
        const stack = await up(dir, { redisCluster: o.redisCluster === true });
        report = await runChaos({
          stack,
          count: o.count,
          kills: o.kills,
          seed: o.seed,
          tenants: o.tenants,
          rate: o.rate,
          partitions: o.partitions,
          redisKill: o.redisKill === true,
          brokerKill: o.brokerKill === true,
          redisCluster: o.redisCluster === true,
          redisFreezeSeconds: o.redisFreeze ?? 0,
          logDir: join(projectRoot, '.cache', 'chaos-logs'),
          log,
          signal: abort.signal,
        });
      } finally {
        log('stopping the stack');
        await down(dir);
      }
      mkdirSync(resolve(o.out, '..'), { recursive: true });
      writeFileSync(resolve(o.out), `${JSON.stringify(report, null, 2)}\n`);
      const result = verdict(report);
      console.log(result.text);
      console.log(`report: ${resolve(o.out)}`);
      process.exitCode = result.pass ? 0 : 1;
    },
  );

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});

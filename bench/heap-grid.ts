/**
 * npm run bench:heap-grid: the rater's node options compared on one stack, rater only. For
 * each round and each option set (interleaved, so that the machine's load falls on all of
 * them alike) a fresh backlog of the same stream under new ids is written to a topic of its
 * own and drained by `node dist/cli.js serve` with those options and `--trace-gc`: peak RSS,
 * CPU per CDR of the rater and Redis, the scavenges and mark-compacts and their pauses.
 * By default: the 256 MB cap alone and with semi-spaces of 2 to 16 MB, the shipped options, none.
 * BENCH_GRID_COUNT sets the backlog (default 30,000), BENCH_GRID_ROUNDS the rounds (2),
 * BENCH_GRID_OPTIONS the option sets (`;`-separated; `none` for no options): the heap sizes go
 * in NODE_OPTIONS, any other V8 option (which NODE_OPTIONS refuses, e.g. `--heap-growing-percent`)
 * on node's command line; `NAME=value` sets the rater's environment (e.g. `MALLOC_ARENA_MAX=2`).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { down, up } from '../tools/stack/stack';
import { projectRoot } from '../tools/stack/toolchain';
import { applyAppendfsync } from './durability';
import { drainBacklog, Drained } from './e2e-drain';
import { DURABILITY, openBench, PARTITIONS, RUN, STREAM, topics } from './e2e-setup';
import { onInterrupt } from './interrupt';
import { sleep } from './measure';
import { buildService, Rater, raterNodeOptionsText, SHIPPED_NODE, stopRater } from './rater-run';
import { cdrStream } from '../tools/loadgen/cdr-stream';
import { provisionTenants } from '../tools/loadgen/tenants';
import { writeStream } from '../tools/loadgen/writer';
import { openLedger } from '../src/ledger/open-ledger';

const COUNT = Number(process.env.BENCH_GRID_COUNT ?? 30_000);
const ROUNDS = Number(process.env.BENCH_GRID_ROUNDS ?? 2);
const CAP = '--max-old-space-size=256';
const OPTIONS = (
  process.env.BENCH_GRID_OPTIONS ??
  [
    CAP,
    ...[2, 4, 8, 16].map((mb) => `${CAP} --max-semi-space-size=${mb}`),
    [
      SHIPPED_NODE.options,
      ...SHIPPED_NODE.args,
      ...Object.entries(SHIPPED_NODE.env).map(([n, v]) => `${n}=${v}`),
    ].join(' '),
    'none',
  ].join(';')
)
  .split(';')
  .map((o) => (o.trim() === 'none' ? '' : o.trim()));

interface GcCounts {
  scavenges: number;
  scavengeMs: number;
  markCompacts: number;
  markCompactMs: number;
}

/** Node takes these V8 options in NODE_OPTIONS; the others go on its command line. */
const inNodeOptions = (option: string) => /^--max-(old|semi)-space-size=/.test(option);
const isEnv = (option: string) => /^[A-Z_]+=/.test(option);
const split = (options: string) => {
  const all = options.split(' ').filter(Boolean);
  return {
    options: all.filter(inNodeOptions).join(' '),
    args: all.filter((o) => !inNodeOptions(o) && !isEnv(o)),
    env: Object.fromEntries(
      all.filter(isEnv).map((o) => [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)]),
    ),
  };
};

/** Counts `--trace-gc` lines: `... Scavenge 10.1 (12.0) -> 9.0 (13.0) MB, 1.23 / 0.00 ms ...`. */
export function gcCounts(log: string): GcCounts {
  const counts: GcCounts = { scavenges: 0, scavengeMs: 0, markCompacts: 0, markCompactMs: 0 };
  for (const line of log.split('\n')) {
    const pause = Number(/MB, ([\d.]+) \/ [\d.]+ ms/.exec(line)?.[1] ?? 0);
    if (/: Scavenge\b/.test(line)) {
      counts.scavenges += 1;
      counts.scavengeMs += pause;
    } else if (/: Mark-Compact\b/.test(line)) {
      counts.markCompacts += 1;
      // with the incremental marking steps that led to it
      counts.markCompactMs += pause + Number(/\(\+ ([\d.]+) ms in/.exec(line)?.[1] ?? 0);
    }
  }
  return {
    ...counts,
    scavengeMs: Math.round(counts.scavengeMs),
    markCompactMs: Math.round(counts.markCompactMs),
  };
}

interface Row extends GcCounts {
  round: number;
  nodeOptions: string;
  rssMB: number;
  raterUs: number;
  redisUs: number;
  brokerUs: number;
  cdrsPerSecond: number;
}

function summary(rows: Row[]): void {
  console.log(
    '\nnode options | rounds: peak RSS MB | rater us/CDR | Redis us/CDR | scavenges (ms) | mark-compacts (ms)',
  );
  for (const nodeOptions of OPTIONS) {
    const mine = rows.filter((r) => r.nodeOptions === nodeOptions);
    const list = (f: (r: Row) => string | number) => mine.map(f).join(', ');
    console.log(
      `${nodeOptions || '(none)'} | ${list((r) => r.rssMB)} | ${list((r) => r.raterUs)} | ${list((r) => r.redisUs)} | ` +
        `${list((r) => `${r.scavenges} (${r.scavengeMs})`)} | ${list((r) => `${r.markCompacts} (${r.markCompactMs})`)}`,
    );
  }
}

async function main(): Promise<void> {
  buildService();
  const stackDir = join(projectRoot, '.stack', 'heap-grid');
  const outDir = join(projectRoot, 'bench-results', 'heap-grid');
  mkdirSync(outDir, { recursive: true });
  let rater: Rater | undefined;
  const stopAll = async () => {
    if (rater) await stopRater(rater);
    await down(stackDir);
  };
  const cleanUp = onInterrupt(stopAll);
  try {
    const b = await openBench(await up(stackDir));
    await applyAppendfsync(b.redis, DURABILITY.appendfsync);
    await b.admin.connect();
    await b.producer.connect();
    await b.admin.createTopics({
      topics: [topics.ratedOut, topics.eventsOut, topics.deadLetter].map((topic) => ({
        topic,
        numPartitions: PARTITIONS,
      })),
      waitForLeaders: true,
    });
    await provisionTenants(openLedger(b.redis, { prefix: `${RUN}:` }), b.book, b.tenants, 10n ** 12n);
    const rows: Row[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [i, nodeOptions] of OPTIONS.entries()) {
        const id = `${RUN}-r${round}-o${i}`;
        const usageIn = `${id}.cdr`;
        await b.admin.createTopics({
          topics: [{ topic: usageIn, numPartitions: PARTITIONS }],
          waitForLeaders: true,
        });
        await writeStream(cdrStream(COUNT, { ...STREAM, idPrefix: `${id}-` }), {
          producer: b.producer,
          topic: usageIn,
        });
        const logFile = join(outDir, `${id}.log`);
        process.env.BENCH_RATER_NODE_ARGS = '--trace-gc';
        process.env.BENCH_RATER_LOG = logFile;
        console.log(`round ${round}: ${COUNT.toLocaleString('en')} CDRs, NODE_OPTIONS='${nodeOptions}'`);
        const drained: Drained = await drainBacklog({
          stack: b.stack,
          admin: b.admin,
          redis: b.redis,
          processes: b.processes.filter((p) => p.name === 'kafka' || p.name === 'redis'),
          redisCluster: false,
          topics: { ...topics, usageIn },
          groupId: `${id}-rater`,
          keyPrefix: `${RUN}:`,
          count: COUNT,
          waitReplicas: DURABILITY.waitReplicas,
          node: split(nodeOptions),
          started: (r) => (rater = r),
        });
        await stopRater(drained.rater);
        rater = undefined;
        await sleep(500); // the log's last writes
        const row: Row = {
          round,
          nodeOptions,
          rssMB: drained.rssMB,
          raterUs: drained.cpuUsPerCdr.rater,
          redisUs: drained.cpuUsPerCdr.redis,
          brokerUs: drained.cpuUsPerCdr.broker,
          cdrsPerSecond: Math.round(drained.cdrsPerSecond),
          ...gcCounts(readFileSync(logFile, 'utf8')),
        };
        console.log(JSON.stringify(row));
        rows.push(row);
      }
    }
    writeFileSync(
      join(outDir, 'grid.json'),
      `${JSON.stringify({ count: COUNT, shipped: raterNodeOptionsText(), rows }, null, 2)}\n`,
    );
    summary(rows);
    await b.producer.disconnect().catch(() => {});
    await b.admin.disconnect().catch(() => {});
    b.redis.disconnect();
  } finally {
    await stopAll().catch((error: unknown) => console.error(error));
    cleanUp();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

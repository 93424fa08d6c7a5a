/**
 * npm run bench:scale: how cost grows with tenants, usage ids and prefixes, in one run.
 *
 * 1. tenantCurve (bench/scale-tenants.ts): at each tenant count, the rater (built and run as
 *    in production) drains the same number of CDRs; CPU per CDR of rater + broker + Redis,
 *    then, with no input, the Redis commands a second the idle rater causes.
 * 2. idempotencyBytesPerId (bench/scale-ids.ts): Redis memory per usage id kept, at millions
 *    of ids applied through the ledger's API.
 * 3. ratingCurve (bench/scale-rating.ts): calls rated a second on one core, lookups a second
 *    and the deck's heap, by deck size.
 *
 * Writes bench-results/scale.json and bench-results/scale.svg and prints the goals and
 * verdicts. Flags run a subset: --tenants 1000,10000 --ids 1000000 --prefixes 1000
 * --cdrs 100000 --skip-tenants --skip-ids --skip-rating (and --out NAME for other file names).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../tools/stack/toolchain';
import { renderVegaLite, VegaLiteSpec } from './chart';
import { seconds } from './measure';
import { idempotencyCurve, IdsPoint } from './scale-ids';
import { RatingPoint, ratingCurve } from './scale-rating';
import { tenantCurve, TenantPoint } from './scale-tenants';

const GOAL_CPU_GROWTH = 0.1;
/** Idle load within 10% of the smallest point's, or within this many commands a second. */
const GOAL_IDLE_GROWTH = 0.1;
const GOAL_IDLE_BAND = 20;
const GOAL_BYTES_PER_ID = 100;

const { values: flags } = parseArgs({
  options: {
    tenants: { type: 'string', default: '1000,10000,100000,1000000' },
    cdrs: { type: 'string', default: '100000' },
    ids: { type: 'string', default: '1000000,10000000' },
    prefixes: { type: 'string', default: '1000,100000,1000000' },
    'skip-tenants': { type: 'boolean', default: false },
    'skip-ids': { type: 'boolean', default: false },
    'skip-rating': { type: 'boolean', default: false },
    /** The files' name in bench-results (two subsets run side by side write apart). */
    out: { type: 'string', default: 'scale' },
  },
});
const list = (text: string) => text.split(',').map((n) => Number(n.replace(/_/g, '')));

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  const tenants = flags['skip-tenants'] ? [] : await tenantCurve(list(flags.tenants), Number(flags.cdrs));
  const ids = flags['skip-ids'] ? [] : await idempotencyCurve(list(flags.ids));
  const rating = flags['skip-rating'] ? [] : ratingCurve(list(flags.prefixes));
  const result = {
    tenantCurve: tenants,
    idempotencyBytesPerId: Object.fromEntries(ids.map((p) => [p.ids, p.bytesPerId])),
    idempotency: ids,
    ratingCurve: rating,
    minutes: Math.round(seconds(started) / 6) / 10,
    cores: cpus().length,
    node: process.version,
  };
  const out = join(projectRoot, 'bench-results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `${flags.out}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(out, `${flags.out}.svg`), await drawScaleChart(tenants, ids, rating));
  printTable(tenants, ids, rating);
  console.log(`took ${result.minutes} minutes; wrote bench-results/${flags.out}.json and .svg`);
}

const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');

function printTable(tenants: TenantPoint[], ids: IdsPoint[], rating: RatingPoint[]): void {
  const base = tenants[0];
  const rows: { measure: string; value: number; goal: string; verdict: string }[] = [];
  for (const p of tenants) {
    const against = `the ${base!.tenants.toLocaleString('en')}-tenant figure`;
    const cpuOk = p.cpuUsPerCdr <= base!.cpuUsPerCdr * (1 + GOAL_CPU_GROWTH);
    const idleBand = Math.max(base!.idleRedisCommandsPerSecond * GOAL_IDLE_GROWTH, GOAL_IDLE_BAND);
    const idleOk = Math.abs(p.idleRedisCommandsPerSecond - base!.idleRedisCommandsPerSecond) <= idleBand;
    rows.push(
      {
        measure: `${p.tenants.toLocaleString('en')} tenants: CPU per CDR (us)`,
        value: p.cpuUsPerCdr,
        goal: p === base ? 'baseline' : `within 10% of ${against}`,
        verdict: p === base ? '' : verdict(cpuOk),
      },
      {
        measure: `${p.tenants.toLocaleString('en')} tenants: idle Redis commands/s`,
        value: p.idleRedisCommandsPerSecond,
        goal: p === base ? 'baseline' : `within 10% or ${GOAL_IDLE_BAND}/s of ${against}`,
        verdict: p === base ? '' : verdict(idleOk),
      },
    );
  }
  for (const p of ids)
    rows.push({
      measure: `${p.ids.toLocaleString('en')} usage ids: bytes per id`,
      value: p.bytesPerId,
      goal: `<= ${GOAL_BYTES_PER_ID}`,
      verdict: verdict(p.bytesPerId <= GOAL_BYTES_PER_ID),
    });
  for (const p of rating)
    rows.push(
      {
        measure: `${p.prefixes.toLocaleString('en')} prefixes: calls rated/s`,
        value: p.ratedPerSecond,
        goal: '',
        verdict: '',
      },
      {
        measure: `${p.prefixes.toLocaleString('en')} prefixes: deck heap (MB)`,
        value: p.heapMB,
        goal: '',
        verdict: '',
      },
    );
  console.table(rows);
  if (tenants.length > 0) {
    console.log('per tenant count: CPU us per CDR by process, idle CPU % by process, provisioning');
    console.table(
      tenants.map((p) => ({
        tenants: p.tenants,
        raterUs: p.cpuUsPerCdrByProcess.rater,
        kafkaUs: p.cpuUsPerCdrByProcess.kafka,
        redisUs: p.cpuUsPerCdrByProcess.redis,
        cdrsPerSecond: p.cdrsPerSecond,
        idleRaterPct: p.idleCpuPercent.rater,
        idleKafkaPct: p.idleCpuPercent.kafka,
        idleRedisPct: p.idleCpuPercent.redis,
        provisionSeconds: p.provisionSeconds,
        redisBytesPerTenant: p.redisBytesPerTenant,
      })),
    );
  }
  if (ids.length > 0) console.table(ids);
}

async function drawScaleChart(
  tenants: TenantPoint[],
  ids: IdsPoint[],
  rating: RatingPoint[],
): Promise<string> {
  const log = { type: 'log' as const };
  const panel = (
    title: string,
    values: object[],
    x: { field: string; title: string },
    y: { field: string; title: string },
    goal?: number,
  ) => ({
    title,
    width: 220,
    height: 180,
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: x.field, type: 'quantitative', scale: log, title: x.title },
          y: { field: y.field, type: 'quantitative', title: y.title, scale: { zero: true } },
        },
      },
      ...(goal === undefined
        ? []
        : [
            {
              data: { values: [{ goal }] },
              mark: { type: 'rule' as const, strokeDash: [4, 4], color: 'black' },
              encoding: { y: { field: 'goal', type: 'quantitative' as const } },
            },
          ]),
    ],
  });
  const base = tenants[0];
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'How cost grows with tenants, usage ids and prefixes (dashed: the goal)',
    hconcat: [
      panel(
        'CPU per CDR (rater + broker + Redis)',
        tenants,
        { field: 'tenants', title: 'tenants' },
        { field: 'cpuUsPerCdr', title: 'CPU us / CDR' },
        base && base.cpuUsPerCdr * (1 + GOAL_CPU_GROWTH),
      ),
      panel(
        'Idle Redis commands a second',
        tenants,
        { field: 'tenants', title: 'tenants' },
        { field: 'idleRedisCommandsPerSecond', title: 'commands / s' },
        base &&
          base.idleRedisCommandsPerSecond +
            Math.max(base.idleRedisCommandsPerSecond * GOAL_IDLE_GROWTH, GOAL_IDLE_BAND),
      ),
      panel(
        'Redis memory per usage id',
        ids,
        { field: 'ids', title: 'usage ids kept' },
        { field: 'bytesPerId', title: 'bytes / id' },
        GOAL_BYTES_PER_ID,
      ),
      panel(
        'Rating on one core',
        rating,
        { field: 'prefixes', title: 'deck prefixes' },
        { field: 'ratedPerSecond', title: 'calls rated / s' },
      ),
      panel(
        'Deck heap',
        rating,
        { field: 'prefixes', title: 'deck prefixes' },
        { field: 'heapMB', title: 'MB' },
      ),
    ],
  } as VegaLiteSpec;
  return renderVegaLite(spec);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

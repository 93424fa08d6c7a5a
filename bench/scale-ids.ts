/**
 * The idempotency curve of the scaling benchmark: the Redis memory a usage id costs once
 * millions of them are kept. Usages are applied through the ledger's public API
 * (`ledger.writes.applyUsage`, one tenant's batch a call, many calls in flight) on a
 * redis-server of the benchmark's own, with GUIDs for ids and calls that started over the
 * last 30 days; the points are checkpoints of one run (the ids accumulate).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import type { LedgerUsage } from '../src/credits/wallet';
import { MAX_BATCH } from '../src/ledger/ledger';
import { Ledger, openLedger } from '../src/ledger/open-ledger';
import { stopProcess } from '../tools/stack/processes';
import { startRedis } from '../tools/stack/servers';
import { onInterrupt } from './interrupt';
import { applyAll, openBenchTenants } from './ledger-paths';
import { seconds } from './measure';

const TENANTS = 10_000;
/** Usages a call: what the consumer sends for a busy tenant, within MAX_BATCH. */
const BATCH = Math.min(100, MAX_BATCH);
const DAY_MS = 86_400_000;
/** Tenants whose keys MEMORY USAGE measures, as a cross-check of the used_memory delta. */
const SAMPLED_TENANTS = 20;
/** A generous ceiling on what an id costs: the run refuses to start without this much memory free. */
const CEILING_BYTES_PER_ID = 600;

export interface IdsPoint {
  ids: number;
  /** used_memory now, less used_memory with the tenants open and no usage applied, per id. */
  bytesPerId: number;
  /** MEMORY USAGE of sampled tenants' idempotency keys (record and index), per id they hold. */
  sampledKeyBytesPerId: number;
  usedMemoryMB: number;
  idsPerSecond: number;
  /** kB of Redis swapped out (VmSwap): 0, or the figure is not one of memory. */
  redisSwapKB: number;
}

/**
 * The usage of `tenant`'s call `id` that started at `start`: the one place that knows which
 * fields a LedgerUsage has (the call's start gives its period; a field the ledger comes to
 * want from the call goes here).
 */
/** Destinations as the consumer's rated records name them (interned by the ledger once a month). */
const DESTINATIONS = [
  ['+44', 'United Kingdom'],
  ['+1212', 'United States - New York'],
  ['+4930', 'Germany - Berlin'],
  ['+33', 'France'],
] as const;

/**
 * A credit-paid usage as the consumer applies it: its rated record's own details (a
 * 12-character fingerprint, billed seconds, connection charge) and shared ones.
 */
export function usageOf(_tenant: string, id: string, start: Date, charge: bigint): LedgerUsage {
  const n = Number(charge);
  return {
    id,
    start,
    source: 'credits',
    charge,
    pool: '',
    poolSeconds: 0,
    period: start.toISOString().slice(0, 7),
    details: {
      fingerprint: id.replace(/-/g, '').slice(0, 12),
      billedSeconds: 60 * (1 + (n % 10)),
      connectionCharge: 0n,
      currency: 'USD',
      rate: { deck: 'pstn-out', version: '2026-11', prefix: DESTINATIONS[n % DESTINATIONS.length]![0] },
      destinationName: DESTINATIONS[n % DESTINATIONS.length]![1],
    },
  };
}

/** `count` usages in batches of BATCH, tenant after tenant, starting at batch number `from`. */
function* batches(from: number, count: number, now: number, onBatch: () => void) {
  for (let b = 0; b * BATCH < count; b++) {
    const tenant = `bench-${(from + b) % TENANTS}`;
    const usages = Array.from({ length: Math.min(BATCH, count - b * BATCH) }, (_, i) =>
      usageOf(tenant, randomUUID(), new Date(now - Math.random() * 30 * DAY_MS), BigInt(((b + i) % 97) + 1)),
    );
    onBatch();
    yield { tenant, usages };
  }
}

const info = async (redis: Redis, section: string, field: string) =>
  Number(new RegExp(`${field}:(\\d+)`).exec(await redis.info(section))![1]);

function memAvailableBytes(): number {
  return Number(/MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
}

function swappedKB(pid: number): number {
  return Number(/VmSwap:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

async function sampledKeyBytesPerId(redis: Redis, ledger: Ledger): Promise<number> {
  let bytes = 0;
  let ids = 0;
  for (let t = 0; t < SAMPLED_TENANTS; t++) {
    const k = ledger.keys(`bench-${t}`);
    // The tenant's idempotency keys: its day buckets, their counts and the interned strings.
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${k.applied}:*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        bytes += Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
        if (/:\d+:\d+:\d+$/.test(key)) ids += await redis.hlen(key);
      }
    } while (cursor !== '0');
  }
  return ids === 0 ? NaN : Math.round(bytes / ids);
}

export async function idempotencyCurve(points: number[]): Promise<IdsPoint[]> {
  const largest = Math.max(...points);
  const needed = largest * CEILING_BYTES_PER_ID;
  if (memAvailableBytes() < needed)
    throw new Error(
      `${largest.toLocaleString('en')} ids may need ${(needed / 2 ** 30).toFixed(1)} GiB of memory; ` +
        `${(memAvailableBytes() / 2 ** 30).toFixed(1)} GiB is available`,
    );
  const dir = mkdtempSync(join(tmpdir(), 'rater-bench-scale-'));
  const server = await startRedis(dir);
  const redis = new Redis({ host: server.host, port: server.port });
  const cleanUp = onInterrupt(async () => {
    redis.disconnect();
    await stopProcess(server.proc);
    rmSync(dir, { recursive: true, force: true });
  });
  const results: IdsPoint[] = [];
  try {
    // Memory is the figure: no maxmemory (none is set), and no append-only file, whose
    // rewrites would fork a copy of gigabytes of data and write it to disk.
    await redis.config('SET', 'appendonly', 'no');
    const ledger = openLedger(redis);
    await openBenchTenants(ledger, TENANTS);
    const baseline = await info(redis, 'memory', 'used_memory');
    const now = Date.now();
    let applied = 0;
    for (const target of [...points].sort((a, b) => a - b)) {
      const count = target - applied;
      let sent = 0;
      let lastReport = process.hrtime.bigint();
      const started = process.hrtime.bigint();
      const progress = () => {
        sent += BATCH;
        if (seconds(lastReport) < 10) return;
        lastReport = process.hrtime.bigint();
        const rate = Math.round(sent / seconds(started));
        console.log(
          `[ids] ${(applied + sent).toLocaleString('en')} of ${target.toLocaleString('en')} (${rate}/s)`,
        );
      };
      const took = await applyAll(ledger, batches(Math.floor(applied / BATCH), count, now, progress));
      applied = target;
      const used = await info(redis, 'memory', 'used_memory');
      results.push({
        ids: target,
        bytesPerId: Math.round((used - baseline) / target),
        sampledKeyBytesPerId: await sampledKeyBytesPerId(redis, ledger),
        usedMemoryMB: Math.round(used / 2 ** 20),
        idsPerSecond: Math.round(count / took),
        redisSwapKB: swappedKB(server.proc.pid),
      });
      console.log(`[ids] ${target.toLocaleString('en')} ids: ${results.at(-1)!.bytesPerId} bytes an id`);
    }
  } finally {
    redis.disconnect();
    await stopProcess(server.proc);
    rmSync(dir, { recursive: true, force: true });
    cleanUp();
  }
  return results;
}

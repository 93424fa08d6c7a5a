/**
 * The durability settings a benchmark runs with: Redis's `appendfsync` (`--appendfsync
 * always|everysec`; the stack starts Redis with `always`, as production should run it) and
 * the replicas the rater waits for (`--wait-replicas N`, REDIS_WAIT_REPLICAS; with
 * `--redis-cluster`, whose masters have a replica each).
 */
import type { Cluster, Redis } from 'ioredis';
import { once } from 'node:events';

export const APPENDFSYNC = ['always', 'everysec'] as const;
export type Appendfsync = (typeof APPENDFSYNC)[number];

export interface Durability {
  appendfsync: Appendfsync;
  waitReplicas: number;
}

/** The value after `--name` (or `--name=value`) on the command line. */
function option(argv: string[], name: string): string | undefined {
  const at = argv.findIndex((arg) => arg === `--${name}` || arg.startsWith(`--${name}=`));
  if (at < 0) return undefined;
  const arg = argv[at]!;
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[at + 1];
}

export function durabilityOptions(argv: string[] = process.argv): Durability {
  const appendfsync = option(argv, 'appendfsync') ?? 'always';
  if (!(APPENDFSYNC as readonly string[]).includes(appendfsync))
    throw new Error(`--appendfsync must be one of ${APPENDFSYNC.join(', ')}, not ${appendfsync}`);
  const waitReplicas = Number(option(argv, 'wait-replicas') ?? 0);
  if (!Number.isInteger(waitReplicas) || waitReplicas < 0)
    throw new Error('--wait-replicas must be a whole number of replicas');
  return { appendfsync: appendfsync as Appendfsync, waitReplicas };
}

/**
 * Sets `appendfsync` on the ledger's Redis (every node of a cluster, replicas too) and returns
 * what the nodes say they run with, read back.
 */
export async function applyAppendfsync(redis: Redis | Cluster, mode: Appendfsync): Promise<string> {
  // A Cluster client knows its nodes once it has the slot map.
  if (redis.isCluster && redis.status !== 'ready') await once(redis, 'ready');
  const nodes: Redis[] = redis.isCluster ? (redis as Cluster).nodes('all') : [redis as Redis];
  const modes = await Promise.all(
    nodes.map(async (node) => {
      await node.config('SET', 'appendfsync', mode);
      const [, value] = (await node.config('GET', 'appendfsync')) as [string, string];
      return value;
    }),
  );
  return [...new Set(modes)].join(', ');
}

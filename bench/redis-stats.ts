/**
 * Redis's own account of its work (INFO commandstats): calls and CPU microseconds by command,
 * summed over the masters of a cluster. Two snapshots give what a phase of a benchmark cost.
 */
import type { Cluster, Redis } from 'ioredis';

export type CommandStats = Map<string, { calls: number; usec: number }>;

function parse(info: string, into: CommandStats): void {
  for (const line of info.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (!m) continue;
    const entry = into.get(m[1]!) ?? { calls: 0, usec: 0 };
    entry.calls += Number(m[2]);
    entry.usec += Number(m[3]);
    into.set(m[1]!, entry);
  }
}

export async function commandStats(redis: Redis | Cluster): Promise<CommandStats> {
  const stats: CommandStats = new Map();
  const nodes = 'nodes' in redis && typeof redis.nodes === 'function' ? redis.nodes('master') : [redis];
  for (const node of nodes) parse(await (node as Redis).info('commandstats'), stats);
  return stats;
}

/**
 * What happened between two snapshots, per `per` units of work (a CDR): calls and CPU µs by
 * command, the costliest first. Commands a Lua script runs are counted under their own names
 * as well as under the script's (EVALSHA's time includes them).
 */
export function statsDelta(
  before: CommandStats,
  after: CommandStats,
  per: number,
): { command: string; callsPer: number; usecPer: number; usecPerCall: number }[] {
  const rows = [];
  for (const [command, a] of after) {
    const b = before.get(command) ?? { calls: 0, usec: 0 };
    const calls = a.calls - b.calls;
    if (calls <= 0) continue;
    const usec = a.usec - b.usec;
    rows.push({
      command,
      callsPer: Number((calls / per).toFixed(3)),
      usecPer: Number((usec / per).toFixed(2)),
      usecPerCall: Number((usec / calls).toFixed(2)),
    });
  }
  return rows.sort((x, y) => y.usecPer - x.usecPer);
}

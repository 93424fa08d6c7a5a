/** Failing the stack's Redis Cluster over: a master SIGKILLed, its replica promoted, the node back. */
import { isRunning, killProcess, startDaemon, waitUntil } from './processes';
import {
  clusterTopology,
  refreshRoles,
  requireCluster,
  waitForClusterHealthy,
  writeCluster,
  type ClusterNode,
  type RedisClusterInfo,
} from './redis-cluster';

/**
 * SIGKILLs a master (a crash: no shutdown, no last write), by default the last one of the
 * start order that is a master now, or the one on `port`; returns it as it was.
 */
export async function killMaster(
  dir: string,
  options: { port?: number; except?: number[] } = {},
): Promise<ClusterNode> {
  const info = await refreshRoles(requireCluster(dir));
  const masters = info.nodes.filter((n) => n.role === 'master' && (n.slots?.length ?? 0) > 0);
  const victim =
    options.port !== undefined
      ? masters.find((n) => n.port === options.port)
      : masters.filter((n) => !(options.except ?? []).includes(n.port)).at(-1);
  if (!victim) throw new Error(`no master to kill${options.port ? ` on port ${options.port}` : ''}`);
  await killProcess(info.processes.find((p) => p.name === victim.name)!);
  return victim;
}

/**
 * Waits until the slots `killed` served have a master that runs: its replica, promoted.
 * Returns the promoted node and how long that took from now.
 */
export async function waitForFailover(
  dir: string,
  killed: ClusterNode,
  timeoutMs = 30_000,
): Promise<{ promoted: ClusterNode; waitedMs: number }> {
  const started = Date.now();
  const info = requireCluster(dir);
  const alive = () => ({ ...info, nodes: info.nodes.filter((n) => n.name !== killed.name) });
  let promoted: ClusterNode | undefined;
  await waitUntil(
    'failover',
    async () => {
      const nodes = await clusterTopology(alive());
      promoted = nodes.find(
        (n) =>
          n.role === 'master' &&
          n.name !== killed.name &&
          (n.slots ?? []).join() === (killed.slots ?? []).join(),
      );
      return promoted !== undefined;
    },
    { timeoutMs },
  );
  await refreshRoles({ ...info, nodes: info.nodes }).catch(() => info);
  return { promoted: promoted!, waitedMs: Date.now() - started };
}

/**
 * Starts a stopped node again, the same way (same port, same nodes.conf and data); a master
 * that was failed over rejoins as a replica of the promoted one. Waits for the cluster to be
 * healthy again: all slots covered, every master with its replica in sync.
 */
export async function startClusterNode(dir: string, name: string): Promise<RedisClusterInfo> {
  const info = requireCluster(dir);
  const index = info.processes.findIndex((p) => p.name === name);
  const old = info.processes[index];
  if (!old) throw new Error(`the Redis Cluster has no node ${name}`);
  if (!isRunning(old)) {
    info.processes[index] = startDaemon(old.name, old.command, old.args, {
      cwd: old.cwd,
      log: old.log,
      marker: old.marker,
    });
    writeCluster(info);
  }
  return waitForClusterHealthy(dir);
}

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, isRunning, ManagedProcess, startDaemon, stopProcess, waitUntil } from './processes';
import { redisServer } from './toolchain';
import { RedisLogin, withNode } from './servers';

/**
 * A real Redis Cluster on loopback: masters, one replica each, and what a test or a tool
 * needs to fail one over (SIGKILL a master, wait for its replica to take over, start the
 * killed node again: it rejoins as a replica of the promoted one).
 *
 * Its state file is `<dir>/cluster.json`: the nodes with their roles (refreshed by every
 * operation here) and the processes, so `stack down` stops exactly them.
 */
export interface ClusterNode {
  /** `redis-cluster-<n>`: the name of its process and of its folder. */
  name: string;
  host: string;
  port: number;
  role: 'master' | 'replica';
  /** The cluster's node id. */
  id: string;
  /** A replica's master (its node id). */
  masterId?: string;
  /** A master's slot ranges (`0-5460`). */
  slots?: string[];
  /** The cluster holds it as failed (killed, or cut off past the node timeout). */
  failed?: boolean;
}

export interface RedisClusterInfo {
  dir: string;
  replicasPerMaster: number;
  nodes: ClusterNode[];
  processes: ManagedProcess[];
  /** Present when the nodes speak only TLS and know only the ACL user (started with `security`). */
  security?: ClusterSecurity;
}

/**
 * A cluster as a managed service runs it: every node only on TLS (clients, the cluster bus and
 * replication; `port 0`), with the server certificate signed by `caFile` and a client
 * certificate signed by it required of every client (the nodes present their server
 * certificate to each other), and the default user off: clients, the stack's tools and the
 * replicas (`masteruser`) log in as the ACL user.
 */
export interface ClusterSecurity {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The client certificate and key the stack's tools present. */
  clientCertFile: string;
  clientKeyFile: string;
  username: string;
  password: string;
}

/**
 * How the stack's tools reach a node of `info`: plain, or over TLS with the client certificate
 * as the ACL user.
 */
const nodeAccess = (info: Pick<RedisClusterInfo, 'security'>): RedisLogin | undefined =>
  info.security && {
    username: info.security.username,
    password: info.security.password,
    tlsCaFile: info.security.caFile,
    tlsCertFile: info.security.clientCertFile,
    tlsKeyFile: info.security.clientKeyFile,
  };

const READY_TIMEOUT_MS = 60_000;
const SLOTS = 16_384;

/**
 * Failure detection: a master silent this long is marked failing, and a majority of masters
 * agreeing lets its replica take over (a failover takes about twice this on loopback).
 */
export const CLUSTER_NODE_TIMEOUT_MS = 2_000;

export const clusterFile = (dir: string) => join(resolve(dir), 'cluster.json');

export function readCluster(dir: string): RedisClusterInfo | undefined {
  const file = clusterFile(dir);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as RedisClusterInfo;
}

export function writeCluster(info: RedisClusterInfo): void {
  writeFileSync(clusterFile(info.dir), `${JSON.stringify(info, null, 2)}\n`);
}

export const isClusterRunning = (info: RedisClusterInfo) => info.processes.every(isRunning);

/** A node's TLS and ACL settings: TLS on `port` for clients, the bus and replication alike. */
function securityConfig(security: ClusterSecurity, port: number): string[] {
  return [
    'port 0',
    `tls-port ${port}`,
    `tls-cert-file ${security.certFile}`,
    `tls-key-file ${security.keyFile}`,
    // The CA the nodes check each other's certificate with, on the bus and on replication,
    // and every client's: a client without a certificate it signed is refused.
    `tls-ca-cert-file ${security.caFile}`,
    'tls-cluster yes',
    'tls-replication yes',
    'tls-auth-clients yes',
    'user default off',
    `user ${security.username} on >${security.password} ~* &* +@all`,
    // A replica logs in to its master as the ACL user (the default user being off).
    `masteruser ${security.username}`,
    `masterauth ${security.password}`,
  ];
}

function nodeConfig(home: string, port: number, busPort: number, security?: ClusterSecurity): string {
  return [
    ...(security ? securityConfig(security, port) : [`port ${port}`]),
    `cluster-port ${busPort}`,
    'bind 127.0.0.1',
    'protected-mode yes',
    'cluster-enabled yes',
    `cluster-config-file ${join(home, 'nodes.conf')}`,
    `cluster-node-timeout ${CLUSTER_NODE_TIMEOUT_MS}`,
    // A replica may always be promoted, however long it was cut off from its master: the
    // default factor (10) can leave a shard without a master after a long outage.
    'cluster-replica-validity-factor 0',
    // The other masters keep serving their slots while one shard fails over.
    'cluster-require-full-coverage no',
    // The killed master, started again, resyncs from the promoted one at once.
    'repl-diskless-sync yes',
    'repl-diskless-sync-delay 0',
    `dir ${home}`,
    'appendonly yes',
    'appendfsync always',
    'save ""',
    'daemonize no',
    'logfile ""',
    // The config path in the process title lets `down` recognise this server by PID.
    'proc-title-template "{title} {listen-addr} {server-mode} {config-file}"',
    '',
  ].join('\n');
}

/** `CLUSTER NODES` of one node, parsed: who is master of which slots, who replicates whom. */
export interface NodesLine {
  id: string;
  port: number;
  flags: string[];
  masterId: string;
  connected: boolean;
  slots: string[];
}

export function parseClusterNodes(text: string): NodesLine[] {
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, address, flags, masterId, , , , link, ...slots] = line.split(' ');
      return {
        id: id!,
        port: Number(address!.split('@')[0]!.split(':').pop()),
        flags: flags!.split(','),
        masterId: masterId!,
        connected: link === 'connected',
        slots: slots.filter((s) => !s.startsWith('[')),
      };
    });
}

const slotCount = (ranges: string[]) =>
  ranges.reduce((sum, range) => {
    const [from, to] = range.split('-').map(Number);
    return sum + (to ?? from!) - from! + 1;
  }, 0);

/** The nodes' roles as the cluster sees them now, asked of every node that answers. */
export async function clusterTopology(info: RedisClusterInfo): Promise<ClusterNode[]> {
  let lines: NodesLine[] | undefined;
  for (const node of info.nodes) {
    try {
      lines = parseClusterNodes(
        String(await withNode(node.host, node.port, (c) => c.cluster('NODES'), nodeAccess(info))),
      );
      break;
    } catch {
      // That node is down: ask the next.
    }
  }
  if (!lines) throw new Error('no node of the Redis Cluster answers');
  return info.nodes.map((node) => {
    const line = lines!.find((l) => l.port === node.port);
    if (!line) return node;
    const master = line.flags.includes('master');
    return {
      name: node.name,
      host: node.host,
      port: node.port,
      role: master ? 'master' : 'replica',
      id: line.id,
      ...(master ? { slots: line.slots } : { masterId: line.masterId }),
      ...(line.flags.includes('fail') ? { failed: true } : {}),
    };
  });
}

/**
 * Healthy: every node runs and says `cluster_state:ok`, the masters' slots cover all 16384,
 * and every master has a replica whose link to it is up (so the next failover can happen).
 */
export async function clusterHealth(info: RedisClusterInfo, replicasPerMaster = 1): Promise<string | true> {
  const down = info.processes.filter((p) => !isRunning(p)).map((p) => p.name);
  if (down.length > 0) return `not running: ${down.join(', ')}`;
  const states = await Promise.all(
    info.nodes.map((n) =>
      withNode(n.host, n.port, async (c) => String(await c.cluster('INFO')), nodeAccess(info)),
    ),
  );
  const notOk = info.nodes.filter((_, i) => !states[i]!.includes('cluster_state:ok'));
  if (notOk.length > 0) return `cluster_state not ok on ${notOk.map((n) => n.name).join(', ')}`;
  const nodes = await clusterTopology(info);
  const masters = nodes.filter((n) => n.role === 'master' && (n.slots?.length ?? 0) > 0);
  const covered = masters.reduce((sum, m) => sum + slotCount(m.slots ?? []), 0);
  if (covered !== SLOTS) return `${covered} of ${SLOTS} slots covered`;
  for (const master of masters) {
    const replicas = nodes.filter((n) => n.role === 'replica' && n.masterId === master.id);
    const linked = await Promise.all(
      replicas.map((r) =>
        withNode(
          r.host,
          r.port,
          async (c) => String(await c.info('replication')).includes('master_link_status:up'),
          nodeAccess(info),
        ),
      ),
    );
    if (linked.filter(Boolean).length < replicasPerMaster)
      return `${master.name} has ${linked.filter(Boolean).length} replicas in sync`;
  }
  return true;
}

async function waitForHealthy(
  info: RedisClusterInfo,
  replicasPerMaster: number,
  timeoutMs = READY_TIMEOUT_MS,
) {
  let last: string | true = 'not asked yet';
  await waitUntil(
    'Redis Cluster',
    async () => {
      last = await clusterHealth(info, replicasPerMaster);
      return last === true;
    },
    { timeoutMs },
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message} (${String(last)})`);
  });
}

/** Waits until the cluster is healthy again (all slots, every master with its replica in sync). */
export async function waitForClusterHealthy(
  dir: string,
  timeoutMs = READY_TIMEOUT_MS,
): Promise<RedisClusterInfo> {
  const info = requireCluster(dir);
  await waitForHealthy(info, info.replicasPerMaster, timeoutMs);
  return refreshRoles(info);
}

export function requireCluster(dir: string): RedisClusterInfo {
  const info = readCluster(dir);
  if (!info) throw new Error(`no Redis Cluster in ${resolve(dir)}`);
  return info;
}

export async function refreshRoles(info: RedisClusterInfo): Promise<RedisClusterInfo> {
  info.nodes = await clusterTopology(info);
  writeCluster(info);
  return info;
}

/**
 * `redis-cli --cluster create` of `info`'s nodes; over TLS with the client certificate as the
 * ACL user when the cluster is secured (the password in REDISCLI_AUTH, not on the command line).
 */
function createCluster(info: RedisClusterInfo) {
  const { security } = info;
  return spawnSync(
    'redis-cli',
    [
      ...(security
        ? [
            '--tls',
            '--cacert',
            security.caFile,
            '--cert',
            security.clientCertFile,
            '--key',
            security.clientKeyFile,
            '--user',
            security.username,
          ]
        : []),
      '--cluster',
      'create',
      ...info.nodes.map((n) => `${n.host}:${n.port}`),
      '--cluster-replicas',
      String(info.replicasPerMaster),
      '--cluster-yes',
    ],
    {
      encoding: 'utf8',
      env: { ...process.env, ...(security ? { REDISCLI_AUTH: security.password } : {}) },
    },
  );
}

/**
 * Starts `masters` redis-servers and `replicasPerMaster` replicas of each, on loopback,
 * creates the cluster with `redis-cli --cluster create --cluster-replicas`, and waits until it
 * is healthy. Everything lives in `dir` (its own folder: `down` deletes it). With `security`,
 * the nodes speak only TLS and know only its user (see ClusterSecurity).
 */
export async function startRedisCluster(
  dir: string,
  options: { masters?: number; replicasPerMaster?: number; security?: ClusterSecurity } = {},
): Promise<RedisClusterInfo> {
  const masters = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 1;
  const root = resolve(dir);
  mkdirSync(root, { recursive: true });
  const info: RedisClusterInfo = {
    dir: root,
    replicasPerMaster,
    nodes: [],
    processes: [],
    ...(options.security ? { security: options.security } : {}),
  };
  try {
    for (let i = 1; i <= masters * (1 + replicasPerMaster); i++) {
      const name = `redis-cluster-${i}`;
      const home = join(root, name);
      mkdirSync(home, { recursive: true });
      const [port, busPort] = [await freePort(), await freePort()];
      const conf = join(home, 'redis.conf');
      writeFileSync(conf, nodeConfig(home, port, busPort, options.security));
      info.processes.push(
        startDaemon(name, redisServer(), [conf], { cwd: home, log: join(home, 'redis.log'), marker: conf }),
      );
      info.nodes.push({ name, host: '127.0.0.1', port, role: 'master', id: '' });
      writeCluster(info);
    }
    await Promise.all(
      info.nodes.map((n, i) =>
        waitUntil(
          'Redis Cluster node',
          () => withNode(n.host, n.port, async (c) => (await c.ping()) === 'PONG', nodeAccess(info)),
          {
            timeoutMs: READY_TIMEOUT_MS,
            proc: info.processes[i],
          },
        ),
      ),
    );
    const create = createCluster(info);
    if (create.status !== 0)
      throw new Error(`redis-cli --cluster create failed:\n${create.stdout}${create.stderr}`);
    await waitForHealthy(info, replicasPerMaster);
    return await refreshRoles(info);
  } catch (error) {
    await Promise.all(info.processes.map((proc) => stopProcess(proc)));
    throw error;
  }
}

/** Stops every node the cluster file lists, by PID, and deletes the cluster's folder. */
export async function stopRedisCluster(dir: string): Promise<void> {
  const info = readCluster(dir);
  if (info) await Promise.all(info.processes.map((proc) => stopProcess(proc)));
  rmSync(resolve(dir), { recursive: true, force: true });
}

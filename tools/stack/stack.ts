import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isRunning, killProcess, ManagedProcess, pauseProcess, startDaemon, stopProcess } from './processes';
import {
  ClusterNode,
  ClusterSecurity,
  isClusterRunning,
  readCluster,
  startRedisCluster,
  stopRedisCluster,
} from './redis-cluster';
import {
  RedisLogin,
  startKafka,
  startRedis,
  startSchemaRegistry,
  startStripeMock,
  waitForKafka,
  waitForRedis,
  waitForSchemaRegistry,
  waitForStripeMock,
} from './servers';
import { projectRoot } from './toolchain';
import { randomBytes } from 'node:crypto';
import { makeCertificates, StackCertificates } from './tls';
import Redis, { Cluster } from 'ioredis';
import { connectRedis, RedisTarget } from '../../src/ledger/redis-connection';

/** Connection details of a running local stack: the one file tests and the demo read. */
export interface StackInfo {
  dir: string;
  startedAt: string;
  kafka: { brokers: string[] };
  redis: { host: string; port: number; url: string };
  schemaRegistry: { url: string };
  /** stripe-mock: Stripe's API mock, for the Stripe payment gateway. */
  stripe: { url: string };
  /**
   * Present when started with `redisCluster`: 3 masters with a replica each, their roles as
   * started (`<dir>` holds its state file, with the roles now and the nodes' PIDs). With
   * `secured` too, `tls`: the nodes speak only TLS and know only the secured user.
   */
  redisCluster?: { dir: string; nodes: ClusterNode[]; tls?: boolean };
  /** Present when started with `secured`: how a client reaches the servers as a managed service. */
  secured?: SecuredEndpoints;
  processes: ManagedProcess[];
}

/**
 * The stack as a managed service is reached: Kafka's SASL_SSL listener (SCRAM-SHA-256,
 * SCRAM-SHA-512 and PLAIN know the user), Redis over TLS as an ACL user (the default user is
 * off, on the plain port too), certificates signed by the stack's own CA; both require a client
 * certificate it signed (mutual TLS).
 */
export interface SecuredEndpoints {
  /** PEM of the CA that signed the servers' certificate and the client certificate. */
  caFile: string;
  /** PEM of the client certificate and its key, which the TLS listeners require. */
  clientCertFile: string;
  clientKeyFile: string;
  username: string;
  password: string;
  kafka: { brokers: string[] };
  redis: { url: string };
}

export interface StackOptions {
  /**
   * Also start a Redis Cluster of 3 masters with a replica each; with `secured`, on TLS only
   * (clients, cluster bus, replication) with the default user off and the secured user's ACL.
   */
  redisCluster?: boolean;
  /** Kafka with a SASL_SSL listener and Redis with TLS and ACL (`secured` in stack.json). */
  secured?: boolean;
}

export type ServiceName = 'kafka' | 'redis' | 'schema-registry' | 'stripe-mock';

export function defaultStackDir(): string {
  return resolve(process.env.RATER_STACK_DIR ?? join(projectRoot, '.stack', 'default'));
}

export const stackFile = (dir: string) => join(resolve(dir), 'stack.json');

export function readStack(dir = defaultStackDir()): StackInfo | undefined {
  const file = stackFile(dir);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as StackInfo;
}

/** A key stripe-mock accepts (any `sk_test_` key): never a real one. */
export const STRIPE_MOCK_API_KEY = 'sk_test_stripemock';

/** The service's payment settings for Stripe on this stack's stripe-mock (or a proxy in front). */
export function stripeEnv(info: StackInfo, apiBase = info.stripe.url): Record<string, string> {
  return { PAYMENT_GATEWAY: 'stripe', STRIPE_API_KEY: STRIPE_MOCK_API_KEY, STRIPE_API_BASE: apiBase };
}

/** How the service and the tools reach the stack's Redis: the one server, or the cluster. */
export interface RedisMode {
  redisCluster?: boolean;
}

/**
 * The ledger's Redis of this stack: its server, or with `redisCluster` the cluster, seeded by
 * its first node (the failover tools never kill that one, so a rater started during a
 * failover still finds the cluster).
 */
export function stackRedisTarget(info: StackInfo, mode: RedisMode = {}): RedisTarget {
  if (!mode.redisCluster) return { url: info.redis.url, cluster: false };
  const seed = info.redisCluster?.nodes[0];
  if (!seed) throw new Error(`the stack in ${info.dir} has no Redis Cluster: start it with --redis-cluster`);
  if (!info.redisCluster?.tls) return { url: `redis://${seed.host}:${seed.port}`, cluster: true };
  const secured = info.secured!;
  return {
    url: `rediss://${seed.host}:${seed.port}`,
    cluster: true,
    username: secured.username,
    password: secured.password,
    tlsCa: readFileSync(secured.caFile, 'utf8'),
    tlsCert: readFileSync(secured.clientCertFile, 'utf8'),
    tlsKey: readFileSync(secured.clientKeyFile, 'utf8'),
  };
}

/** The seed node a cluster-mode client starts from (never killed by the failover tools). */
export const clusterSeedPort = (info: StackInfo) => info.redisCluster?.nodes[0]?.port;

/** A client of the stack's ledger Redis, set up as the service sets up its own. */
export function stackRedis(
  info: StackInfo,
  mode: RedisMode & { maxRetriesPerRequest?: number } = {},
): Redis | Cluster {
  return connectRedis(stackRedisTarget(info, mode), { maxRetriesPerRequest: mode.maxRetriesPerRequest });
}

/** The environment variables the service's configuration reads, pointing at this stack. */
export function stackEnv(info: StackInfo, mode: RedisMode = {}): Record<string, string> {
  const redis = stackRedisTarget(info, mode);
  return {
    KAFKA_BROKERS: info.kafka.brokers.join(','),
    REDIS_URL: redis.url,
    ...(redis.cluster ? { REDIS_CLUSTER: 'true' } : {}),
    SCHEMA_REGISTRY_URL: info.schemaRegistry.url,
  };
}

/**
 * The service's settings for a secured stack: SASL_SSL with SCRAM-SHA-512, Redis over TLS as
 * the ACL user, both with the stack's client certificate; with `redisCluster`, the TLS cluster
 * (seeded by its first node).
 */
export function securedStackEnv(info: StackInfo, mode: RedisMode = {}): Record<string, string> {
  const secured = info.secured;
  if (!secured) throw new Error(`the stack in ${info.dir} is not secured: start it with --secured`);
  if (mode.redisCluster && !info.redisCluster?.tls)
    throw new Error(
      `the stack in ${info.dir} has no TLS Redis Cluster: start it with --secured --redis-cluster`,
    );
  const cluster: Record<string, string> = mode.redisCluster
    ? { REDIS_URL: stackRedisTarget(info, mode).url, REDIS_CLUSTER: 'true' }
    : {};
  return {
    KAFKA_BROKERS: secured.kafka.brokers.join(','),
    KAFKA_SSL: 'true',
    KAFKA_SSL_CA_FILE: secured.caFile,
    KAFKA_SSL_CERT_FILE: secured.clientCertFile,
    KAFKA_SSL_KEY_FILE: secured.clientKeyFile,
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: secured.username,
    KAFKA_SASL_PASSWORD: secured.password,
    REDIS_URL: secured.redis.url,
    REDIS_TLS_CA_FILE: secured.caFile,
    REDIS_TLS_CERT_FILE: secured.clientCertFile,
    REDIS_TLS_KEY_FILE: secured.clientKeyFile,
    REDIS_USERNAME: secured.username,
    REDIS_PASSWORD: secured.password,
    ...cluster,
    SCHEMA_REGISTRY_URL: info.schemaRegistry.url,
  };
}

/** The ACL user of a secured stack's Redis, for the stack's own probes. */
const redisLogin = (info: StackInfo) =>
  info.secured ? { username: info.secured.username, password: info.secured.password } : undefined;

/** Every process of the stack, the cluster's nodes as they run now included. */
export function stackProcesses(info: StackInfo): ManagedProcess[] {
  const cluster = info.redisCluster ? readCluster(info.redisCluster.dir) : undefined;
  return [...info.processes, ...(cluster?.processes ?? [])];
}

export function isStackRunning(info: StackInfo): boolean {
  // A stack started before stripe-mock joined it is started afresh, and so is one whose
  // cluster has no replicas (started before they joined it).
  if (info.stripe === undefined || !info.processes.every(isRunning)) return false;
  if (!info.redisCluster) return true;
  const cluster = readCluster(info.redisCluster.dir);
  return cluster !== undefined && cluster.replicasPerMaster > 0 && isClusterRunning(cluster);
}

const clusterSecurity = (s: StackCertificates & RedisLogin): ClusterSecurity => ({
  caFile: s.caFile,
  certFile: s.certFile,
  keyFile: s.keyFile,
  clientCertFile: s.clientCertFile,
  clientKeyFile: s.clientKeyFile,
  username: s.username,
  password: s.password,
});

/**
 * Starts Kafka, Redis and the schema registry in parallel, or returns the stack already
 * running in `dir`. A half-dead stack is stopped and started afresh.
 */
export async function up(stackDir = defaultStackDir(), options: StackOptions = {}): Promise<StackInfo> {
  const dir = resolve(stackDir);
  const existing = readStack(dir);
  if (
    existing &&
    isStackRunning(existing) &&
    (!options.redisCluster || (existing.redisCluster && (!options.secured || existing.redisCluster.tls))) &&
    // A secured stack made before it required client certificates is started afresh.
    (!options.secured || existing.secured?.clientCertFile !== undefined)
  )
    return existing;
  if (existing) await down(dir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });

  const certificates = options.secured ? makeCertificates(join(dir, 'tls')) : undefined;
  const security = certificates && {
    ...certificates,
    username: 'rater',
    password: randomBytes(12).toString('hex'),
  };
  const clusterDir = join(dir, 'redis-cluster');
  const [started, clusterStarted] = await Promise.all([
    Promise.allSettled([
      startKafka(dir, security),
      startRedis(dir, security),
      startSchemaRegistry(dir),
      startStripeMock(dir),
    ]),
    // The cluster starts beside the others (it stops its own nodes when it fails).
    options.redisCluster
      ? startRedisCluster(clusterDir, security ? { security: clusterSecurity(security) } : {}).then(
          (value) => ({ status: 'fulfilled' as const, value }),
          (reason: unknown) => ({ status: 'rejected' as const, reason }),
        )
      : undefined,
  ]);
  const failures = [...started, ...(clusterStarted ? [clusterStarted] : [])].filter(
    (r): r is PromiseRejectedResult => r.status === 'rejected',
  );
  if (failures.length > 0) {
    const running = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value.proc] : []));
    await Promise.all(running.map((proc) => stopProcess(proc)));
    if (clusterStarted?.status === 'fulfilled') await stopRedisCluster(clusterDir);
    throw new Error(
      failures.map((f) => (f.reason instanceof Error ? f.reason.message : String(f.reason))).join('\n'),
    );
  }
  const [kafka, redis, registry, stripe] = started.map(
    (r) => (r as PromiseFulfilledResult<unknown>).value,
  ) as [
    Awaited<ReturnType<typeof startKafka>>,
    Awaited<ReturnType<typeof startRedis>>,
    Awaited<ReturnType<typeof startSchemaRegistry>>,
    Awaited<ReturnType<typeof startStripeMock>>,
  ];
  const cluster = clusterStarted?.status === 'fulfilled' ? clusterStarted.value : undefined;
  const info: StackInfo = {
    dir,
    startedAt: new Date().toISOString(),
    kafka: { brokers: kafka.brokers },
    redis: { host: redis.host, port: redis.port, url: `redis://${redis.host}:${redis.port}` },
    schemaRegistry: { url: registry.url },
    stripe: { url: stripe.url },
    ...(cluster
      ? {
          redisCluster: {
            dir: cluster.dir,
            nodes: cluster.nodes,
            ...(cluster.security ? { tls: true } : {}),
          },
        }
      : {}),
    ...(security
      ? {
          secured: {
            caFile: security.caFile,
            clientCertFile: security.clientCertFile,
            clientKeyFile: security.clientKeyFile,
            username: security.username,
            password: security.password,
            kafka: { brokers: kafka.securedBrokers! },
            redis: { url: `rediss://${redis.host}:${redis.tlsPort!}` },
          },
        }
      : {}),
    processes: [kafka.proc, redis.proc, registry.proc, stripe.proc],
  };
  writeFileSync(stackFile(dir), `${JSON.stringify(info, null, 2)}\n`);
  return info;
}

/**
 * Stops every process the stack started, by recorded PID, and deletes its data. A directory
 * that holds only a Redis Cluster (tools/stack/redis-cluster.ts) is stopped the same way.
 */
export async function down(stackDir = defaultStackDir()): Promise<void> {
  const dir = resolve(stackDir);
  const info = readStack(dir);
  await Promise.all([
    ...(info?.processes ?? []).map((proc) => stopProcess(proc)),
    // The stack's cluster (also when `up` stopped before writing stack.json), or a directory
    // that holds only a cluster.
    ...[info?.redisCluster?.dir ?? join(dir, 'redis-cluster'), dir]
      .filter((clusterDir) => readCluster(clusterDir))
      .map((clusterDir) => stopRedisCluster(clusterDir)),
  ]);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Stops one service and starts it again on the same port with the same data: gracefully, or
 * with `kill` by SIGKILL (a crash: Redis loses what its AOF had not yet written).
 */
export async function restart(
  service: ServiceName,
  stackDir = defaultStackDir(),
  options: { kill?: boolean } = {},
): Promise<StackInfo> {
  await stopService(service, stackDir, options);
  return startService(service, stackDir);
}

function serviceProcess(service: ServiceName, stackDir: string) {
  const dir = resolve(stackDir);
  const info = readStack(dir);
  if (!info) throw new Error(`no stack in ${dir}`);
  const index = info.processes.findIndex((p) => p.name === service);
  const proc = info.processes[index];
  if (!proc) throw new Error(`the stack has no ${service}`);
  return { dir, info, index, proc };
}

/** Stops one service and leaves it stopped (gracefully, or with `kill` by SIGKILL). */
export async function stopService(
  service: ServiceName,
  stackDir = defaultStackDir(),
  options: { kill?: boolean } = {},
): Promise<void> {
  const { proc } = serviceProcess(service, stackDir);
  await (options.kill ? killProcess(proc) : stopProcess(proc));
}

/** Starts a stopped service again, the same way (same port, same data), and waits for it. */
export async function startService(service: ServiceName, stackDir = defaultStackDir()): Promise<StackInfo> {
  const { dir, info, index, proc: old } = serviceProcess(service, stackDir);
  if (isRunning(old)) return info;
  const proc = startDaemon(old.name, old.command, old.args, {
    cwd: old.cwd,
    log: old.log,
    marker: old.marker,
  });
  if (service === 'kafka') await waitForKafka(info.kafka.brokers, proc);
  else if (service === 'redis') await waitForRedis(info.redis.host, info.redis.port, proc, redisLogin(info));
  else if (service === 'stripe-mock') await waitForStripeMock(info.stripe.url, proc);
  else await waitForSchemaRegistry(info.schemaRegistry.url, proc);
  info.processes[index] = proc;
  writeFileSync(stackFile(dir), `${JSON.stringify(info, null, 2)}\n`);
  return info;
}

/** SIGSTOP (`paused`) or SIGCONT a service: it hangs with its connections open, then resumes. */
export function pauseService(service: ServiceName, paused: boolean, stackDir = defaultStackDir()): void {
  pauseProcess(serviceProcess(service, stackDir).proc, paused);
}

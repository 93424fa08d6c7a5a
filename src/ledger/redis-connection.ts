import Redis, { Cluster, RedisOptions } from 'ioredis';
import { connect as tlsConnect } from 'node:tls';

/** Where the ledger lives: one Redis server, or one node of a Redis Cluster (REDIS_CLUSTER). */
export interface RedisTarget {
  url: string;
  cluster: boolean;
  /** An ACL user; when unset, the URL's user and password, if any. */
  username?: string;
  password?: string;
  /** With a rediss:// URL: PEM of the CA to trust (else the system's roots), a client certificate and key. */
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** The credentials and TLS options every connection of the target uses (each node's, on a Cluster). */
function connectionOptions(target: RedisTarget): RedisOptions {
  const url = new URL(target.url);
  const tls =
    url.protocol === 'rediss:'
      ? {
          ...(target.tlsCa ? { ca: target.tlsCa } : {}),
          ...(target.tlsCert ? { cert: target.tlsCert, key: target.tlsKey } : {}),
        }
      : undefined;
  return {
    username: target.username ?? (decodeURIComponent(url.username) || undefined),
    password: target.password ?? (decodeURIComponent(url.password) || undefined),
    tls,
  };
}

/**
 * A Redis that stops answering (hung, paused, a network partition) must fail calls, not
 * hold them: a call that has no answer in `commandTimeout` rejects, the consumer retries it
 * with backoff (heartbeating), and the ledger's idempotency makes a call that did run
 * harmless to repeat.
 */
const REDIS_TIMEOUTS = { commandTimeout: 5_000, connectTimeout: 5_000 };

/**
 * A master failing over, as ioredis sees it: the dead master's connection closes, and each
 * command that was on it (or is sent to its slots until the slot map changes) is sent again
 * after `retryDelayOnFailover`, with the slot map refreshed first; `CLUSTERDOWN` and
 * `TRYAGAIN` replies are retried the same way. After `maxRedirections` such rounds (about
 * 3 s, roughly a failover with a 2 s node timeout) the command fails with "Too many Cluster
 * redirections", which the ledger calls transient: the consumer waits and retries the batch,
 * and a script that did run on the old master before it died is an idempotent replay.
 */
const CLUSTER_FAILOVER = {
  retryDelayOnFailover: 200,
  retryDelayOnClusterDown: 200,
  retryDelayOnTryAgain: 100,
  maxRedirections: 16,
  slotsRefreshTimeout: 2_000,
  // Reconnecting to the seed nodes never gives up (the default's backoff, capped at 2 s).
  clusterRetryStrategy: (times: number) => Math.min(100 + times * 2, 2_000),
};

/** Connects to the ledger's Redis: a plain client, or a Cluster client seeded by one node. */
export function connectRedis(
  target: RedisTarget,
  options: { maxRetriesPerRequest?: number } = {},
): Redis | Cluster {
  const maxRetriesPerRequest = options.maxRetriesPerRequest ?? 2;
  // The commands issued in one turn of the event loop (a batch's tenants settling at once) go
  // out in one write, and Redis reads them in one read: fewer system calls on both sides. Not
  // on a Cluster: ioredis fails a pipelined command redirected (MOVED) after a failover.
  const enableAutoPipelining = true;
  if (!target.cluster)
    return new Redis(target.url, {
      maxRetriesPerRequest,
      enableAutoPipelining,
      ...REDIS_TIMEOUTS,
      ...connectionOptions(target),
    });
  const url = new URL(target.url);
  return new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], {
    ...CLUSTER_FAILOVER,
    redisOptions: {
      ...connectionOptions(target),
      maxRetriesPerRequest,
      ...REDIS_TIMEOUTS,
    },
  });
}

/**
 * How the client's first connection went: undefined once it is ready, or the first error it
 * met (a refused password, an untrusted certificate, a server that is down), whichever
 * comes first; undefined after `timeoutMs` without either. The client goes on reconnecting.
 */
export function firstConnection(redis: Redis | Cluster, timeoutMs = 10_000): Promise<Error | undefined> {
  if (redis.status === 'ready') return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', done);
      redis.off('node error', done);
      resolve(error);
    };
    const onReady = () => done();
    const timer = setTimeout(done, timeoutMs);
    redis.once('ready', onReady);
    redis.on('error', done);
    // A Cluster says why a node refused it here; its own 'error' may only say "all failed".
    redis.on('node error', done);
  });
}

/**
 * How long a TLS handshake that went through waits for the server to refuse the client's
 * certificate after all (TLS 1.3: the server checks it after the client's side is done).
 */
const CLIENT_CERTIFICATE_VERDICT_MS = 1_000;

/**
 * The TLS handshake alone, with the target's CA and client certificate, writing nothing: the
 * error it ends with, or undefined when the server holds the connection open. A server that
 * requires a client certificate refuses one it did not sign, or none, with an alert once the
 * client's side of a TLS 1.3 handshake is done; a client that writes at once (ioredis sends
 * AUTH) may see only the reset that follows ("write ECONNRESET"), one that waits sees why.
 */
function tlsHandshakeError(target: RedisTarget): Promise<Error | undefined> {
  const url = new URL(target.url);
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: url.hostname,
      port: Number(url.port || 6379),
      ...(connectionOptions(target).tls ?? {}),
    });
    let timer = setTimeout(() => done(), REDIS_TIMEOUTS.connectTimeout);
    const done = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(error);
    };
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      timer = setTimeout(() => done(), CLIENT_CERTIFICATE_VERDICT_MS);
    });
    socket.once('error', done);
    socket.once('close', () => done());
  });
}

/**
 * Why the server, or one node of a Cluster, refuses the client, asked of it (the seed node)
 * directly. A Cluster client refreshes its slot map on a throwaway connection whose errors it
 * drops, so a node certificate it does not trust reaches `firstConnection` only as "Connection
 * is closed"; a refused client certificate may reach it only as a reset. The TLS handshake on
 * its own (see tlsHandshakeError), then one plain connection with the same TLS options and
 * credentials, say why. Undefined when that connection and a PING succeed.
 */
export async function seedConnectionError(target: RedisTarget): Promise<Error | undefined> {
  const url = new URL(target.url);
  if (url.protocol === 'rediss:') {
    const refused = await tlsHandshakeError(target);
    if (refused) return refused;
  }
  const client = new Redis({
    host: url.hostname,
    port: Number(url.port || 6379),
    ...connectionOptions(target),
    ...REDIS_TIMEOUTS,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  let first: Error | undefined;
  client.on('error', (error: Error) => (first ??= error));
  try {
    await client.connect();
    await client.ping();
    return first;
  } catch (error) {
    return first ?? (error as Error);
  } finally {
    client.disconnect();
  }
}

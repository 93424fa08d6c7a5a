import Redis, { Cluster } from 'ioredis';

/** Where the ledger lives: one Redis server, or one node of a Redis Cluster (REDIS_CLUSTER). */
export interface RedisTarget {
  url: string;
  cluster: boolean;
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
    return new Redis(target.url, { maxRetriesPerRequest, enableAutoPipelining, ...REDIS_TIMEOUTS });
  const url = new URL(target.url);
  return new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], {
    ...CLUSTER_FAILOVER,
    redisOptions: {
      password: url.password || undefined,
      tls: url.protocol === 'rediss:' ? {} : undefined,
      maxRetriesPerRequest,
      ...REDIS_TIMEOUTS,
    },
  });
}

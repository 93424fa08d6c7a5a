/** What a chaos run is asked to do, and what it reports. */
import type { MinorUnits } from '../../src/credits/wallet';
import type { StackInfo } from '../stack/stack';
import type { Reconciliation } from './reconcile';

export interface ChaosOptions {
  /** A running local stack; Redis and Kafka of it are restarted during the run. */
  stack: StackInfo;
  /** CDRs to generate and send. */
  count: number;
  /** SIGKILLs of the rater, each followed by a restart. */
  kills: number;
  seed: number;
  tenants: number;
  /** Records a second offered to the usage topic, so kills land while records are in flight. */
  rate: number;
  partitions: number;
  /** Each prepaid tenant's one purchase (minor units); default: see `defaultFunds`. */
  funds?: MinorUnits;
  /** Where the raters' logs go. */
  logDir: string;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Restart a rater that made no progress for this long while records wait (ms). */
  stallMs?: number;
  /** The one Redis restart is a SIGKILL (a crash; the stack's Redis fsyncs every write, docs/operating.md). */
  redisKill?: boolean;
  /**
   * The ledger on the stack's Redis Cluster: the rater gets REDIS_CLUSTER=true and a node, and
   * the one Redis fault is a master SIGKILLed (its replica takes over), started again a few
   * seconds later (it rejoins as a replica).
   */
  redisCluster?: boolean;
  /** The one broker restart is a SIGKILL. */
  brokerKill?: boolean;
  /** Also SIGSTOP Redis once, for this many seconds, in the middle of the run. */
  redisFreezeSeconds?: number;
  /** Stops the run (the rater is killed; the caller stops the stack). */
  signal?: AbortSignal;
}

export interface ChaosReport extends Reconciliation {
  /** Names the run's topics, consumer group, Redis namespace and usage ids (`chaosNames`). */
  runId: string;
  seed: number;
  tenantCount: number;
  rate: number;
  funds: string;
  lowBalanceThreshold: string;
  killsPlanned: number;
  kills: number;
  restarts: { redis: number; kafka: number };
  /**
   * How Redis and the broker were restarted (`restart` or `kill`; `failover`: a cluster
   * master SIGKILLed), and Redis's hang, if any.
   */
  faults: {
    redis: 'restart' | 'kill' | 'failover';
    kafka: 'restart' | 'kill';
    redisFreezeSeconds: number;
    freezes: number;
  };
  /** The cluster master killed, the replica promoted, and how long each step took. */
  failover?: { killed: string; promoted: string; promotedMs: number; rejoinedMs: number };
  /** Rater restarts nobody asked for: exits of their own, or a rater that stopped making progress. */
  unplanned: { exits: number; stalls: number };
  durationSeconds: number;
  produceSeconds: number;
}

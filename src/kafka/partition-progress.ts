import type { PartitionState, PartitionsReport } from '../shared/instrumentation';

interface Entry {
  topic: string;
  partition: number;
  lastProgressAt: number;
  inHand: boolean;
  lag: number;
  retry?: { stage: string; error: string; since: number };
}

const key = (topic: string, partition: number) => `${topic}/${partition}`;

/**
 * Progress of each partition the consumer has been assigned: when a batch last completed
 * (committed), whether work is waiting (a batch in hand, or the last batch left a lag), and
 * what a waiting batch is retrying. A partition with work waiting and no progress for
 * `stuckAfterMs` is stuck: the service is not ready, and the metrics say so.
 */
export class PartitionProgress implements PartitionsReport {
  private readonly entries = new Map<string, Entry>();

  constructor(
    readonly stuckAfterMs: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** The group's new assignment: partitions no longer ours are forgotten, new ones start now. */
  assigned(assignment: Record<string, number[]>): void {
    const keep = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) {
        keep.add(key(topic, partition));
        this.entry(topic, partition);
      }
    }
    for (const k of [...this.entries.keys()]) if (!keep.has(k)) this.entries.delete(k);
  }

  batchStarted(topic: string, partition: number, lag: number): void {
    const entry = this.entry(topic, partition);
    entry.inHand = true;
    entry.lag = lag;
  }

  retrying(topic: string, partition: number, stage: string, error: unknown): void {
    const entry = this.entry(topic, partition);
    const message = error instanceof Error ? error.message : String(error);
    entry.retry = {
      stage,
      error: message,
      since: entry.retry?.stage === stage ? entry.retry.since : this.now(),
    };
  }

  /** The batch is committed: progress, and `lag` records still behind it. */
  progressed(topic: string, partition: number, lag: number): void {
    const entry = this.entry(topic, partition);
    entry.lastProgressAt = this.now();
    entry.inHand = false;
    entry.lag = lag;
    entry.retry = undefined;
  }

  /** The batch was given up (the session was lost or the consumer stops): it comes again. */
  abandoned(topic: string, partition: number, reason: unknown): void {
    const entry = this.entry(topic, partition);
    entry.inHand = false;
    entry.lag = Math.max(entry.lag, 1);
    entry.retry = {
      stage: 'rejoin',
      error: reason instanceof Error ? reason.message : String(reason),
      since: this.now(),
    };
  }

  states(): PartitionState[] {
    const now = this.now();
    return [...this.entries.values()].map((e) => ({
      topic: e.topic,
      partition: e.partition,
      waiting: e.inHand || e.lag > 0,
      secondsSinceProgress: Math.max(0, Math.floor((now - e.lastProgressAt) / 1000)),
      ...(e.retry
        ? {
            stage: e.retry.stage,
            lastError: e.retry.error,
            retryingSeconds: Math.max(0, Math.floor((now - e.retry.since) / 1000)),
          }
        : {}),
    }));
  }

  /** Partitions with work waiting and no progress for `stuckAfterMs`, each with why. */
  stuck(): { partition: PartitionState; reason: string }[] {
    return this.states()
      .filter((s) => s.waiting && s.secondsSinceProgress * 1000 >= this.stuckAfterMs)
      .map((s) => ({
        partition: s,
        reason:
          `${s.topic}/${s.partition}: ` +
          (s.stage
            ? `${s.stage} retrying for ${s.retryingSeconds} s: ${s.lastError}`
            : `no progress for ${s.secondsSinceProgress} s with records waiting`),
      }));
  }

  private entry(topic: string, partition: number): Entry {
    const k = key(topic, partition);
    let entry = this.entries.get(k);
    if (!entry) {
      entry = { topic, partition, lastProgressAt: this.now(), inHand: false, lag: 0 };
      this.entries.set(k, entry);
    }
    return entry;
  }
}

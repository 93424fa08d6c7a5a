/**
 * Group commit: what callers hand in while a flush is on its way goes out together in the
 * next one. The consumer works on many partitions at once, and each of their batches ends in
 * a produce request and an offset commit; one request each would queue them one behind the
 * other (the idempotent producer and the group coordinator take one request at a time).
 *
 * Each caller's promise settles when the flush carrying its item does, and rejects with that
 * flush's error: a caller that retries hands its item in again.
 *
 * `lingerMs` holds the first flush after a quiet spell that long, so that callers finishing
 * a little later (the other partitions' batches of the same fetch) join it: fewer, fuller
 * requests for a few milliseconds more each. With 0, only the callers of the same turn of
 * the event loop join.
 */
export class Grouped<T> {
  private queue: { item: T; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private flushing = false;

  constructor(
    private readonly flushAll: (items: T[]) => Promise<void>,
    private readonly lingerMs = 0,
  ) {}

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    // Let the callers of this turn of the event loop (or of the linger) join the first flush.
    await new Promise((resolve) =>
      this.lingerMs > 0 ? setTimeout(resolve, this.lingerMs) : setImmediate(resolve),
    );
    while (this.queue.length > 0) {
      const callers = this.queue;
      this.queue = [];
      try {
        await this.flushAll(callers.map((c) => c.item));
        callers.forEach((c) => c.resolve());
      } catch (error) {
        callers.forEach((c) => c.reject(error));
      }
    }
    this.flushing = false;
  }
}

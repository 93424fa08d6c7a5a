/**
 * A store read for a scrape, cached and coalesced: at most one read in flight, a fresh one
 * started when the last answer is older than `maxAgeMs`, and a caller never waits more than
 * `waitMs` for it. Without an answer in time (the store away or slow) it gets the last
 * answer, or `undefined` when there never was one, with the time it was read.
 */
export class CachedQuery<T> {
  private last: { value: T; at: number } | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly options: { maxAgeMs: number; waitMs: number; now?: () => number },
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  async get(): Promise<{ value: T; at: number } | undefined> {
    const { maxAgeMs, waitMs } = this.options;
    if (this.last && this.now() - this.last.at <= maxAgeMs) return this.last;
    this.inFlight ??= this.read()
      .then((value) => {
        this.last = { value, at: this.now() };
      })
      .catch(() => undefined) // the last answer stays; its age says how old it is
      .finally(() => (this.inFlight = undefined));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.inFlight,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs).unref())),
    ]);
    clearTimeout(timer);
    return this.last;
  }
}

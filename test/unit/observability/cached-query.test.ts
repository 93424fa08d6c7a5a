import { CachedQuery } from '../../../src/observability/cached-query';

describe('a cached store read for scrapes', () => {
  let now = 0;
  const clock = { now: () => now };

  it('reads once per max age, coalescing callers, and answers the last value while the store fails', async () => {
    let reads = 0;
    let fail = false;
    const query = new CachedQuery(
      async () => {
        reads += 1;
        if (fail) throw new Error('redis away');
        return reads;
      },
      { maxAgeMs: 1000, waitMs: 50, ...clock },
    );
    expect(await Promise.all([query.get(), query.get()])).toEqual([
      { value: 1, at: 0 },
      { value: 1, at: 0 },
    ]);
    now = 500;
    expect(await query.get()).toEqual({ value: 1, at: 0 });
    expect(reads).toBe(1);
    now = 1500;
    fail = true;
    expect(await query.get()).toEqual({ value: 1, at: 0 }); // the age says how old
    expect(reads).toBe(2);
    fail = false;
    expect(await query.get()).toEqual({ value: 3, at: 1500 });
  });

  it('never waits more than its wait for a store that hangs, and has no value before a first answer', async () => {
    let release: (value: number) => void = () => undefined;
    const query = new CachedQuery(() => new Promise<number>((resolve) => (release = resolve)), {
      maxAgeMs: 1000,
      waitMs: 20,
      ...clock,
    });
    const started = Date.now();
    expect(await query.get()).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1000);
    release(7);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await query.get()).toEqual({ value: 7, at: now });
  });
});

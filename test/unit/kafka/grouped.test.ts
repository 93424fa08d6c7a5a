import { Grouped } from '../../../src/kafka/grouped';

describe('Grouped (group commit)', () => {
  it('flushes what is added in one turn together, and what comes during a flush in the next', async () => {
    const flushes: number[][] = [];
    let release!: () => void;
    const group = new Grouped<number>(async (items) => {
      flushes.push(items);
      if (flushes.length === 1) await new Promise<void>((resolve) => (release = resolve));
    });
    const first = [group.add(1), group.add(2), group.add(3)];
    await new Promise((resolve) => setImmediate(resolve));
    const second = [group.add(4), group.add(5)];
    release();
    await Promise.all([...first, ...second]);
    expect(flushes).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it('with a linger, callers that come within it join the first flush', async () => {
    const flushes: number[][] = [];
    const group = new Grouped<number>(async (items) => void flushes.push(items), 30);
    const first = group.add(1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = group.add(2);
    await Promise.all([first, second]);
    const late = new Promise((resolve) => setTimeout(resolve, 5)).then(() => group.add(3));
    await Promise.all([group.add(4), late]);
    expect(flushes).toEqual([
      [1, 2],
      [4, 3],
    ]);
  });

  it("rejects every caller of a failed flush, and goes on with the next one's", async () => {
    let calls = 0;
    const group = new Grouped<string>(async () => {
      if (++calls === 1) throw new Error('broker away');
    });
    const failed = await Promise.allSettled([group.add('a'), group.add('b')]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await expect(group.add('c')).resolves.toBeUndefined();
    expect(calls).toBe(2);
  });
});

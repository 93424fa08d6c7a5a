import { PartitionProgress } from '../../../src/kafka/partition-progress';

describe('PartitionProgress: a partition with records waiting and no progress is stuck', () => {
  let now = 0;
  const progress = () => new PartitionProgress(10_000, () => now);
  beforeEach(() => (now = 1_000_000));

  it('is stuck once a batch in hand has made no progress for the configured time, and says why', () => {
    const p = progress();
    p.assigned({ cdr: [0, 1] });
    p.batchStarted('cdr', 1, 40);
    now += 4_000;
    p.retrying('cdr', 1, 'ledger', new Error('Command timed out'));
    now += 5_999;
    expect(p.stuck()).toEqual([]);
    now += 1;
    expect(p.stuck().map((s) => s.reason)).toEqual(['cdr/1: ledger retrying for 6 s: Command timed out']);
    // The stage keeps its first failure's time while it keeps failing.
    now += 3_000;
    p.retrying('cdr', 1, 'ledger', new Error('Command timed out'));
    expect(p.stuck()[0]!.reason).toBe('cdr/1: ledger retrying for 9 s: Command timed out');
    p.progressed('cdr', 1, 0);
    expect(p.stuck()).toEqual([]);
  });

  it('is not stuck while idle (nothing waiting), however long', () => {
    const p = progress();
    p.assigned({ cdr: [0] });
    p.batchStarted('cdr', 0, 5);
    p.progressed('cdr', 0, 0);
    now += 3_600_000;
    expect(p.stuck()).toEqual([]);
    expect(p.states()).toEqual([{ topic: 'cdr', partition: 0, waiting: false, secondsSinceProgress: 3600 }]);
  });

  it('counts a lag left behind the last batch as work waiting', () => {
    const p = progress();
    p.assigned({ cdr: [0] });
    p.batchStarted('cdr', 0, 500);
    p.progressed('cdr', 0, 300);
    now += 10_000;
    expect(p.stuck().map((s) => s.reason)).toEqual(['cdr/0: no progress for 10 s with records waiting']);
  });

  it('keeps an abandoned batch waiting, and forgets partitions a rebalance took away', () => {
    const p = progress();
    p.assigned({ cdr: [0, 1] });
    p.batchStarted('cdr', 0, 10);
    p.abandoned('cdr', 0, new Error('The coordinator is not aware of this member'));
    now += 10_000;
    expect(p.stuck().map((s) => s.reason)).toEqual([
      'cdr/0: rejoin retrying for 10 s: The coordinator is not aware of this member',
    ]);
    p.assigned({ cdr: [1] });
    expect(p.stuck()).toEqual([]);
    expect(p.states().map((s) => s.partition)).toEqual([1]);
  });
});

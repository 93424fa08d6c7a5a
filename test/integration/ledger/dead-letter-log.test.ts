import { DEAD_LETTERS_KEPT, DeadLetterEntry } from '../../../src/ledger/dead-letter-log';
import { ledgerFixture, LedgerFixture } from '../../support/ledger';

/** DeadLetterLog: counts by reason and the latest dead letters, in a capped list. */
describe('dead-letter log', () => {
  let f: LedgerFixture;
  beforeEach(() => {
    f = ledgerFixture();
  });
  afterEach(() => f.close());

  const entry = (offset: number, reason = 'malformed_json', extra: Partial<DeadLetterEntry> = {}) => ({
    reason,
    message: `bad ${offset}`,
    topic: 'usage.cdr.v1',
    partition: 2,
    offset: String(offset),
    at: new Date(Date.UTC(2026, 10, 25, 9, 0, offset)),
    ...extra,
  });

  it('counts every dead letter by reason and lists the latest first', async () => {
    const log = f.ledger.deadLetters;
    expect(await log.summary()).toEqual({ byReason: {}, recent: [] });
    await log.record([entry(0), entry(1, 'unknown_tenant', { tenantId: 'ghost' })]);
    await log.record([entry(2), entry(3, 'too_late', { tenantId: 'acme' })]);
    await log.record([]);
    expect(await log.summary({ recent: 3 })).toEqual({
      byReason: { malformed_json: 2, unknown_tenant: 1, too_late: 1 },
      recent: [
        entry(3, 'too_late', { tenantId: 'acme' }),
        entry(2),
        entry(1, 'unknown_tenant', { tenantId: 'ghost' }),
      ],
    });
    expect((await log.summary({ recent: 0 })).recent).toEqual([]);
    await expect(log.summary({ recent: -1 })).rejects.toThrow(RangeError);
  });

  it(`keeps the latest ${DEAD_LETTERS_KEPT}, and each message's start`, async () => {
    const log = f.ledger.deadLetters;
    const entries = Array.from({ length: 250 }, (_, i) => entry(i));
    for (let i = 0; i < entries.length; i += 60) await log.record(entries.slice(i, i + 60));
    await log.record([entry(250, 'internal_error', { message: 'x'.repeat(10_000) })]);
    const summary = await log.summary({ recent: 1000 });
    expect(summary.byReason).toEqual({ malformed_json: 250, internal_error: 1 });
    expect(summary.recent).toHaveLength(DEAD_LETTERS_KEPT);
    expect(summary.recent[0]!.message).toBe('x'.repeat(500));
    expect(summary.recent.slice(1).map((e) => e.offset)).toEqual(
      Array.from({ length: DEAD_LETTERS_KEPT - 1 }, (_, i) => String(249 - i)),
    );
    expect(await f.redis.llen(`${f.prefix}{dlq}:recent`)).toBe(DEAD_LETTERS_KEPT);
  });
});

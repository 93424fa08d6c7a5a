import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BurstGuard } from '../../../src/credits/user-limits';
import type { LedgerUsage } from '../../../src/credits/wallet';
import type { DecodedUsageRecord } from '../../../src/kafka/cdr-decoder';
import { toCloudEvent } from '../../../src/kafka/cloudevents';
import { burstKeys } from '../../../src/ledger/keys';
import { authorizeCall } from '../../../src/settlement/authorize-call';
import { FlatPricer } from '../../support/flat-pricer';
import { applyPaid, ledgerFixture, LedgerFixture, prepaid } from '../../support/ledger';

describe('the burst guard', () => {
  let f: LedgerFixture;
  beforeEach(async () => {
    f = ledgerFixture({ start: '2026-11-10T12:00:00.000Z' });
    await f.ledger.writes.upsertAccount('acme', prepaid());
    await f.ledger.writes.addFunds('acme', { paymentRef: 'p1', amount: 100_000n, currency: 'USD' });
  });
  afterEach(() => f.close());

  const guard = async (burstGuard: BurstGuard | null) =>
    expect(await f.ledger.writes.setUserLimits('acme', { currency: 'USD', burstGuard })).toEqual({
      status: 'updated',
    });
  /** A credit-paid call of `user` that started at `hh:mm` on 2026-11-10 (UTC). */
  const call = (id: string, at: string, charge = 10n, international = true, user = 'alice'): LedgerUsage => ({
    id,
    start: new Date(`2026-11-10T${at}:00.000Z`),
    source: 'credits',
    charge,
    pool: '',
    poolSeconds: 0,
    period: '2026-11',
    user,
    international,
  });
  const view = () => f.ledger.reads.userLimits('acme', '2026-11', 'USD');
  const blocked = async () => Object.fromEntries([...(await view()).blocked].map(([u, b]) => [u, b.reason]));
  const blockEvents = async () =>
    (await f.ledger.outbox.readOutbox('acme')).filter((event) => event.type === 'credits.user.blocked');

  it('blocks at one international call more than allowed in the window, not at exactly as many', async () => {
    await guard({ windowMinutes: 60, maxInternationalCalls: 3 });
    await applyPaid(f, 'acme', [call('u1', '10:00'), call('u2', '10:10'), call('u3', '10:20')]);
    // Domestic calls and another user's calls do not count towards alice's.
    await applyPaid(f, 'acme', [call('d1', '10:25', 10n, false), call('b1', '10:26', 10n, true, 'bob')]);
    expect(await blocked()).toEqual({});
    expect(await blockEvents()).toEqual([]);
    await applyPaid(f, 'acme', [call('u4', '10:30')]);
    expect(await blocked()).toEqual({ alice: 'international_calls' });
    const events = await blockEvents();
    expect(events.map((event) => [event.id, event.data])).toEqual([
      [
        'acme/credits.user.blocked/burst:alice:u4',
        {
          tenantId: 'acme',
          user: 'alice',
          reason: 'international_calls',
          windowMinutes: 60,
          internationalCalls: 4,
          spend: { amountMinor: '50', currency: 'USD' },
          maxInternationalCalls: 3,
          maxSpend: null,
        },
      ],
    ]);
    const ajv = new Ajv2020({ allErrors: true });
    addFormats(ajv);
    const schemaFile = join(
      __dirname,
      '..',
      '..',
      '..',
      'schemas',
      'events',
      'credits.user.blocked.schema.json',
    );
    const validate = ajv.compile(JSON.parse(readFileSync(schemaFile, 'utf8')) as object);
    const data = toCloudEvent(events[0]!, '/rater/credits').data;
    expect([validate(data), validate.errors ?? []]).toEqual([true, []]);
    // A blocked user's later usages are still applied, and the block is announced once.
    const later = await applyPaid(f, 'acme', [call('u5', '10:31'), call('u6', '10:32')]);
    expect(later.applied.map((u) => u.duplicate)).toEqual([false, false]);
    expect((await view()).users.get('alice')?.spent).toBe(70n);
    expect(await blockEvents()).toHaveLength(1);
  });

  it('blocks on more spend than allowed in the window', async () => {
    await guard({ windowMinutes: 30, maxSpend: 100n });
    await applyPaid(f, 'acme', [call('u1', '10:00', 60n, false), call('u2', '10:05', 40n, false)]);
    expect(await blocked()).toEqual({});
    await applyPaid(f, 'acme', [call('u3', '10:06', 1n, false)]);
    expect(await blocked()).toEqual({ alice: 'spend' });
    expect((await blockEvents()).map((event) => event.data)).toMatchObject([
      { reason: 'spend', windowMinutes: 30, internationalCalls: 0, spend: { amountMinor: '101' } },
    ]);
  });

  it('drops the calls that started a window or more before the latest one', async () => {
    await guard({ windowMinutes: 60, maxInternationalCalls: 2, maxSpend: 1000n });
    await applyPaid(f, 'acme', [call('u1', '09:00'), call('u2', '09:30')]);
    // 10:00 is a window after 09:00: u1 leaves it, two calls remain.
    await applyPaid(f, 'acme', [call('u3', '10:00')]);
    expect(await blocked()).toEqual({});
    // A record that arrives late, of a call started before the window, is not counted.
    await applyPaid(f, 'acme', [call('u0', '08:59')]);
    expect(await blocked()).toEqual({});
    const { window, sums } = burstKeys(f.ledger.keys('acme'), 'alice');
    expect(await f.redis.zcard(window)).toBe(2);
    expect(await f.redis.hgetall(sums)).toEqual({
      n: '2',
      s: '20',
      l: String(Date.parse('2026-11-10T10:00:00Z') / 1000),
    });
    // The keys live about a window: nothing is kept for an idle user.
    const ttl = await f.redis.pttl(window);
    expect(ttl).toBeGreaterThan(3_600_000);
    expect(ttl).toBeLessThanOrEqual(3_600_000 + 600_000);
    await applyPaid(f, 'acme', [call('u4', '10:29')]);
    expect(await blocked()).toEqual({ alice: 'international_calls' });
  });

  it('counts a redelivered usage once', async () => {
    await guard({ windowMinutes: 60, maxInternationalCalls: 2 });
    await applyPaid(f, 'acme', [call('u1', '10:00'), call('u2', '10:01')]);
    await applyPaid(f, 'acme', [call('u1', '10:00'), call('u2', '10:01')]); // redelivered
    await applyPaid(f, 'acme', [call('u2', '10:01'), call('u2', '10:01')]); // twice in one batch
    expect(await blocked()).toEqual({});
  });

  it('counts nothing when off, and not usages paid otherwise', async () => {
    await applyPaid(f, 'acme', [call('u1', '10:00'), call('u2', '10:01'), call('u3', '10:02')]);
    await guard({ windowMinutes: 60, maxInternationalCalls: 1 });
    await guard(null);
    await applyPaid(f, 'acme', [call('u4', '10:03'), call('u5', '10:04')]);
    expect(await f.redis.keys(`${f.prefix}*burst*`)).toEqual([]);
    await guard({ windowMinutes: 60, maxInternationalCalls: 1 });
    await applyPaid(f, 'acme', [
      { ...call('f1', '10:05', 0n), source: 'free' },
      { ...call('f2', '10:06', 0n), source: 'free' },
    ]);
    expect(await blocked()).toEqual({});
    expect((await view()).burstGuard).toEqual({ windowMinutes: 60, maxInternationalCalls: 1 });
  });

  it('clears a block with the window, and refuses credit-paid calls of a blocked user meanwhile', async () => {
    await guard({ windowMinutes: 60, maxInternationalCalls: 1 });
    const pricer = new FlatPricer();
    const authorize = (extra: Partial<DecodedUsageRecord> = {}) =>
      authorizeCall(
        f.ledger.writes,
        pricer,
        {
          tenantId: 'acme',
          callType: 'user_out',
          startDateTime: '2026-11-10T12:00:00Z',
          calleeNumber: '+442071234567',
          licenseCapability: 'MCOPSTNPP',
          usageCountryCode: 'US',
          userId: 'alice',
          ...extra,
        },
        f.clock.now,
      );
    expect(await authorize()).toMatchObject({ allowed: true, reason: 'covered' });
    await applyPaid(f, 'acme', [call('u1', '10:00'), call('u2', '10:01')]);
    expect(await authorize()).toMatchObject({ allowed: false, reason: 'user_blocked', maxSeconds: 0 });
    // Before the spend limit; other users and free calls are not affected.
    await f.ledger.writes.setUserLimits('acme', { currency: 'USD', users: { alice: 1n } });
    await applyPaid(f, 'acme', [
      { ...call('x1', '10:02'), user: 'carol' },
      { ...call('x2', '10:02'), user: 'carol' },
    ]);
    expect(await authorize()).toMatchObject({ allowed: false, reason: 'user_blocked' });
    expect(await authorize({ userId: 'bob' })).toMatchObject({ allowed: true, reason: 'covered' });
    expect(await authorize({ callType: 'user_in' })).toMatchObject({ allowed: true, reason: 'free' });
    await f.ledger.writes.setUserLimits('acme', { currency: 'USD', users: { alice: null } });

    expect(await f.ledger.writes.clearUserBlock('acme', 'bob')).toEqual({ status: 'not_blocked' });
    expect(await f.ledger.writes.clearUserBlock('acme', 'alice')).toEqual({ status: 'cleared' });
    expect(await blocked()).toEqual({ carol: 'international_calls' });
    expect(await authorize()).toMatchObject({ allowed: true, reason: 'covered' });
    const { window, sums } = burstKeys(f.ledger.keys('acme'), 'alice');
    expect(await f.redis.exists(window, sums)).toBe(0);
    // The window starts afresh: one call is within the guard again, the second blocks.
    await applyPaid(f, 'acme', [call('u3', '10:03')]);
    expect(await blocked()).toEqual({ carol: 'international_calls' });
    await applyPaid(f, 'acme', [call('u4', '10:04')]);
    expect(await blocked()).toEqual({ alice: 'international_calls', carol: 'international_calls' });
    expect((await blockEvents()).map((event) => event.id)).toEqual([
      'acme/credits.user.blocked/burst:alice:u2',
      'acme/credits.user.blocked/burst:carol:x2',
      'acme/credits.user.blocked/burst:alice:u4',
    ]);
  });
});

import { addUtcMonths, lotExpiry, utcMonth } from '../../../src/credits/calendar';
import { tenantKeys } from '../../../src/ledger/keys';
import { InvalidIdError } from '../../../src/credits/tenant';
import { loadScripts } from '../../../src/ledger/script-loader';

describe('tenant keys', () => {
  it('share one hash tag per tenant, under the prefix', () => {
    expect(tenantKeys('acme-1', 'p:')).toEqual({
      account: 'p:{t:acme-1}:account',
      lots: 'p:{t:acme-1}:lots',
      lotExpiry: 'p:{t:acme-1}:lots:by-expiry',
      pools: 'p:{t:acme-1}:pools',
      applied: 'p:{t:acme-1}:ap',
      legacyApplied: 'p:{t:acme-1}:applied',
      legacyAppliedIndex: 'p:{t:acme-1}:applied:by-time',
      payments: 'p:{t:acme-1}:payments',
      outbox: 'p:{t:acme-1}:outbox',
      totals: 'p:{t:acme-1}:totals',
      rerateNotices: 'p:{t:acme-1}:rerates',
      userLimits: 'p:{t:acme-1}:user-limits',
      userSpend: 'p:{t:acme-1}:user-spend',
      burst: 'p:{t:acme-1}:burst',
      sessions: 'p:{t:acme-1}:sessions',
      sessionsByExpiry: 'p:{t:acme-1}:sessions:by-expiry',
    });
  });

  it.each(['', 'a}b', '{t:x}', 'a:b', 'with space', '-leading', 'x'.repeat(65), 'ünï'])(
    'refuses the id %j',
    (id) => {
      expect(() => tenantKeys(id)).toThrow(InvalidIdError);
    },
  );
});

describe('ledger scripts', () => {
  const scripts = loadScripts();

  it('are one per operation, named with their key count and a version', () => {
    expect(scripts.map((s) => [s.operation, s.numberOfKeys, s.command]).sort()).toEqual([
      ['ackOutbox', 4, 'ackOutboxV6'],
      ['addFunds', 11, 'addFundsV6'],
      ['applyUsage', 19, 'applyUsageV6'],
      ['authorize', 6, 'authorizeV6'],
      ['beginPurchase', 2, 'beginPurchaseV6'],
      ['clearUserBlock', 3, 'clearUserBlockV6'],
      ['endSession', 6, 'endSessionV6'],
      ['expireLots', 10, 'expireLotsV6'],
      ['expireSessions', 6, 'expireSessionsV6'],
      ['lookupApplied', 2, 'lookupAppliedV6'],
      ['readAppliedDay', 1, 'readAppliedDayV6'],
      ['rechargeResult', 11, 'rechargeResultV6'],
      ['recordPurchase', 11, 'recordPurchaseV6'],
      ['reindex', 9, 'reindexV6'],
      ['releaseLease', 1, 'releaseLeaseV6'],
      ['rerate', 16, 'rerateV6'],
      ['rerateNotice', 10, 'rerateNoticeV6'],
      ['sessionSnapshot', 7, 'sessionSnapshotV6'],
      ['setUserLimits', 2, 'setUserLimitsV6'],
      ['startSession', 17, 'startSessionV6'],
      ['updateSession', 10, 'updateSessionV6'],
      ['updateSettings', 10, 'updateSettingsV6'],
    ]);
  });

  it('have their includes resolved once each, and declare no more keys than they use', () => {
    for (const script of scripts) {
      expect(script.lua).not.toMatch(/^--- @include/m);
      expect(script.lua.match(/^local function fmt\(/gm) ?? []).toHaveLength(
        script.lua.includes('local function fmt(') ? 1 : 0,
      );
      const used = Math.max(0, ...[...script.lua.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1])));
      expect([script.operation, used]).toEqual([script.operation, script.numberOfKeys]);
    }
  });

  it.each(['authorize', 'lookupApplied', 'readAppliedDay'])(
    'keep the read-only flag of %s on its first line',
    (operation) => {
      expect(scripts.find((s) => s.operation === operation)!.lua.split('\n')[0]).toBe(
        '#!lua flags=no-writes',
      );
    },
  );
});

describe('calendar', () => {
  it.each([
    ['2026-01-31T10:00:00.000Z', 1, '2026-02-28T10:00:00.000Z'],
    ['2024-02-29T00:00:00.000Z', 12, '2025-02-28T00:00:00.000Z'],
    ['2026-11-24T09:15:30.250Z', 12, '2027-11-24T09:15:30.250Z'],
    ['2026-12-31T23:59:59.999Z', 2, '2027-02-28T23:59:59.999Z'],
  ])('%s plus %i months is %s', (from, months, to) => {
    expect(addUtcMonths(new Date(from), months).toISOString()).toBe(to);
  });

  it('expires funds 12 months after purchase, and names months in UTC', () => {
    expect(lotExpiry(new Date('2026-03-15T00:00:00.000Z')).toISOString()).toBe('2027-03-15T00:00:00.000Z');
    expect(utcMonth(new Date('2026-11-30T23:30:00-02:00'))).toBe('2026-12');
  });
});

import { addUtcMonths, lotExpiry, utcMonth } from '../../../src/credits/calendar';
import { tenantKeys } from '../../../src/ledger/keys';
import { InvalidIdError } from '../../../src/credits/tenant';
import { buildLibrary, LIBRARY_NAME, loadScripts } from '../../../src/ledger/script-loader';

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
      replicated: 'p:{t:acme-1}:replicated',
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
      ['ackOutbox', 4, 'ackOutboxV8'],
      ['addFunds', 12, 'addFundsV8'],
      ['applyUsage', 20, 'applyUsageV8'],
      ['authorize', 6, 'authorizeV8'],
      ['beginPurchase', 3, 'beginPurchaseV8'],
      ['clearUserBlock', 3, 'clearUserBlockV8'],
      ['endSession', 6, 'endSessionV8'],
      ['expireLots', 11, 'expireLotsV8'],
      ['expireSessions', 6, 'expireSessionsV8'],
      ['lookupApplied', 2, 'lookupAppliedV8'],
      ['readAppliedDay', 1, 'readAppliedDayV8'],
      ['rechargeResult', 12, 'rechargeResultV8'],
      ['recordCustomer', 1, 'recordCustomerV8'],
      ['recordPaymentMethod', 1, 'recordPaymentMethodV8'],
      ['recordPurchase', 12, 'recordPurchaseV8'],
      ['reindex', 10, 'reindexV8'],
      ['releaseLease', 1, 'releaseLeaseV8'],
      ['rerate', 17, 'rerateV8'],
      ['rerateNotice', 10, 'rerateNoticeV8'],
      ['sessionSnapshot', 7, 'sessionSnapshotV8'],
      ['setUserLimits', 2, 'setUserLimitsV8'],
      ['startSession', 17, 'startSessionV8'],
      ['updateSession', 10, 'updateSessionV8'],
      ['updateSettings', 10, 'updateSettingsV8'],
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

  it('mark only the operations that read alone as no-writes (FCALL_RO)', () => {
    expect(scripts.filter((s) => s.readOnly).map((s) => s.operation)).toEqual([
      'authorize',
      'lookupApplied',
      'readAppliedDay',
      'sessionSnapshot',
    ]);
  });

  it('make one function library: its head, each include once, a function per operation', () => {
    const library = buildLibrary();
    expect(LIBRARY_NAME).toBe('rater_v8');
    expect(library.split('\n')[0]).toBe('#!lua name=rater_v8');
    expect(library).not.toMatch(/^--- @include/m);
    expect(library).not.toMatch(/^#!lua flags/m);
    expect(library.match(/^local function fmt\(/gm)).toHaveLength(1);
    expect(library.match(/^local function beginCall\(/gm)).toHaveLength(1);
    const registered = [...library.matchAll(/function_name = '(\w+)',\n {2}flags = \{ ([^}]*)\}/g)];
    expect(registered.map((m) => m[1]).sort()).toEqual(scripts.map((s) => s.command).sort());
    for (const [, name, flags] of registered) {
      const script = scripts.find((s) => s.command === name)!;
      expect([name, flags!.trim()]).toEqual([name, script.readOnly ? "'no-writes'" : '']);
    }
    // Lua 5.1 allows a function (the library's top level too) 200 locals: the includes' helpers
    // and constants are the top level's (a function may use 60 of them, checked by FUNCTION LOAD).
    const top = library.slice(0, library.indexOf('redis.register_function{'));
    const locals = [...top.matchAll(/^local (?:function )?([\w, ]+?)(?:\(| =)/gm)].flatMap((m) =>
      m[1]!.split(','),
    );
    expect(locals.length).toBeGreaterThan(50);
    expect(locals.length).toBeLessThan(180);
    // Each function starts by resetting what a call may leave in the library's tables.
    expect(library.match(/callback = function\(KEYS, ARGV\)\nbeginCall\(\)/g)).toHaveLength(scripts.length);
  });
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

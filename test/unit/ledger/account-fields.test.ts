import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { accountSettings } from '../../../src/credits/wallet';
import {
  AccountField,
  apiKeyField,
  decodeAccount,
  POOL_CAPACITIES_CHANGE,
  SETTINGS_FIELDS,
  settingsChangeFields,
} from '../../../src/ledger/account-fields';
import { leaseKey, noticeSentKey } from '../../../src/ledger/keys';
import { COMMANDS_DIR } from '../../../src/ledger/script-loader';

const lua = (file: string) => readFileSync(join(COMMANDS_DIR, file), 'utf8');
const known = new Set<string>(Object.values(AccountField));
/** The body of `local function <name>(...)` up to its closing `end` at the start of a line. */
const luaFunction = (text: string, name: string) => {
  const match = new RegExp(`^local function ${name}\\(.*?^end$`, 'ms').exec(text);
  if (!match) throw new Error(`no function ${name}`);
  return match[0];
};
const quoted = (text: string) => [...text.matchAll(/'([A-Za-z]+)'/g)].map((m) => m[1]!);
/** A Lua list literal `local <name> = { ... }`, as its quoted strings. */
const luaList = (text: string, name: string) => {
  const match = new RegExp(`local ${name} = \\{(.*?)\\}`, 's').exec(text);
  if (!match) throw new Error(`no list ${name}`);
  return quoted(match[1]!);
};

describe('the account hash fields, TypeScript and Lua', () => {
  const account = lua('includes/account.lua');
  const settings = lua('updateSettings-10.lua');

  it('are the ones loadAccount reads and saveAccount writes (includes/account.lua)', () => {
    const read = [...luaFunction(account, 'loadAccount').matchAll(/\bh\.(\w+)/g)].map((m) => m[1]!);
    expect(read.length).toBeGreaterThan(15);
    expect(read.filter((field) => !known.has(field))).toEqual([]);
    // saveAccount writes the fields of these two lists whose text changed (writeChanged).
    const written = [...luaList(account, 'SAVED_NUMBERS'), ...luaList(account, 'SAVED_TEXTS')];
    expect(written.length).toBeGreaterThan(8);
    expect(luaFunction(account, 'saveAccount')).toMatch(/writeChanged\(ctx, a, h\)/);
    expect(written.filter((field) => !known.has(field))).toEqual([]);
  });

  it('are the ones updateSettings-10.lua changes, reads and starts a new account with', () => {
    expect(luaList(settings, 'SETTINGS')).toEqual([...SETTINGS_FIELDS]);
    const defaults = /local DEFAULTS = \{(.*?)\}/s.exec(settings)![1]!;
    const defaulted = [...defaults.matchAll(/(\w+) = '/g)].map((m) => m[1]!);
    expect(defaulted.filter((field) => !known.has(field))).toEqual([]);
    const started = /for _, f in ipairs\(\{(.*?)\}\) do/s.exec(settings)![1]!;
    // Pairs of field and value; the values are '0', '' and the clock, which `quoted` skips.
    const startedFields = quoted(started);
    expect(startedFields).toContain('createdAt');
    expect(startedFields.filter((field) => !known.has(field))).toEqual([]);
    const existing = [...settings.matchAll(/\bexisting\.(\w+)/g)].map((m) => m[1]!);
    expect(existing.filter((field) => !known.has(field))).toEqual([]);
  });

  it('encode a settings change as the named fields only', () => {
    expect(settingsChangeFields({ lowBalanceThreshold: 500n, autoRecharge: { enabled: true } })).toEqual({
      lowThreshold: '500',
      arEnabled: '1',
    });
    const all = settingsChangeFields(
      accountSettings('prepaid', 'EUR', {
        adminContacts: ['a@b.example'],
        poolCapacities: { 'MCOPSTN1:US': 60 },
      }),
    );
    expect(Object.keys(all).sort()).toEqual([...SETTINGS_FIELDS, POOL_CAPACITIES_CHANGE].sort());
  });

  it('decode what they encode, and no account without a mode', () => {
    const settings = accountSettings('prepaid', 'USD', {
      lowBalanceThreshold: 250n,
      autoRecharge: { enabled: true, trigger: 100n, amount: 2000n, monthlyCap: 4, maxConsecutiveFailures: 2 },
      paymentMethodRef: 'pm_card_visa',
      adminContacts: ['admin@acme.example'],
    });
    const { caps, ...fields } = settingsChangeFields(settings);
    expect(caps).toEqual({});
    const hash = {
      ...(fields as Record<string, string>),
      balance: '-30',
      blocked: '1',
      'owed:2026-11': '605',
      [apiKeyField('k1')]: 'digest',
    };
    const decoded = decodeAccount(hash)!;
    expect({ ...decoded.settings, poolCapacities: {} }).toEqual(settings);
    expect(decoded).toMatchObject({ balance: -30n, debt: 0n, blocked: true, owed: { '2026-11': 605n } });
    expect(decodeAccount({ balance: '5' })).toBeUndefined();
  });
});

describe('keys built beside the tenant keys', () => {
  it('keep the tenant hash tag', () => {
    expect(leaseKey('acme', 'outbox', 'p:')).toBe('p:{t:acme}:account:lease:outbox');
    expect(noticeSentKey('acme', 'acme/credits.balance.low/usage:u1', 'p:')).toBe(
      'p:{t:acme}:notified:acme/credits.balance.low/usage:u1',
    );
    expect(() => noticeSentKey('{t:x}', 'e1')).toThrow();
  });
});

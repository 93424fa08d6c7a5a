import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRateBook, rateCall, RateBookError, UsageRecord } from '../../../src/rating';
import { ratesCommand } from '../../../src/rating/cli';

const countries = 'prefix,country,name\n+1,US,"United States"\n+44,GB,"United Kingdom"\n';
const plans =
  'plans:\n  MCOPSTN1:\n    covers: [domestic]\n    minutesPerUser: { default: 1200 }\nzoneA: [GB, US]\n';
const deck = (
  extra = '',
  versions = "      - version: '1'\n        effectiveFrom: '2026-01-01T00:00:00Z'\n        file: a.csv\n",
) =>
  `decks:\n  - id: out\n    kind: outbound\n    currency: USD\n    increment: { first: 30, next: 6 }\n${extra}    versions:\n${versions}`;

const book = (files: Record<string, string>) =>
  parseRateBook(new Map(Object.entries({ 'countries.csv': countries, 'plans.yaml': plans, ...files })));

const errorsOf = (files: Record<string, string>) => {
  try {
    book(files);
  } catch (error) {
    if (error instanceof RateBookError) return error.errors;
    throw error;
  }
  throw new Error('the rate files loaded');
};

describe('rate files', () => {
  it('refuse a deck with every problem listed by file and line', () => {
    const csv = [
      'prefix,destination,kind,rate_per_minute',
      '+44,"United Kingdom",landline,0.03',
      '44,"No plus",landline,0.03',
      '+44,"Again",landline,0.04',
      '+447,"UK mobile",mobile,-0.10',
      '+4479,"Too precise",mobile,0.1234567',
      '+4478,"UK mobile",cellular,0.1',
      '# a comment line',
      '+1,"US",any',
    ].join('\n');
    expect(errorsOf({ 'decks.yaml': deck(), 'a.csv': csv })).toEqual([
      { file: 'a.csv', line: 3, message: 'malformed prefix "44": + and 1 to 15 digits' },
      { file: 'a.csv', line: 4, message: 'duplicate prefix +44' },
      { file: 'a.csv', line: 5, message: 'rate "-0.10" is not a non-negative decimal with at most 6 places' },
      {
        file: 'a.csv',
        line: 6,
        message: 'rate "0.1234567" is not a non-negative decimal with at most 6 places',
      },
      { file: 'a.csv', line: 7, message: 'kind "cellular" is not landline, mobile or any' },
      { file: 'a.csv', line: 9, message: 'expected 4 columns, found 3' },
    ]);
  });

  it('list the errors of deck files behind a decks.yaml that is not YAML, and behind a refused deck', () => {
    const badCsv = 'prefix,destination,kind,rate_per_minute\n44,"No plus",landline,0.03\n';
    expect(errorsOf({ 'decks.yaml': 'decks:\n  - id: [out\n', 'decks/a.csv': badCsv })).toEqual([
      expect.objectContaining({ file: 'decks.yaml', message: expect.stringMatching(/^not YAML: /) }),
      { file: 'decks/a.csv', line: 2, message: 'malformed prefix "44": + and 1 to 15 digits' },
    ]);
    expect(
      errorsOf({ 'decks.yaml': deck().replace('kind: outbound', 'kind: inbound'), 'a.csv': badCsv }),
    ).toEqual([
      expect.objectContaining({ file: 'decks.yaml', line: 3 }),
      { file: 'a.csv', line: 2, message: 'malformed prefix "44": + and 1 to 15 digits' },
    ]);
    // A file that a loaded deck read is reported once, not again as an unread file.
    expect(errorsOf({ 'decks.yaml': deck(), 'a.csv': badCsv })).toHaveLength(1);
  });

  it('refuse an unknown currency, on its line of decks.yaml', () => {
    expect(
      errorsOf({
        'decks.yaml': deck().replace('currency: USD', 'currency: XXX'),
        'a.csv': 'prefix,destination,kind,rate_per_minute\n',
      }),
    ).toEqual([{ file: 'decks.yaml', line: 4, message: 'deck 1 (out): unknown currency "XXX"' }]);
  });

  it('refuse overlapping effective ranges, and a missing file', () => {
    const versions =
      "      - version: '1'\n        effectiveFrom: '2026-01-01T00:00:00Z'\n        effectiveTo: '2026-07-01T00:00:00Z'\n        file: a.csv\n" +
      "      - version: '2'\n        effectiveFrom: '2026-06-01T00:00:00Z'\n        file: a.csv\n" +
      "      - version: '3'\n        effectiveFrom: '2027-01-01T00:00:00Z'\n        file: missing.csv\n";
    expect(
      errorsOf({
        'decks.yaml': deck('', versions),
        'a.csv': 'prefix,destination,kind,rate_per_minute\n+1,US,any,0.01\n',
      }),
    ).toEqual([
      { file: 'missing.csv', line: 0, message: 'file not found (deck 1 (out), version 3)' },
      {
        file: 'decks.yaml',
        line: 11,
        message: 'deck 1 (out): versions 1 and 2 have overlapping effective ranges',
      },
    ]);
  });

  it('price with the deck increment, connection fee and minimum charge', () => {
    const rates = book({
      'decks.yaml': deck("    connectionFee: '0.015'\n    minimumCharge: '0.10'\n"),
      'a.csv': 'prefix,destination,kind,rate_per_minute\n+44,"United Kingdom",landline,0.10\n',
    });
    const record = (duration: number): UsageRecord => ({
      id: 'u',
      tenantId: 't',
      callType: 'user_out',
      startDateTime: '2026-02-01T00:00:00Z',
      duration,
      calleeNumber: '+442071234567',
    });
    const price = (duration: number) => {
      const result = rateCall(rates, record(duration), 'USD', 0);
      return result.kind === 'rated'
        ? [result.billedSeconds, result.chargeMinor, result.connectionChargeMinor]
        : result;
    };
    expect(price(0)).toEqual([0, 0n, 0n]); // nothing connected, nothing charged
    expect(price(1)).toEqual([30, 10n, 2n]); // 30 s: 0.05 + 0.015 = 0.065, raised to the 0.10 minimum
    expect(price(70)).toEqual([72, 14n, 2n]); // 30 + 7 x 6 s: 0.12 + 0.015 = 0.135 -> 0.14 (half to even)
    expect(price(600)).toEqual([600, 102n, 2n]); // 1.00 + 0.015 = 1.015 -> 1.02 (half to even)
  });

  it('refuse an unquoted YAML 1.1 boolean where a country code belongs, and codes of no country', () => {
    const yaml = [
      'plans:', // 1
      '  MCOPSTN1:',
      '    covers: [domestic]',
      "    minutesPerUser: { default: 1200, 'GB': 3000 }",
      '  MCOPSTN2:', // 5
      '    covers: [domestic, international]',
      '    minutesPerUser:',
      '      default: 1800',
      '      NO: 3600', // YAML 1.1: false
      '      XX: 3600', // 10
      'zoneA:',
      "  - 'GB'",
      '  - no',
      '  - US',
      '  - gb', // 15
    ].join('\n');
    expect(
      errorsOf({
        'plans.yaml': yaml,
        'decks.yaml': deck(),
        'a.csv': 'prefix,destination,kind,rate_per_minute\n',
      }),
    ).toEqual([
      {
        file: 'plans.yaml',
        line: 9,
        message:
          "MCOPSTN2: minutesPerUser: unquoted NO is a boolean to YAML 1.1 readers; quote the country code ('NO')",
      },
      {
        file: 'plans.yaml',
        line: 10,
        message: 'MCOPSTN2: minutesPerUser: "XX" is not a country of countries.csv (ISO 3166-1 alpha-2)',
      },
      {
        file: 'plans.yaml',
        line: 13,
        message: "zoneA: unquoted no is a boolean to YAML 1.1 readers; quote the country code ('no')",
      },
      {
        file: 'plans.yaml',
        line: 15,
        message: 'zoneA: "gb" is not a country of countries.csv (ISO 3166-1 alpha-2)',
      },
    ]);
  });

  it('npm run rates -- validate names the file and line of an unquoted NO in the shipped plans', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rates-'));
    try {
      cpSync(join(__dirname, '..', '..', '..', 'rates'), dir, { recursive: true });
      const plans = readFileSync(join(dir, 'plans.yaml'), 'utf8');
      expect(plans).toContain("    'NO',\n");
      writeFileSync(join(dir, 'plans.yaml'), plans.replace("    'NO',\n", '    NO,\n'));
      const line = plans.slice(0, plans.indexOf("'NO'")).split('\n').length;
      const errors: string[] = [];
      const error = jest.spyOn(console, 'error').mockImplementation((text: string) => errors.push(text));
      const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
      try {
        await ratesCommand().parseAsync(['node', 'rates', 'validate', dir]);
      } finally {
        error.mockRestore();
        log.mockRestore();
      }
      expect(errors).toEqual([
        `plans.yaml:${line}: zoneA: unquoted NO is a boolean to YAML 1.1 readers; quote the country code ('NO')`,
      ]);
      expect(process.exitCode).toBe(1);
    } finally {
      process.exitCode = undefined;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('rates quote', () => {
    const quote = async (...args: string[]) => {
      const out: string[] = [];
      const command = ratesCommand();
      command.exitOverride();
      for (const sub of command.commands) {
        sub.exitOverride();
        sub.configureOutput({ writeErr: (text) => out.push(text), writeOut: (text) => out.push(text) });
      }
      const log = jest.spyOn(console, 'log').mockImplementation((text: string) => out.push(text));
      try {
        await command.parseAsync([
          'node',
          'rates',
          'quote',
          '--rates',
          join(__dirname, '..', '..', '..', 'rates'),
          ...args,
        ]);
        return { ok: true, out };
      } catch {
        return { ok: false, out };
      } finally {
        log.mockRestore();
      }
    };

    it('refuses a number that is not E.164, as the consumer does', async () => {
      const result = await quote('--to', '447911123456');
      expect(result.ok).toBe(false);
      expect(result.out.join('')).toContain("'447911123456' is invalid. must be E.164: + and 2 to 15 digits");
      expect((await quote('--to', '+447911123456', '--from', '0201234567')).ok).toBe(false);
    });

    it('refuses a start that is not an ISO 8601 time', async () => {
      const result = await quote('--to', '+447911123456', '--start', 'yesterday');
      expect(result.ok).toBe(false);
      expect(result.out.join('')).toContain("'yesterday' is invalid. must be ISO 8601");
    });

    it('prices an E.164 number at a given time', async () => {
      const result = await quote('--to', '+447911123456', '--start', '2026-11-02T10:00:00Z');
      expect(result.ok).toBe(true);
      expect(result.out.at(-1)).toMatch(/^charge \d+\.\d{2} USD$/);
    });
  });
});

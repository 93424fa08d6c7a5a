import { parse } from 'csv-parse/sync';
import { formatAmount } from '../../../../src/api/console/format';
import { describeBurn, usageQuery } from '../../../../src/api/console/tenant-views';
import {
  CSV_COLUMNS,
  filterRows,
  ReportRow,
  reportCsv,
  totalsByUser,
  totalsOf,
} from '../../../../src/api/console/usage-report';

const row = (over: Partial<ReportRow>): ReportRow => ({
  usageId: 'u1',
  callId: 'call-1',
  conferenceId: '',
  userLocation: 'US',
  userId: 'user-ana',
  userPrincipalName: 'ana@acme.example',
  userDisplayName: 'Ana Lima',
  callerNumber: '+12065550100',
  calleeNumber: '+442071234567',
  callType: 'user_out',
  numberType: '',
  destinationContext: 'International',
  destinationName: 'United Kingdom',
  startedAt: new Date('2026-11-30T10:00:00Z'),
  endedAt: '2026-11-30T10:03:00Z',
  duration: 173,
  billedSeconds: 180,
  poolSeconds: 0,
  charge: 45n,
  connectionCharge: 0n,
  currency: 'USD',
  capability: 'MCOPSTNPP',
  source: 'credits',
  ...over,
});

describe("the usage report's rows, filters and CSV", () => {
  const rows = [
    row({}),
    row({
      usageId: 'u2',
      userPrincipalName: 'bo@acme.example',
      userDisplayName: 'Bo',
      userId: 'user-bo',
      calleeNumber: '+4930123456',
      destinationName: 'Germany',
      charge: 120n,
      connectionCharge: 15n,
      duration: 600,
    }),
    row({
      usageId: 'u3',
      callType: 'conf_out',
      source: 'bundle',
      charge: 0n,
      poolSeconds: 120,
      duration: 100,
    }),
  ];

  it('filters by part of the user, part of the destination or number, and exactly by call type and source', () => {
    expect(filterRows(rows, { user: 'ANA' }).map((r) => r.usageId)).toEqual(['u1', 'u3']);
    expect(filterRows(rows, { user: 'lima' }).map((r) => r.usageId)).toEqual(['u1', 'u3']);
    expect(filterRows(rows, { destination: 'germ' }).map((r) => r.usageId)).toEqual(['u2']);
    expect(filterRows(rows, { destination: '+4420' }).map((r) => r.usageId)).toEqual(['u1', 'u3']);
    expect(filterRows(rows, { callType: 'conf_out' }).map((r) => r.usageId)).toEqual(['u3']);
    expect(filterRows(rows, { callType: 'conf' })).toEqual([]);
    expect(filterRows(rows, { source: 'credits', user: 'ana' }).map((r) => r.usageId)).toEqual(['u1']);
    expect(filterRows(rows, {})).toHaveLength(3);
  });

  it('totals calls, seconds and money exactly', () => {
    expect(totalsOf(rows)).toEqual({
      calls: 3,
      charge: 165n,
      connection: 15n,
      seconds: 873,
      poolSeconds: 120,
    });
  });

  it("writes the PSTN usage report's columns, exact decimals, and no formula a spreadsheet would run", () => {
    const csv = reportCsv([
      rows[1]!,
      row({ usageId: 'u4', userDisplayName: '=HYPERLINK("x")', callId: '@sum' }),
    ]);
    expect(csv.split('\r\n')[0]).toBe(
      'UsageId,Call ID,Conference ID,User Location,AAD ObjectId,UPN,User Display Name,Caller ID,Call Type,Number Type,Domestic/International,Destination Dialed,Destination Number,Start time,End time,Duration Seconds,Connection Fee,Charge,Currency,Capability,Billed Seconds,Pool Seconds,Source',
    );
    const parsed = parse(csv, { columns: true }) as Record<string, string>[];
    expect(parsed[0]).toMatchObject({
      UsageId: 'u2',
      'Caller ID': '+12065550100',
      'Destination Number': '+4930123456',
      'Connection Fee': '0.15',
      Charge: '1.20',
      'Start time': '2026-11-30T10:00:00.000Z',
      'Duration Seconds': '600',
    });
    expect(parsed[1]).toMatchObject({ 'User Display Name': `'=HYPERLINK("x")`, 'Call ID': "'@sum" });
    expect(CSV_COLUMNS).toHaveLength(23);
  });

  it('quotes a cell holding a lone CR or LF, a quote or a comma, and guards every line start inside it', () => {
    const csv = reportCsv(
      [
        row({
          usageId: 'u5',
          userDisplayName: 'Ana\n=1+2',
          callId: 'c\r@SUM(1)',
          conferenceId: 'a,"b"',
          destinationName: '\r\n-3+cmd',
          userId: '+1\n+2',
        }),
      ],
      false,
    );
    // One record: the lone LF and CR stay inside quoted cells.
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(csv.slice(0, -2)).not.toContain('"\r\n');
    const [parsed, ...more] = parse(csv, { relax_column_count: false }) as string[][];
    expect(more).toEqual([]);
    expect(parsed).toHaveLength(CSV_COLUMNS.length);
    expect(parsed!.slice(0, 7)).toEqual([
      'u5',
      "c\r'@SUM(1)",
      'a,"b"',
      'US',
      "'+1\n'+2",
      'ana@acme.example',
      "Ana\n'=1+2",
    ]);
    expect(parsed![11]).toBe("'\r\n'-3+cmd");
    // No physical line of the file starts what a spreadsheet would run as a formula.
    for (const line of csv.split(/\r\n|\r|\n/)) expect(line).not.toMatch(/^[=+\-@\t]/);
    for (const cell of ['"Ana\n\'=1+2"', '"c\r\'@SUM(1)"', '"a,""b"""']) expect(csv).toContain(cell);
  });

  it("checks the report's query and names the field it refuses", () => {
    const now = new Date('2026-12-01T12:00:00Z');
    expect(usageQuery({}, now)).toEqual({
      from: '2026-12-01',
      to: '2026-12-01',
      offset: 0,
      user: undefined,
      callType: undefined,
      destination: undefined,
      source: undefined,
    });
    expect(
      usageQuery({ from: '2026-11-01', to: '2026-11-30', user: ' ana ', offset: '50' }, now),
    ).toMatchObject({ user: 'ana', offset: 50 });
    expect(usageQuery({ from: '2026-13-01' }, now)).toBe('from must be a date (yyyy-mm-dd)');
    expect(usageQuery({ from: '2026-11-02', to: '2026-11-01' }, now)).toBe('from must not be after to');
    expect(usageQuery({ from: '2026-01-01', to: '2026-12-01' }, now)).toBe(
      'to: a report covers 92 days at most',
    );
    expect(usageQuery({ callType: 'pstn' }, now)).toBe('callType pstn is not a call type');
    expect(usageQuery({ source: 'cash' }, now)).toBe('source cash is not where money comes from');
    expect(usageQuery({ offset: '-1' }, now)).toBe('offset must be a whole number');
  });

  it('shows money exactly, in its currency', () => {
    expect(formatAmount(123456789012345n, 'USD')).toBe('USD 1,234,567,890,123.45');
    expect(formatAmount(-5n, 'JPY')).toBe('-JPY 5');
    expect(formatAmount(1n, 'KWD')).toBe('KWD 0.001');
    expect(
      describeBurn(
        { kind: 'mean_of_full_days', from: '2026-11-17', to: '2026-11-30', days: 14, total: 1400n },
        'USD',
      ),
    ).toBe('the average of the 14 full days 2026-11-17 to 2026-11-30 (USD 14.00 in all)');
  });

  it("totals each user's calls, in the natural order of their names", () => {
    const rows = [
      row({ usageId: 'a', userPrincipalName: 'user10@x', charge: 100n, duration: 60 }),
      row({ usageId: 'b', userPrincipalName: 'user2@x', charge: 7n, duration: 5 }),
      row({ usageId: 'c', userPrincipalName: 'user10@x', charge: 1n, duration: 1 }),
      row({
        usageId: 'd',
        userPrincipalName: '',
        userDisplayName: '',
        userId: 'user1',
        charge: 0n,
        duration: 2,
      }),
    ];
    expect(totalsByUser(rows)).toEqual([
      { user: 'user1', calls: 1, seconds: 2, charge: 0n },
      { user: 'user2@x', calls: 1, seconds: 5, charge: 7n },
      { user: 'user10@x', calls: 2, seconds: 61, charge: 101n },
    ]);
    expect(totalsByUser([])).toEqual([]);
  });
});

import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { CALL_TYPES } from '../../../src/rating';
import type { ReportFields } from '../../../src/credits/usage-details';
import {
  MAX_REPORT_BYTES,
  packReport,
  REPORT_BOUNDS,
  unpackReport,
} from '../../../src/ledger/report-encoding';

const full: ReportFields = {
  callId: '9f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b',
  conferenceId: 'conf|100%',
  userId: 'AB12CD34-0000-4000-8000-0123456789AB',
  userPrincipalName: 'ann@contoso.com',
  userDisplayName: 'Ann | 50% Smith',
  callerNumber: '+14255550100',
  calleeNumber: '+442071234567',
  callType: 'user_out',
  numberType: 'tollFree',
  destinationContext: 'International',
  endDateTime: '2026-11-24T09:02:05+01:00',
  duration: 125,
  licenseCapability: 'MCOPSTNPP',
};

const text = (max: number) => fc.string({ unit: 'binary', minLength: 1, maxLength: max });
const reportFields: fc.Arbitrary<ReportFields> = fc.record(
  {
    callId: fc.oneof(fc.uuid(), text(REPORT_BOUNDS.callId)),
    conferenceId: fc.oneof(
      fc.uuid().map((id) => id.toUpperCase()),
      text(REPORT_BOUNDS.conferenceId),
    ),
    userId: fc.oneof(fc.uuid(), text(REPORT_BOUNDS.userId)),
    userPrincipalName: text(REPORT_BOUNDS.userPrincipalName),
    userDisplayName: text(REPORT_BOUNDS.userDisplayName),
    callerNumber: text(REPORT_BOUNDS.callerNumber),
    calleeNumber: text(REPORT_BOUNDS.calleeNumber),
    callType: fc.constantFrom(...CALL_TYPES),
    numberType: fc.constantFrom('subscriber' as const, 'service' as const, 'tollFree' as const),
    destinationContext: fc.constantFrom('Domestic' as const, 'International' as const),
    endDateTime: text(REPORT_BOUNDS.endDateTime),
    duration: fc.nat(),
    licenseCapability: text(REPORT_BOUNDS.licenseCapability),
  },
  { requiredKeys: [] },
);

describe('the usage report fields kept with a usage', () => {
  it('packs them by position, escaped, GUIDs short, and unpacks them as they were', () => {
    const packed = packReport(full);
    expect(packed).not.toContain('|');
    expect(packed.split('~')).toHaveLength(13);
    expect(packed).toContain('conf%7C100%25');
    expect(packed).toContain('Ann %7C 50%25 Smith');
    // Two GUIDs in 23 bytes each, the enumerations a letter each.
    expect(packed.split('~')[0]).toHaveLength(23);
    expect(packed.split('~').slice(7, 10)).toEqual(['b', 't', 'I']);
    expect(unpackReport(packed)).toEqual(full);
  });

  it('keeps nothing for a record without report fields, and reads a stored record without them as none', () => {
    expect(packReport({})).toBe('');
    expect(unpackReport('')).toEqual({});
    // Trailing absent fields are left out.
    expect(packReport({ callId: 'c-1' })).toBe('c-1');
    expect(unpackReport('c-1')).toEqual({ callId: 'c-1' });
  });

  it('takes the destination context the rater derived when the record gives none', () => {
    expect(unpackReport(packReport({ callType: 'user_out' }, 'Domestic'))).toEqual({
      callType: 'user_out',
      destinationContext: 'Domestic',
    });
    expect(unpackReport(packReport({ destinationContext: 'International' }, 'Domestic'))).toEqual({
      destinationContext: 'International',
    });
  });

  it('cuts a long display name, leaves out an identifier too long or a value of the wrong kind, and never throws', () => {
    const long = 'é'.repeat(70) + '😀';
    const packed = packReport({
      userDisplayName: long,
      callId: 'x'.repeat(65),
      userId: 42,
      callType: 'teleport',
      duration: 1.5,
      endDateTime: null,
    });
    expect(unpackReport(packed)).toEqual({ userDisplayName: 'é'.repeat(64) });
    // A surrogate pair is never split by the cut.
    expect(unpackReport(packReport({ userDisplayName: 'a' + '😀'.repeat(64) })).userDisplayName).toBe(
      'a' + '😀'.repeat(63),
    );
  });

  it('gives back what it packed, for any fields within their bounds, no | in it', () => {
    fc.assert(
      fc.property(reportFields, (fields) => {
        const packed = packReport(fields);
        expect(packed).not.toContain('|');
        expect(packed.split('~').length).toBeLessThanOrEqual(13);
        expect(unpackReport(packed)).toEqual(fields);
      }),
      { numRuns: 2000 },
    );
  });

  it('escapes |, % and ~ so that no field holds a separator', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('|', '%', '~', '7', 'C', 'E', '2', '5', 'a'), {
          minLength: 1,
          maxLength: 60,
        }),
        (chars) => {
          const name = chars.join('');
          const packed = packReport({ userDisplayName: name, callerNumber: name.slice(0, 32) });
          expect(packed).not.toContain('|');
          expect(packed.split('~')).toHaveLength(6);
          expect(unpackReport(packed)).toEqual({ userDisplayName: name, callerNumber: name.slice(0, 32) });
        },
      ),
    );
  });

  it('packs the longest fields within the bytes the ledger takes (the same bound as the script)', () => {
    const widest = Object.fromEntries(
      Object.entries(REPORT_BOUNDS).map(([name, max]) => [name, '\u0001' + '😀'.repeat(max - 1)]),
    );
    const packed = packReport({
      ...widest,
      callType: 'user_out_forwarding',
      numberType: 'service',
      destinationContext: 'Domestic',
      duration: Number.MAX_SAFE_INTEGER,
    });
    expect(unpackReport(packed)).toEqual({
      ...widest,
      callType: 'user_out_forwarding',
      numberType: 'service',
      destinationContext: 'Domestic',
      duration: Number.MAX_SAFE_INTEGER,
    });
    expect(Buffer.byteLength(packed)).toBeLessThanOrEqual(MAX_REPORT_BYTES);
    const lua = readFileSync(`${__dirname}/../../../src/ledger/commands/includes/applied.lua`, 'utf8');
    expect(lua).toContain(`local MAX_REPORT = ${MAX_REPORT_BYTES}`);
  });
});

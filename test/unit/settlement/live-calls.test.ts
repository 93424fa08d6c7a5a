import { liveCall, liveCalls, type LiveSessionEntry } from '../../../src/settlement/live-calls';

const entry = (over: Partial<LiveSessionEntry> = {}): LiveSessionEntry => ({
  usageId: 'call-1',
  held: 17n,
  usedSeconds: 0,
  validUntil: new Date('2026-12-07T08:05:30Z'),
  user: 'alice',
  started: JSON.stringify({
    answer: { usageId: 'call-1', allowed: true, reason: 'covered', grantedSeconds: 300 },
    call: {
      tenantId: 't',
      callType: 'user_out',
      startDateTime: '2026-12-07T08:00:00.000Z',
      calleeNumber: '+442071234567',
    },
  }),
  ...over,
});

describe('a live call as the console and the command line show it', () => {
  it("takes the callee, the start and the start's grant from the stored start", () => {
    expect(liveCall(entry())).toEqual({
      usageId: 'call-1',
      user: 'alice',
      callee: '+442071234567',
      startedAt: new Date('2026-12-07T08:00:00Z'),
      grantedSeconds: 300,
      usedSeconds: 0,
      held: 17n,
      validUntil: new Date('2026-12-07T08:05:30Z'),
    });
  });

  it('counts the seconds granted so far from the last renewal: its used seconds plus its grant', () => {
    const renewed = entry({
      usedSeconds: 280,
      held: 35n,
      lastUpdate: { usedSeconds: 280, answer: JSON.stringify({ allowed: true, grantedSeconds: 300 }) },
    });
    expect(liveCall(renewed).grantedSeconds).toBe(580);
    const refused = entry({
      usedSeconds: 590,
      lastUpdate: { usedSeconds: 590, answer: JSON.stringify({ allowed: false, grantedSeconds: 0 }) },
    });
    expect(liveCall(refused).grantedSeconds).toBe(590);
  });

  it('lists the oldest first, then by usage id', () => {
    const at = (usageId: string, startDateTime: string) =>
      entry({
        usageId,
        started: JSON.stringify({ answer: { grantedSeconds: 60 }, call: { startDateTime } }),
      });
    expect(
      liveCalls([
        at('b', '2026-12-07T08:00:00Z'),
        at('c', '2026-12-07T07:00:00Z'),
        at('a', '2026-12-07T08:00:00Z'),
      ]).map((c) => [c.usageId, c.callee]),
    ).toEqual([
      ['c', ''],
      ['a', ''],
      ['b', ''],
    ]);
  });
});

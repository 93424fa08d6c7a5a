import { callLengths, parseCallEvents } from '../../../tools/sip/sipp';
import { switchArgs } from '../../../tools/sip/switch';

describe('the SIP tools', () => {
  it('read the call events the SIPp scenarios log', () => {
    const events = parseCallEvents(
      [
        'answered c-1 1200',
        'refused c-2 402 balance_depleted',
        'bye c-1 9450',
        'answered c-3 1300',
        'hangup c-3 4300',
        'some other line',
        '',
      ].join('\n'),
    );
    expect(events).toEqual([
      { kind: 'answered', callId: 'c-1', atMs: 1200 },
      { kind: 'refused', callId: 'c-2', code: 402, reason: 'balance_depleted' },
      { kind: 'bye', callId: 'c-1', atMs: 9450 },
      { kind: 'answered', callId: 'c-3', atMs: 1300 },
      { kind: 'hangup', callId: 'c-3', atMs: 4300 },
    ]);
    expect(callLengths(events)).toEqual(
      new Map([
        ['c-1', 8.25],
        ['c-3', 3],
      ]),
    );
  });

  it('quote the string defines of Kamailio, and refuse a value that would break out of them', () => {
    const args = switchArgs({
      raterUrl: 'http://127.0.0.1:8080/',
      token: 'secret',
      dir: '/tmp/k',
      port: 5070,
    });
    expect(args).toEqual(
      expect.arrayContaining([
        '-l',
        'udp:127.0.0.1:5070',
        '-A',
        'RATER_URL="http://127.0.0.1:8080"',
        '-A',
        'RATER_TOKEN="secret"',
      ]),
    );
    expect(() => switchArgs({ raterUrl: 'http://x', token: 'a"b', dir: '/tmp/k', port: 5070 })).toThrow(
      'RATER_TOKEN may not hold quotes',
    );
  });
});

import { parseClusterNodes } from '../../../tools/stack/redis-cluster';

describe("CLUSTER NODES, parsed for the stack's failover tools", () => {
  it('tells masters and their slots from replicas and their master, and a failed node from a live one', () => {
    const text = [
      'a1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460',
      'b2 127.0.0.1:7002@17002 master - 0 1700000000000 2 connected 5461-10922 [10923->-c3]',
      'c3 127.0.0.1:7003@17003 master,fail - 1700000000000 1700000000000 3 disconnected',
      'd4 127.0.0.1:7004@17004 slave a1 0 1700000000000 1 connected',
      'f6 127.0.0.1:7006@17006 master - 0 1700000000000 7 connected 10923-16383',
      '',
    ].join('\n');
    expect(parseClusterNodes(text)).toEqual([
      {
        id: 'a1',
        port: 7001,
        flags: ['myself', 'master'],
        masterId: '-',
        connected: true,
        slots: ['0-5460'],
      },
      { id: 'b2', port: 7002, flags: ['master'], masterId: '-', connected: true, slots: ['5461-10922'] },
      { id: 'c3', port: 7003, flags: ['master', 'fail'], masterId: '-', connected: false, slots: [] },
      { id: 'd4', port: 7004, flags: ['slave'], masterId: 'a1', connected: true, slots: [] },
      { id: 'f6', port: 7006, flags: ['master'], masterId: '-', connected: true, slots: ['10923-16383'] },
    ]);
  });
});

import { Partitioners } from 'kafkajs';

// The default partitioner's murmur2, patched to 32-bit arithmetic (patches/kafkajs+2.2.4.patch):
// the values of the 64-bit original, so that a key keeps its partition.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const murmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: unknown) => number;

describe('the default partitioner hash', () => {
  it('gives the original values (Kafka\'s own test vector "21" among them)', () => {
    const expected: [string | Buffer, number][] = [
      ['21', -973932308],
      ['tenant-00151', 235808668],
      ['tenant-00002', -969534932],
      ['', 275646681],
      ['a', -1563381124],
      ['ab', 316155434],
      ['abc', 479470107],
      ['abcd', -1323649548],
      ['ü€ß-tenant', -1508316400],
      [Buffer.from([0xff, 0xfe, 0x80, 0x01, 0x7f]), -562899086],
    ];
    for (const [key, hash] of expected) expect(murmur2(key)).toBe(hash);
  });

  it('puts a keyed message on the partition of its hash', () => {
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: 12 }, (_, partitionId) => ({
      partitionId,
      leader: 0,
      replicas: [0],
      isr: [0],
      partitionErrorCode: 0,
    }));
    const partition = partitioner({
      topic: 't',
      partitionMetadata,
      message: { key: 'tenant-00151', value: 'v' },
    });
    expect(partition).toBe((235808668 & 0x7fffffff) % 12);
  });
});

// kafkajs's record encoding, patched (patches/kafkajs+2.2.4.patch: headers written in place,
// small varlongs without a Long): the bytes of the original, taken from kafkajs 2.2.4 as shipped.
/* eslint-disable @typescript-eslint/no-require-imports */
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (message: object) => {
  buffer: Buffer;
};
const Encoder = require('kafkajs/src/protocol/encoder') as {
  new (): { writeVarLong(value: number): { buffer: Buffer } };
  sizeOfVarLong(value: number): number;
};
/* eslint-enable @typescript-eslint/no-require-imports */

describe("kafkajs's record encoding", () => {
  it('writes a record as kafkajs 2.2.4 does, headers and all', () => {
    const cases: [object, string][] = [
      [
        {
          offsetDelta: 7,
          timestampDelta: 0,
          key: 'tenant-00151',
          value: '{"id":"u1","charge":"0.05"}',
          headers: { 'content-type': 'application/json', 'x-duplicate': 'true' },
        },
        'b80100000e1874656e616e742d3030313531367b226964223a227531222c22636861726765223a22302e3035227d0418636f6e74656e742d74797065206170706c69636174696f6e2f6a736f6e16782d6475706c69636174650874727565',
      ],
      [
        {
          offsetDelta: 300,
          timestampDelta: -1234567,
          key: null,
          value: Buffer.from('é😀'),
          headers: { 'x-many': ['a', 'bc'], 'x-buf': Buffer.from([1, 2, 3]) },
        },
        '5a008dda9601d804010cc3a9f09f9880060c782d6d616e7902610c782d6d616e790462630a782d62756606010203',
      ],
      [
        { offsetDelta: 0, timestampDelta: 2 ** 40 + 5, key: Buffer.from('k'), value: null },
        '18008a808080804000026b0100',
      ],
    ];
    for (const [message, hex] of cases) expect(Record(message).buffer.toString('hex')).toBe(hex);
  });

  it('writes varlongs as kafkajs 2.2.4 does, small or not', () => {
    const cases: [number, number, string][] = [
      [0, 1, '00'],
      [1, 1, '02'],
      [-1, 1, '01'],
      [63, 1, '7e'],
      [-64, 1, '7f'],
      [64, 2, '8001'],
      [1073741823, 5, 'feffffff07'],
      [-1073741824, 5, 'ffffffff07'],
      [1073741824, 5, '8080808008'],
      [2 ** 40, 6, '808080808040'],
      [-(2 ** 45), 7, 'ffffffffffff0f'],
    ];
    for (const [value, size, hex] of cases) {
      expect(Encoder.sizeOfVarLong(value)).toBe(size);
      expect(new Encoder().writeVarLong(value).buffer.toString('hex')).toBe(hex);
    }
  });
});

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
const RecordDecoder = require('kafkajs/src/protocol/recordBatch/record/v0/decoder') as (
  decoder: object,
  context: object,
) => { offset: string; timestamp: string };
const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => { readVarInt(): number };
/* eslint-enable @typescript-eslint/no-require-imports */

const FIRST =
  'b80100000e1874656e616e742d3030313531367b226964223a227531222c22636861726765223a22302e3035227d0418636f6e74656e742d74797065206170706c69636174696f6e2f6a736f6e16782d6475706c69636174650874727565';
const SECOND = '5a008dda9601d804010cc3a9f09f9880060c782d6d616e7902610c782d6d616e790462630a782d62756606010203';

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
        FIRST,
      ],
      [
        {
          offsetDelta: 300,
          timestampDelta: -1234567,
          key: null,
          value: Buffer.from('é😀'),
          headers: { 'x-many': ['a', 'bc'], 'x-buf': Buffer.from([1, 2, 3]) },
        },
        SECOND,
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

  it("reads a record's offset and timestamp as kafkajs 2.2.4 does, small or not", () => {
    const cases: [string, string, string, string, string][] = [
      [FIRST, '41', '1796600000000', '48', '1796600000000'],
      [FIRST, '9223372036854775000', '-5', '9223372036854775007', '-5'],
      [SECOND, '41', '1796600000000', '341', '1796598765433'],
      [SECOND, '9223372036854775000', '-5', '9223372036854775300', '-1234572'],
    ];
    for (const [hex, firstOffset, firstTimestamp, offset, timestamp] of cases) {
      const decoder = new Decoder(Buffer.from(hex, 'hex'));
      decoder.readVarInt(); // the record's length
      const record = RecordDecoder(decoder, { firstOffset, firstTimestamp, magicByte: 2, timestampType: 0 });
      expect({ offset: record.offset, timestamp: record.timestamp }).toEqual({ offset, timestamp });
    }
  });
});

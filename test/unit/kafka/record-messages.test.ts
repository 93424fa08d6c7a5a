import type { KafkaMessage } from 'kafkajs';
import { fitsMessageLimit, messageBytes } from '../../../src/kafka/grouped-sender';
import { ratedMessage, RecordMessages, Settling } from '../../../src/kafka/record-messages';
import type { DecodedUsageRecord } from '../../../src/kafka/cdr-decoder';
import { RatedDetails, serialiseRecord } from '../../../src/settlement/rated-record';

const record = {
  id: 'u-1',
  tenantId: 'acmé',
  callType: 'user_out',
  startDateTime: '2026-11-24T09:00:00Z',
  duration: 125,
  note: 'ü😀'.repeat(50),
} as DecodedUsageRecord;
const settling: Settling = {
  item: { topic: 'usage', partition: 0, message: { offset: '0' } as KafkaMessage },
  record,
  body: serialiseRecord(record),
  fingerprint: 'abcdefghijkl',
};
const details: RatedDetails = {
  fingerprint: 'abcdefghijkl',
  billedSeconds: 180,
  connectionCharge: 5n,
  currency: 'USD',
  destinationName: 'Ünited "Kingdom"\n',
  rate: { deck: 'pstn-out', version: '2026-11', prefix: '+44' },
};
const applied = { charge: 35n, poolSeconds: 0, source: 'credits' as const, appliedAt: new Date(0) };

describe('the size probe before the debit', () => {
  it('refuses exactly the rated records that would not fit, at every limit around their size', () => {
    const probe = ratedMessage({ record, body: settling.body, details, applied, duplicate: false });
    const size = messageBytes(probe);
    for (let limit = size - 200; limit < size + 400; limit++) {
      const exact = fitsMessageLimit(probe, limit)
        ? undefined
        : {
            code: 'too_large',
            message: `the rated record would be ${size} bytes, more than the broker's ${limit}`,
          };
      expect(new RecordMessages(limit).unsendable(settling, details, applied)).toEqual(exact);
    }
  });

  it('refuses what cannot be written, as before', () => {
    const messages = new RecordMessages(1024 * 1024);
    expect(messages.unsendable(settling, { ...details, currency: 'XXX' }, applied)).toMatchObject({
      code: 'unserializable',
    });
    expect(messages.unsendable(settling, details, { ...applied, appliedAt: new Date(NaN) })).toMatchObject({
      code: 'unserializable',
    });
    expect(messages.unsendable(settling, details, applied)).toBeUndefined();
  });
});

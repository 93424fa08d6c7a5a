import type { KafkaMessage } from 'kafkajs';
import { fitsMessageLimit, messageBytes } from '../../../src/kafka/grouped-sender';
import { ratedMessage, RecordMessages, Settling } from '../../../src/kafka/record-messages';
import type { DecodedUsageRecord } from '../../../src/kafka/cdr-decoder';
import type { RatedDetails } from '../../../src/credits/usage-details';
import { serialiseRecord } from '../../../src/kafka/rated-record-format';

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
      expect(new RecordMessages(limit).check(settling, details, applied)).toEqual(exact);
    }
  });

  it('refuses what cannot be written, as before', () => {
    const messages = new RecordMessages(1024 * 1024);
    expect(messages.check(settling, { ...details, currency: 'XXX' }, applied)).toMatchObject({
      code: 'unserializable',
    });
    expect(messages.check(settling, details, { ...applied, appliedAt: new Date(NaN) })).toMatchObject({
      code: 'unserializable',
    });
    expect(messages.check(settling, details, applied)).toBeUndefined();
  });
});

describe("a conflicting duplicate's dead letter", () => {
  it('carries the first charge of its id as the x-conflict headers, with the usual ones', () => {
    const messages = new RecordMessages(1024 * 1024);
    const item = {
      topic: 'usage',
      partition: 3,
      message: {
        offset: '17',
        timestamp: '1700000000000',
        key: Buffer.from('acmé'),
        value: Buffer.from('{}'),
      },
    } as unknown as Settling['item'];
    const outcome = messages.outcomeOf(
      { ...settling, item },
      {
        kind: 'rejected',
        rejection: { code: 'conflicting_duplicate', message: 'other content' },
        stage: 'ledger',
        charged: false,
        conflict: {
          firstFingerprint: 'AAAAAAAAAAAA',
          fingerprint: 'abcdefghijkl',
          firstCharge: 1234n,
          firstCurrency: 'JPY',
          firstSource: 'credits',
          firstAppliedAt: new Date('2026-11-24T09:03:00.123Z'),
        },
      },
    );
    expect(outcome).toMatchObject({ kind: 'rejected', usageId: 'u-1', tenantId: 'acmé', charged: false });
    const { headers } = messages.messageFor(item, outcome).message;
    expect(headers).toEqual({
      'x-error-code': 'conflicting_duplicate',
      'x-error-message': 'other content',
      'x-origin-topic': 'usage',
      'x-origin-partition': '3',
      'x-origin-offset': '17',
      'x-origin-timestamp': '1700000000000',
      'x-charged': 'false',
      'x-conflict-first-fingerprint': 'AAAAAAAAAAAA',
      'x-conflict-fingerprint': 'abcdefghijkl',
      'x-conflict-first-charge': '1234',
      'x-conflict-first-currency': 'JPY',
      'x-conflict-first-source': 'credits',
      'x-conflict-first-applied-at': '2026-11-24T09:03:00.123Z',
    });
  });
});

describe("a rated record's message", () => {
  it('holds the rated value, and its outcome no longer keeps the body', () => {
    const messages = new RecordMessages(1024 * 1024);
    const outcome = messages.outcomeOf(settling, {
      kind: 'rated',
      record,
      details,
      applied,
      duplicate: false,
    });
    const expected = ratedMessage({ record, body: settling.body, details, applied, duplicate: false });
    const built = messages.messageFor(settling.item, outcome);
    expect(built.message).toEqual(expected);
    expect(built.outcome).toMatchObject({ kind: 'rated', record, body: '' });
  });

  it('keeps the body of a rated record that becomes a dead letter', () => {
    const messages = new RecordMessages(100);
    const item = { ...settling.item, message: { offset: '0', timestamp: '0', value: Buffer.from('{}') } };
    const outcome = messages.outcomeOf(settling, {
      kind: 'rated',
      record,
      details,
      applied,
      duplicate: false,
    });
    const built = messages.messageFor(item as Settling['item'], outcome);
    expect(built.outcome).toMatchObject({ kind: 'rejected', rejection: { code: 'too_large' } });
    expect(outcome).toMatchObject({ body: settling.body });
  });
});

import type { Producer, ProducerRecord } from 'kafkajs';
import { cdrStream } from '../../../tools/loadgen/cdr-stream';
import { MAX_REQUEST_BYTES, writeStream } from '../../../tools/loadgen/writer';

describe('the load generator writer', () => {
  it('sends every record once, in requests the broker takes, however many are due at once', async () => {
    const requests: ProducerRecord[] = [];
    const producer = {
      send: async (record: ProducerRecord) => {
        requests.push(record);
        return [];
      },
    } as unknown as Producer;
    const records = [...cdrStream(5_000, { seed: 3, tenants: 10, idPrefix: 'w-' })];
    // 5,000 records in one batch: about 3 MB, more than the broker's 1 MB in one request.
    const result = await writeStream(records, { producer, topic: 't', batchSize: 5_000, inFlight: 1 });

    expect(result.sent).toBe(5_000);
    const bytes = requests.map((r) => r.messages.reduce((sum, m) => sum + (m.value as Buffer).length, 0));
    expect(requests.length).toBeGreaterThan(1);
    expect(Math.max(...bytes)).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
    expect(requests.flatMap((r) => r.messages.map((m) => m.value))).toEqual(records.map((r) => r.value));
  });
});

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

  it('tells each record when it is sent and, after the broker acknowledged its request, when it is acknowledged', async () => {
    const events: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const producer = {
      send: async (record: ProducerRecord) => {
        events.push(`send ${record.messages.length}`);
        await held;
        return [];
      },
    } as unknown as Producer;
    const records = [...cdrStream(3, { seed: 3, tenants: 2, idPrefix: 'a-' })];
    const sentAt = new Map<string, number>();
    const ackedAt = new Map<string, number>();
    const writing = writeStream(records, {
      producer,
      topic: 't',
      batchSize: 3,
      inFlight: 1,
      onSend: (record, at) => sentAt.set(record.id!, at),
      onAcked: (record, at) => ackedAt.set(record.id!, at),
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(['send 3']);
    expect(sentAt.size).toBe(3);
    expect(ackedAt.size).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    await writing;
    expect([...ackedAt.keys()]).toEqual(records.map((r) => r.id));
    for (const [id, at] of ackedAt) expect(at - sentAt.get(id)!).toBeGreaterThanOrEqual(19);
  });
});

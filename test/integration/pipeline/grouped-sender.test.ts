import { Kafka, Partitioners, Producer } from 'kafkajs';
import { GroupedSender } from '../../../src/kafka/grouped-sender';
import { consumeMessages, createTopics, testKafka, uniqueName } from '../../support/stack';

describe('GroupedSender on the real broker', () => {
  let kafka: Kafka;
  let producer: Producer;
  const topics = { a: uniqueName('grouped-a'), b: uniqueName('grouped-b') };
  const produceRequests: number[] = [];

  beforeAll(async () => {
    kafka = testKafka();
    const admin = kafka.admin();
    await admin.connect();
    await createTopics(admin, Object.values(topics), 3);
    await admin.disconnect();
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
    producer.on(producer.events.REQUEST, ({ payload }) => {
      if (payload.apiName === 'Produce') produceRequests.push(payload.size);
    });
    await producer.connect();
  });

  afterAll(() => producer.disconnect());

  it('sends what callers hand in together in one request, and every message arrives', async () => {
    const sender = new GroupedSender(producer);
    const batch = (caller: number) => [
      {
        topic: topics.a,
        messages: Array.from({ length: 20 }, (_, i) => ({ key: `t${caller}`, value: `a-${caller}-${i}` })),
      },
      { topic: topics.b, messages: [{ key: `t${caller}`, value: `b-${caller}` }] },
    ];
    produceRequests.length = 0;
    await Promise.all([0, 1, 2, 3, 4, 5].map((caller) => sender.send(batch(caller))));
    expect(produceRequests).toHaveLength(1);

    const a = await consumeMessages(kafka, topics.a, 120);
    const b = await consumeMessages(kafka, topics.b, 6);
    expect(new Set(a.map((m) => m.value!.toString())).size).toBe(120);
    expect(b.map((m) => m.value!.toString()).sort()).toEqual([0, 1, 2, 3, 4, 5].map((c) => `b-${c}`));
    // One caller's messages keep their order (they share a key, so a partition).
    const caller3 = a.filter((m) => m.key!.toString() === 't3').map((m) => m.value!.toString());
    expect(caller3).toEqual(Array.from({ length: 20 }, (_, i) => `a-3-${i}`));
  });

  it('splits what exceeds the request size, and rejects every caller of a failed request', async () => {
    const sender = new GroupedSender(producer, 1000);
    produceRequests.length = 0;
    const big = Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: 'x'.repeat(400) + i }));
    await sender.send([{ topic: topics.a, messages: big }]);
    expect(produceRequests).toHaveLength(5);

    const failing = new GroupedSender(producer);
    const missing = uniqueName('no-such-topic');
    const results = await Promise.allSettled([
      failing.send([{ topic: topics.b, messages: [{ key: 'k', value: 'fine' }] }]),
      failing.send([{ topic: missing, messages: [{ key: 'k', value: 'lost' }] }]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});

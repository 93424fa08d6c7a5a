import { replayDeadLetters } from '../../../src/kafka/dead-letter-replay';
import { consumeMessages, createTopics, testKafka, uniqueName } from '../../support/stack';

describe('replaying the dead-letter topic', () => {
  it('sends back the chosen reason, original bytes and key, once', async () => {
    const kafka = testKafka();
    const dlq = uniqueName('dlq');
    const usage = uniqueName('cdr');
    const admin = kafka.admin();
    await admin.connect();
    await createTopics(admin, [dlq, usage], 2);
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: dlq,
      messages: [
        {
          key: 'ghost',
          value: '{"id":"u1","tenantId":"ghost"}',
          headers: { 'x-error-code': 'unknown_tenant' },
        },
        { key: 'acme', value: '{"id": broken', headers: { 'x-error-code': 'malformed_json' } },
        {
          key: 'ghost',
          value: '{"id":"u2","tenantId":"ghost"}',
          headers: { 'x-error-code': 'unknown_tenant' },
        },
      ],
    });
    await producer.disconnect();
    const options = {
      kafka,
      deadLetterTopic: dlq,
      usageTopic: usage,
      groupId: uniqueName('replay'),
      reason: 'unknown_tenant',
    };

    expect(await replayDeadLetters({ ...options, dryRun: true })).toEqual({
      read: 3,
      replayed: 2,
      byReason: { unknown_tenant: 2 },
    });
    expect(await replayDeadLetters(options)).toEqual({
      read: 3,
      replayed: 2,
      byReason: { unknown_tenant: 2 },
    });
    expect(await replayDeadLetters(options)).toEqual({ read: 0, replayed: 0, byReason: {} });

    const replayed = await consumeMessages(kafka, usage, 2);
    expect(replayed.map((m) => [m.key!.toString(), m.value!.toString()]).sort()).toEqual([
      ['ghost', '{"id":"u1","tenantId":"ghost"}'],
      ['ghost', '{"id":"u2","tenantId":"ghost"}'],
    ]);
    expect(replayed[0]!.headers!['x-replayed-reason']!.toString()).toBe('unknown_tenant');
    expect(replayed[0]!.headers!['x-replayed-from']!.toString()).toMatch(new RegExp(`^${dlq}/\\d/\\d+$`));
  });
});

import { KafkaJSNonRetriableError, KafkaJSProtocolError, Message, Producer } from 'kafkajs';
import { GroupedSender, isSizeError, produceRequests } from '../../../src/kafka/grouped-sender';

// A message of `bytes` in a request: key, value and the 64 bytes a record costs besides.
const message = (bytes: number, key = 'k'): Message => ({
  key,
  value: Buffer.alloc(bytes - key.length - 64),
});
const sizes = (requests: ReturnType<typeof produceRequests>) =>
  requests.map((request) => request.map((t) => `${t.topic}:${t.messages.length}`).join(','));

describe('produceRequests', () => {
  it('keeps every message, in order, in requests no larger than the limit', () => {
    const rated = Array.from({ length: 10 }, () => message(300));
    const dead = Array.from({ length: 3 }, () => message(300));
    const requests = produceRequests(
      [
        { topic: 'rated', messages: rated },
        { topic: 'dlq', messages: dead },
      ],
      1000,
    );
    expect(sizes(requests)).toEqual(['rated:3', 'rated:3', 'rated:3', 'rated:1,dlq:2', 'dlq:1']);
    expect(requests.flatMap((r) => r.flatMap((t) => t.messages))).toEqual([...rated, ...dead]);
  });

  it('counts header bytes, sends an oversize message alone, and sends nothing for nothing', () => {
    const withHeaders: Message = {
      key: 'k',
      value: 'v'.repeat(100),
      headers: { 'x-error-message': 'e'.repeat(900) },
    };
    expect(
      sizes(
        produceRequests(
          [{ topic: 't', messages: [message(100), withHeaders, message(2000), message(100)] }],
          1000,
        ),
      ),
    ).toEqual(['t:1', 't:1', 't:1', 't:1']);
    expect(produceRequests([{ topic: 't', messages: [] }])).toEqual([]);
  });
});

describe('GroupedSender and messages the broker cannot take', () => {
  /** A producer whose broker refuses, as kafkajs reports it, any request holding a poisoned value. */
  const fakeProducer = (refuse: (m: Message) => boolean, error = sizeError) => {
    const requests: string[][] = [];
    const producer = {
      sendBatch: async ({ topicMessages }: { topicMessages: { topic: string; messages: Message[] }[] }) => {
        const values = topicMessages.flatMap((t) => t.messages.map((m) => `${t.topic}:${String(m.value)}`));
        requests.push(values);
        if (topicMessages.some((t) => t.messages.some(refuse))) throw error();
        return [];
      },
    } as unknown as Producer;
    return { producer, requests };
  };
  const sizeError = () =>
    new KafkaJSNonRetriableError(
      protocolError(
        'MESSAGE_TOO_LARGE',
        10,
        'The request included a message larger than the max message size the server will accept',
      ),
    );
  const value = (v: string): Message => ({ key: 'k', value: v });
  const protocolError = (type: string, code: number, message: string) =>
    new KafkaJSProtocolError(Object.assign(new Error(message), { type, code, retriable: false }));

  it('recognises the size refusals kafkajs wraps, and nothing else', () => {
    expect(isSizeError(sizeError())).toBe(true);
    expect(isSizeError(protocolError('RECORD_LIST_TOO_LARGE', 18, 'x'))).toBe(true);
    expect(isSizeError(new KafkaJSNonRetriableError(new Error('Connection closed')))).toBe(false);
    expect(isSizeError(new Error('timeout'))).toBe(false);
  });

  it('sends the rest of a request around a message refused as too large, and hands that one back', async () => {
    const { producer, requests } = fakeProducer((m) => String(m.value) === 'poison');
    const sender = new GroupedSender(producer);
    const mine = [value('a1'), value('poison'), value('a2')];
    const theirs = [value('b1'), value('b2')];
    const [refusedMine, refusedTheirs] = await Promise.all([
      sender.send([{ topic: 'rated', messages: mine }]),
      sender.send([{ topic: 'other', messages: theirs }]),
    ]);
    expect(refusedMine).toEqual([mine[1]]);
    expect(refusedTheirs).toEqual([]);
    // The whole request, then its halves until the poisoned message stands alone.
    expect(requests).toEqual([
      ['rated:a1', 'rated:poison', 'rated:a2', 'other:b1', 'other:b2'],
      ['rated:a1', 'rated:poison', 'rated:a2'],
      ['rated:a1', 'rated:poison'],
      ['rated:a1'],
      ['rated:poison'],
      ['rated:a2'],
      ['other:b1', 'other:b2'],
    ]);
  });

  it('refuses a message over the broker limit without sending it, and passes other errors on', async () => {
    const { producer, requests } = fakeProducer(() => false);
    const sender = new GroupedSender(producer, 1000, 200);
    const large = value('x'.repeat(100));
    expect(await sender.send([{ topic: 't', messages: [value('small'), large] }])).toEqual([large]);
    expect(requests).toEqual([['t:small']]);

    const down = fakeProducer(
      () => true,
      () => new KafkaJSNonRetriableError(new Error('Connection closed')),
    );
    await expect(
      new GroupedSender(down.producer).send([{ topic: 't', messages: [value('a')] }]),
    ).rejects.toThrow('Connection closed');
  });
});

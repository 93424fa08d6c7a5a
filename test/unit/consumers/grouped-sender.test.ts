import type { Message } from 'kafkajs';
import { produceRequests } from '../../../src/consumers/grouped-sender';

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

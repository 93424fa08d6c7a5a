import Redis from 'ioredis';
import { Kafka, Partitioners, Producer } from 'kafkajs';
import { restart } from '../../tools/stack/stack';
import { deploymentEnv, faultKafka, faultStack, kill, RaterProcess, startRater } from '../support/fault';
import { generate, setUpTenants, verify } from '../support/fault-stream';

jest.setTimeout(300_000);

describe('exactly once in effect: crashes, restarts and replays', () => {
  let kafka: Kafka;
  let producer: Producer;
  let redis: Redis;
  const raters: RaterProcess[] = [];

  beforeAll(async () => {
    kafka = faultKafka();
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
    await producer.connect();
    redis = new Redis(faultStack().redis.url);
  });
  afterAll(async () => {
    await Promise.all(raters.map((r) => kill(r)));
    await producer.disconnect();
    redis.disconnect();
  });

  function launch(env: Record<string, string>, name: string) {
    const rater = startRater(env, name);
    raters.push(rater);
    return rater;
  }

  it('loses nothing and charges nothing twice through SIGKILLs of the rater, a Redis restart and a broker restart', async () => {
    const env = deploymentEnv();
    const ledger = await setUpTenants(redis, env);
    const records = generate(4000);
    let rater = launch(env, 'kill-1');
    await rater.ready;

    const waves = 8;
    const size = Math.ceil(records.length / waves);
    for (let w = 0; w < waves; w++) {
      await producer.send({
        topic: env.TOPIC_USAGE_IN!,
        messages: records.slice(w * size, (w + 1) * size).map(({ key, value }) => ({ key, value })),
      });
      await new Promise((resolve) => setTimeout(resolve, 100 + ((w * 137) % 300)));
      if (w % 2 === 0) {
        await kill(rater); // in the middle of whatever it was doing
        rater = launch(env, `kill-${w + 2}`);
        await rater.ready;
      }
      if (w === 3) await restart('redis', faultStack().dir);
      if (w === 5) await restart('kafka', faultStack().dir);
    }

    const counts = await verify(kafka, redis, env, ledger, records);
    expect(counts.distinct).toBeLessThanOrEqual(counts.rated);
    await kill(rater, 'SIGTERM');
  });

  it('keeps going when one of two instances in the group is killed', async () => {
    const env = deploymentEnv();
    const ledger = await setUpTenants(redis, env);
    const records = generate(3000, 7);
    const first = launch(env, 'pair-1');
    const second = launch(env, 'pair-2');
    await Promise.all([first.ready, second.ready]);

    await producer.send({
      topic: env.TOPIC_USAGE_IN!,
      messages: records.slice(0, 1500).map(({ key, value }) => ({ key, value })),
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await kill(first);
    await producer.send({
      topic: env.TOPIC_USAGE_IN!,
      messages: records.slice(1500).map(({ key, value }) => ({ key, value })),
    });

    await verify(kafka, redis, env, ledger, records);
    await kill(second, 'SIGTERM');
  });
});

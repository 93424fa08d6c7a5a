import fc from 'fast-check';
import { Consumer, Kafka, KafkaMessage, Partitioners, Producer } from 'kafkajs';
import { decimalToMinor } from '../../../src/credits/money';
import { PipelineInstrumentation } from '../../../src/shared/instrumentation';
import { UsageConsumer } from '../../../src/kafka/usage-consumer';
import { FlatPricer } from '../../support/flat-pricer';
import { ledgerFixture, LedgerFixture, prepaid } from '../../support/ledger';
import { createTopics, testKafka, uniqueName } from '../../support/stack';
import { eventually } from '../../support/wait';

/**
 * A property-based fuzz of the CDR topic: malformed, oversized, deep, keyless, out-of-window,
 * unrated, duplicate, conflicting and valid records interleaved on three partitions, through
 * the real consumer. Every record ends once, rated or dead-lettered as a model says; no
 * partition stalls (every record ends); the balances are what the rated records charged.
 */

const NOW = new Date('2026-11-25T09:00:00Z');
/** A small broker limit, so that oversized records stay cheap to send. */
const LIMIT = 64 * 1024;
const TENANTS = 3;
const FUNDED = 10n ** 9n;

type Spec =
  | { kind: 'valid'; tenant: number; slot: number; variant: number }
  | { kind: 'malformed'; tenant: number; cut: number }
  | { kind: 'deep'; tenant: number; depth: number }
  | { kind: 'oversized'; tenant: number; extra: number }
  | { kind: 'nearLimit'; tenant: number; below: number }
  | { kind: 'noKey' | 'wrongKey' | 'future' | 'old' | 'unrated'; tenant: number };

const tenant = fc.integer({ min: 0, max: TENANTS - 1 });
const spec: fc.Arbitrary<Spec> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('valid' as const),
      tenant,
      slot: fc.integer({ min: 0, max: 15 }),
      // Mostly the same content again (a duplicate), sometimes other content (a conflict).
      variant: fc.integer({ min: 0, max: 4 }).map((v) => (v === 4 ? 1 : 0)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('malformed' as const),
      tenant,
      cut: fc.integer({ min: 1, max: 150 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('deep' as const),
      tenant,
      depth: fc.integer({ min: 33, max: 3000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('oversized' as const),
      tenant,
      extra: fc.integer({ min: 1, max: 2000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('nearLimit' as const),
      tenant,
      below: fc.integer({ min: 0, max: 150 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom(
        'noKey' as const,
        'wrongKey' as const,
        'future' as const,
        'old' as const,
        'unrated' as const,
      ),
      tenant,
    }),
  },
);

/** A record of `bytes` bytes exactly, padded by a carried-through field. */
const padded = (record: Record<string, unknown>, bytes: number) => {
  const bare = JSON.stringify({ ...record, pad: '' });
  return JSON.stringify({ ...record, pad: 'x'.repeat(bytes - Buffer.byteLength(bare)) });
};

/** What the consumer must make of each record: rated (and charged once), or its dead letter. */
type Expected = { to: 'rated'; charge: bigint; duplicate: boolean } | { to: 'dlq'; code: string };

describe('fuzz of the CDR topic (fast-check, fixed seed)', () => {
  let kafka: Kafka;
  let producer: Producer;
  let f: LedgerFixture;
  let consumer: UsageConsumer;
  let collector: Consumer;
  const topics = { usageIn: uniqueName('cdr'), ratedOut: uniqueName('rated'), deadLetter: uniqueName('dlq') };
  const rated: KafkaMessage[] = [];
  const dead: KafkaMessage[] = [];

  beforeAll(async () => {
    kafka = testKafka();
    const admin = kafka.admin();
    await admin.connect();
    await createTopics(admin, Object.values(topics), TENANTS);
    await admin.disconnect();
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
    await producer.connect();
    f = ledgerFixture();
    consumer = new UsageConsumer({
      kafka,
      producer,
      ledger: f.ledger.writes,
      pricer: new FlatPricer(),
      groupId: uniqueName('rater'),
      topics,
      instrumentation: new PipelineInstrumentation(),
      clock: () => NOW,
      maxMessageBytes: LIMIT,
    });
    await consumer.start();
    collector = kafka.consumer({ groupId: uniqueName('collect') });
    await collector.connect();
    await collector.subscribe({ topics: [topics.ratedOut, topics.deadLetter], fromBeginning: true });
    await collector.run({
      eachMessage: async ({ topic, message }) =>
        void (topic === topics.ratedOut ? rated : dead).push(message),
    });
  });

  afterAll(async () => {
    await collector.disconnect();
    await consumer.stop();
    await producer.disconnect();
    f.close();
  });

  let run = 0;
  it('ends every record once, rated or dead-lettered, and the balances reconcile', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(spec, { minLength: 40, maxLength: 100 }), async (specs) => {
        run += 1;
        const tenants = Array.from({ length: TENANTS }, (_, i) => `fuzz-${run}-${i}-${uniqueName('t')}`);
        for (const t of tenants) {
          await f.ledger.writes.upsertAccount(t, prepaid());
          await f.ledger.writes.addFunds(t, {
            paymentRef: 'p',
            amount: FUNDED,
            currency: 'USD',
            purchasedAt: f.clock.now,
          });
        }
        // The model: the first delivery of a usage id is charged; the same content again is a
        // duplicate; other content is a conflict.
        const first = new Map<string, number>();
        const inputs = specs.map((s, seq) => {
          const tenantId = tenants[s.tenant]!;
          const base = {
            id: `${tenantId}-u${seq}`,
            tenantId,
            callType: 'user_out',
            startDateTime: '2026-11-24T09:00:00Z',
            duration: 125,
            calleeNumber: '+442071234567',
            licenseCapability: 'MCOPSTNPP',
            usageCountryCode: 'US',
            run,
            seq,
          };
          let key: string | null = tenantId;
          let value: string;
          let expected: Expected;
          switch (s.kind) {
            case 'valid': {
              const id = `${tenantId}-slot${s.slot}`;
              const duration = 30 * s.slot + 7 * s.variant; // the variant changes the content
              const minutes = Math.ceil(duration / 60);
              const charge = s.slot % 3 === 0 || minutes === 0 ? 0n : BigInt(minutes * 10 + 5);
              const callType = s.slot % 3 === 0 ? 'user_in' : 'user_out';
              value = JSON.stringify({ ...base, id, duration, callType });
              const seen = first.get(id);
              if (seen === undefined) first.set(id, s.variant);
              expected =
                seen === undefined
                  ? { to: 'rated', charge, duplicate: false }
                  : seen === s.variant
                    ? { to: 'rated', charge: 0n, duplicate: true }
                    : { to: 'dlq', code: 'conflicting_duplicate' };
              break;
            }
            case 'malformed':
              value = JSON.stringify(base).slice(0, s.cut);
              expected = { to: 'dlq', code: 'malformed_json' };
              break;
            case 'deep':
              value = JSON.stringify(base).replace(
                /}$/,
                `,"x":${'['.repeat(s.depth)}${']'.repeat(s.depth)}}`,
              );
              expected = { to: 'dlq', code: 'too_deep' };
              break;
            case 'oversized':
              value = padded(base, LIMIT + s.extra);
              expected = { to: 'dlq', code: 'record_too_large' };
              break;
            case 'nearLimit':
              value = padded(base, LIMIT - s.below);
              expected = { to: 'dlq', code: 'too_large' };
              break;
            case 'noKey':
            case 'wrongKey':
              key = s.kind === 'noKey' ? null : tenants[(s.tenant + 1) % TENANTS]!;
              value = JSON.stringify(base);
              expected = { to: 'dlq', code: 'key_mismatch' };
              break;
            case 'future':
              value = JSON.stringify({ ...base, startDateTime: '2100-01-01T00:00:00Z' });
              expected = { to: 'dlq', code: 'future_start' };
              break;
            case 'old':
              value = JSON.stringify({ ...base, startDateTime: '2026-01-01T00:00:00Z' });
              expected = { to: 'dlq', code: 'too_late' };
              break;
            case 'unrated':
              value = JSON.stringify({ ...base, calleeNumber: '+99912345' });
              expected = { to: 'dlq', code: 'unrated_destination' };
              break;
          }
          return { seq, tenant: s.tenant, key, value, expected, offset: '' };
        });

        // Each tenant on its own partition, in order; one message a request, for its offset.
        await Promise.all(
          Array.from({ length: TENANTS }, async (_, partition) => {
            for (const input of inputs.filter((i) => i.tenant === partition)) {
              const [meta] = await producer.send({
                topic: topics.usageIn,
                messages: [{ key: input.key, value: input.value, partition }],
              });
              input.offset = `${partition}/${meta!.baseOffset}`;
            }
          }),
        );

        const ratedOf = (m: KafkaMessage) => JSON.parse(m.value!.toString()) as Record<string, unknown>;
        const mine = () => ({
          rated: rated.filter((m) => ratedOf(m).run === run),
          dead: dead.filter((m) =>
            inputs.some(
              (i) => `${m.headers!['x-origin-partition']}/${m.headers!['x-origin-offset']}` === i.offset,
            ),
          ),
        });
        await eventually(() => {
          const { rated: r, dead: d } = mine();
          expect(r.length + d.length).toBe(inputs.length);
        }, 60_000);
        const { rated: r, dead: d } = mine();

        const outcome = inputs.map((input) => {
          const asRated = r.filter((m) => ratedOf(m).seq === input.seq);
          const asDead = d.filter(
            (m) => `${m.headers!['x-origin-partition']}/${m.headers!['x-origin-offset']}` === input.offset,
          );
          expect(asRated.length + asDead.length).toBe(1);
          if (asDead.length === 1)
            return { to: 'dlq', code: asDead[0]!.headers!['x-error-code']!.toString() };
          const value = ratedOf(asRated[0]!);
          const duplicate = asRated[0]!.headers?.['x-duplicate']?.toString() === 'true';
          return {
            to: 'rated',
            charge: duplicate ? 0n : decimalToMinor(String(value.charge), 'USD'),
            duplicate,
          };
        });
        expect(outcome).toEqual(inputs.map((i) => i.expected));

        // Rated once: distinct usage ids among the records that are not repeats.
        const firsts = r.filter((m) => m.headers?.['x-duplicate'] === undefined).map((m) => ratedOf(m).id);
        expect(new Set(firsts).size).toBe(firsts.length);
        // The balances are what the rated records charged, and what the model says.
        for (const [i, t] of tenants.entries()) {
          const charged = inputs
            .filter((input) => input.tenant === i && input.expected.to === 'rated')
            .reduce((sum, input) => sum + (input.expected as { charge: bigint }).charge, 0n);
          const onTopic = r
            .filter((m) => ratedOf(m).tenantId === t && m.headers?.['x-duplicate'] === undefined)
            .reduce((sum, m) => sum + decimalToMinor(String(ratedOf(m).charge), 'USD'), 0n);
          const balance = (await f.ledger.reads.readAccount(t))!.balance;
          expect([balance, FUNDED - onTopic]).toEqual([FUNDED - charged, FUNDED - charged]);
        }
      }),
      { seed: 20261125, numRuns: 4, endOnFailure: true },
    );
  }, 300_000);
});

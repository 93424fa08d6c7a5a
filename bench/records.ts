/**
 * npm run bench:records: the CPU the rater spends on one CDR outside the ledger, step by step.
 * Pure (no Kafka, no Redis): generated CDRs (tools/loadgen/cdr-stream.ts) are decoded,
 * fingerprinted and serialised, then their rated details and usage report fields packed and
 * unpacked, their size probed before the debit (RecordMessages.check) and their rated
 * message built (RecordMessages.messageFor), as the consumer does. Prints microseconds per record of each
 * step, CPU (process.cpuUsage, user + system) and wall clock, and their total.
 *
 * BENCH_RECORDS_COUNT sets how many CDRs (200,000 by default); BENCH_RECORDS_ROUNDS how many
 * times each step runs over them (the best round is kept: the first ones warm the JIT).
 */
import type { KafkaMessage } from 'kafkajs';
import {
  decodeCdr,
  DecodedCdr,
  decodeCdrs,
  DecodedUsageRecord,
  defaultCdrRules,
} from '../src/kafka/cdr-decoder';
import { Incoming, RecordMessages, Settling } from '../src/kafka/record-messages';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../src/kafka/grouped-sender';
import type { RatedDetails } from '../src/credits/usage-details';
import { serialiseRecord } from '../src/kafka/rated-record-format';
import { packReport, unpackReport } from '../src/ledger/report-encoding';
import { packRated, unpackRated } from '../src/ledger/usage-encoding';
import { fingerprint } from '../src/settlement/rated-details';
import type { AppliedCharge } from '../src/settlement/settle-outcomes';
import { cdrStream } from '../tools/loadgen/cdr-stream';

const COUNT = Number(process.env.BENCH_RECORDS_COUNT ?? 200_000);
const ROUNDS = Number(process.env.BENCH_RECORDS_ROUNDS ?? 3);
/** As many records as the consumer decodes at once (one fetch's batch). */
const BATCH = 500;

interface Figures {
  cpuUs: number;
  wallUs: number;
}

/** The best of ROUNDS runs of `step` over all records, in microseconds per record. */
async function measure(step: () => unknown): Promise<Figures> {
  let best: Figures = { cpuUs: Infinity, wallUs: Infinity };
  for (let round = 0; round < ROUNDS; round++) {
    const cpu = process.cpuUsage();
    const wall = process.hrtime.bigint();
    await step();
    const used = process.cpuUsage(cpu);
    const wallUs = Number(process.hrtime.bigint() - wall) / 1e3 / COUNT;
    const cpuUs = (used.user + used.system) / COUNT;
    if (cpuUs < best.cpuUs) best = { cpuUs, wallUs };
  }
  return best;
}

async function main(): Promise<void> {
  const rules = defaultCdrRules();
  const incoming: Incoming[] = [];
  let offset = 0;
  for (const cdr of cdrStream(COUNT)) {
    const message = {
      key: Buffer.from(cdr.key),
      value: cdr.value,
      headers: {},
      offset: String(offset++),
      timestamp: '0',
      attributes: 0,
    } as KafkaMessage;
    incoming.push({ topic: 'usage', partition: 0, message });
  }
  const keys = incoming.map(({ message }) => message.key?.toString());

  const results: [string, Figures][] = [];
  let records: { item: Incoming; record: DecodedUsageRecord }[] = [];
  const keep = (batch: Incoming[], decoded: DecodedCdr[]) =>
    decoded.forEach((d, i) => {
      if ('record' in d) records.push({ item: batch[i]!, record: d.record });
    });
  const batches: { batch: Incoming[]; messages: { value: Buffer | null; key: string | undefined }[] }[] = [];
  for (let start = 0; start < COUNT; start += BATCH) {
    const batch = incoming.slice(start, start + BATCH);
    batches.push({
      batch,
      messages: batch.map(({ message }, i) => ({ value: message.value, key: keys[start + i] })),
    });
  }
  results.push([
    'decodeCdr (a promise each, batches of 500)',
    await measure(async () => {
      records = [];
      for (const { batch, messages } of batches) {
        keep(
          batch,
          await Promise.all(messages.map(({ value, key }) => decodeCdr(value, key, undefined, rules))),
        );
      }
    }),
  ]);
  results.push([
    'decodeCdrs (batches of 500)',
    await measure(async () => {
      records = [];
      for (const { batch, messages } of batches) keep(batch, await decodeCdrs(messages, undefined, rules));
    }),
  ]);

  let fingerprints: string[] = [];
  results.push([
    'fingerprint',
    await measure(() => {
      fingerprints = records.map(({ record }) => fingerprint(record));
    }),
  ]);
  let bodies: string[] = [];
  results.push([
    'serialiseRecord',
    await measure(() => {
      bodies = records.map(({ record }) => serialiseRecord(record));
    }),
  ]);

  const settling: Settling[] = records.map(({ item, record }, i) => ({
    item,
    record,
    body: bodies[i]!,
    fingerprint: fingerprints[i]!,
  }));
  const details: RatedDetails[] = settling.map((s, i) => ({
    fingerprint: s.fingerprint!,
    billedSeconds: 60 * Math.ceil(s.record.duration / 60),
    connectionCharge: BigInt(i % 7),
    currency: i % 3 === 0 ? 'EUR' : 'USD',
    destinationName: i % 5 === 0 ? 'United Kingdom - Mobile' : 'United States',
    rate: i % 10 === 0 ? null : { deck: 'pstn-out', version: '2026-11', prefix: '+44' },
  }));
  const applied: AppliedCharge[] = settling.map((s, i) => ({
    charge: BigInt(s.record.duration * 3 + i),
    poolSeconds: i % 4 === 0 ? 60 : 0,
    source: i % 4 === 0 ? 'bundle' : 'credits',
    appliedAt: new Date(1_764_000_000_000 + i),
  }));

  let packed: string[] = [];
  results.push([
    'packRated',
    await measure(() => {
      packed = details.map(packRated);
    }),
  ]);
  results.push(['unpackRated', await measure(() => packed.map(unpackRated))]);
  let reports: string[] = [];
  results.push([
    'packReport',
    await measure(() => {
      reports = records.map(({ record }) => packReport(record, 'International'));
    }),
  ]);
  results.push([
    "unpackReport (the report's read, not counted)",
    await measure(() => reports.map(unpackReport)),
  ]);

  const messages = new RecordMessages(DEFAULT_MAX_MESSAGE_BYTES);
  results.push([
    'check (size probe)',
    await measure(() => settling.map((s, i) => messages.check(s, details[i]!, applied[i]!))),
  ]);
  results.push([
    'messageFor (rated message)',
    await measure(() =>
      settling.map((s, i) =>
        messages.messageFor(s.item, {
          kind: 'rated',
          record: s.record,
          body: s.body,
          details: details[i]!,
          applied: applied[i]!,
          duplicate: false,
        }),
      ),
    ),
  ]);

  const width = Math.max(...results.map(([name]) => name.length));
  console.log(
    `${COUNT} CDRs (${records.length} valid), best of ${ROUNDS} rounds, µs per CDR\n` +
      `${'step'.padEnd(width)}  ${'cpu'.padStart(7)}  ${'wall'.padStart(7)}`,
  );
  const line = (name: string, { cpuUs, wallUs }: Figures) =>
    console.log(`${name.padEnd(width)}  ${cpuUs.toFixed(3).padStart(7)}  ${wallUs.toFixed(3).padStart(7)}`);
  for (const [name, figures] of results) line(name, figures);
  // The consumer's path: decodeCdrs, not decodeCdr's promise per record as well.
  // A report is unpacked when the tenant's report is read, not by the consumer.
  const counted = results.filter(
    ([name]) => !name.startsWith('decodeCdr ') && !name.startsWith('unpackReport'),
  );
  line('total (decodeCdrs and the rest)', {
    cpuUs: counted.reduce((sum, [, f]) => sum + f.cpuUs, 0),
    wallUs: counted.reduce((sum, [, f]) => sum + f.wallUs, 0),
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

/**
 * Produce-to-debit latency at a fixed offered load: each CDR's latency runs from its produce
 * request (the load generator's send time) to its debit (`ratedAt` on its rated record), read
 * back from the rated topic by one reader for all the points of a curve.
 */
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import { cdrStream } from '../tools/loadgen/cdr-stream';
import { writeStream } from '../tools/loadgen/writer';
import { sleep } from './measure';

export interface LatencyPoint {
  /** What the load generator managed to send, a second, over the whole point. */
  offeredPerSecond: number;
  /** The point's records debited between the end of the warm-up and the end of the sending, a second. */
  achievedPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Of the same records: from the produce request to its acknowledgement (the broker's append). */
  sendToAckP50Ms: number;
  sendToAckP99Ms: number;
  /** Of the same records: from the acknowledgement to the debit (fetch cycle and settling). */
  ackToDebitP50Ms: number;
  ackToDebitP99Ms: number;
  /** Records sent after the warm-up and rated within the wait: what the percentiles are of. */
  measured: number;
  /** Records of the point (warm-up included) not rated within the wait. */
  missing: number;
}

export interface PointOptions {
  producer: Producer;
  topic: string;
  tenants: number;
  rate: number;
  seconds: number;
  warmupSeconds: number;
  /** After the last send: how long the point waits for its records' rated records. */
  waitSeconds: number;
  idPrefix: string;
  seed: number;
}

/** A point of a latency curve: its offered rate and its name. */
export interface CurvePoint {
  rate: number;
  point: string;
}

interface Point {
  sentAt: Map<string, number>;
  ackedAt: Map<string, number>;
  latencies: number[];
  toAck: number[];
  fromAck: number[];
  ratedAt: number[];
  measuredFrom: number;
  allRated: () => void;
}

/** Nearest-rank quantile of sorted values; NaN for none. */
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

export class LatencyProbe {
  private point: Point | undefined;
  private valueBytes = 0;
  private values = 0;

  private constructor(private readonly reader: Consumer) {}

  /** A reader of the rated topic from its current end, in a group of its own. */
  static async open(kafka: Kafka, admin: Admin, ratedTopic: string, groupId: string): Promise<LatencyProbe> {
    const starts = await admin.fetchTopicOffsets(ratedTopic);
    const reader = kafka.consumer({ groupId });
    const probe = new LatencyProbe(reader);
    try {
      await reader.connect();
      await reader.subscribe({ topic: ratedTopic });
      let joined!: () => void;
      const ready = new Promise<void>((resolve) => (joined = resolve));
      reader.on(reader.events.GROUP_JOIN, () => joined());
      await reader.run({ eachMessage: async ({ message }) => probe.seen(message.value) });
      await ready;
      for (const p of starts) reader.seek({ topic: ratedTopic, partition: p.partition, offset: p.high });
      await sleep(500);
      return probe;
    } catch (error) {
      await reader.disconnect().catch(() => {});
      throw error;
    }
  }

  private seen(value: Buffer | null): void {
    if (!value) return;
    this.valueBytes += value.length;
    this.values += 1;
    const point = this.point;
    if (!point) return;
    const record = JSON.parse(value.toString()) as { id: string; ratedAt: string };
    const sent = point.sentAt.get(record.id);
    // Not this point's, or a repeat: a late record of an earlier point was counted missing there.
    if (sent === undefined) return;
    point.sentAt.delete(record.id);
    const ratedAt = Date.parse(record.ratedAt);
    const acked = point.ackedAt.get(record.id);
    point.ackedAt.delete(record.id);
    if (sent >= point.measuredFrom) {
      point.latencies.push(ratedAt - sent);
      // A record rated before its acknowledgement reached the load generator counts as 0.
      const ack = Math.min(acked ?? ratedAt, ratedAt);
      point.toAck.push(ack - sent);
      point.fromAck.push(ratedAt - ack);
    }
    point.ratedAt.push(ratedAt);
    if (point.sentAt.size === 0) point.allRated();
  }

  /** Average bytes of the rated records' values read so far (the rater's own output). */
  ratedValueBytes(): { bytes: number; records: number } {
    return { bytes: this.values ? Math.round(this.valueBytes / this.values) : NaN, records: this.values };
  }

  /** Offers `rate` CDRs a second for `seconds`, then waits for their rated records. */
  async measure(options: PointOptions): Promise<LatencyPoint> {
    const total = Math.round(options.rate * options.seconds);
    let allRated!: () => void;
    const done = new Promise<void>((resolve) => (allRated = resolve));
    const started = Date.now();
    const point: Point = {
      sentAt: new Map(),
      ackedAt: new Map(),
      latencies: [],
      toAck: [],
      fromAck: [],
      ratedAt: [],
      measuredFrom: started + options.warmupSeconds * 1000,
      allRated,
    };
    this.point = point;
    try {
      const written = await writeStream(
        cdrStream(total, {
          seed: options.seed,
          tenants: options.tenants,
          idPrefix: options.idPrefix,
          duplicateShare: 0,
          malformedShare: 0,
        }),
        {
          producer: options.producer,
          topic: options.topic,
          rate: options.rate,
          onSend: (record, at) => point.sentAt.set(record.id!, at),
          onAcked: (record, at) => {
            if (point.sentAt.has(record.id!)) point.ackedAt.set(record.id!, at);
          },
        },
      );
      const sendingEnded = Date.now();
      if (point.sentAt.size > 0) await Promise.race([done, sleep(options.waitSeconds * 1000)]);
      const latencies = point.latencies.sort((a, b) => a - b);
      const toAck = point.toAck.sort((a, b) => a - b);
      const fromAck = point.fromAck.sort((a, b) => a - b);
      const window = (sendingEnded - point.measuredFrom) / 1000;
      const inWindow = point.ratedAt.filter((at) => at >= point.measuredFrom && at <= sendingEnded).length;
      return {
        offeredPerSecond: Math.round(written.sent / written.seconds),
        achievedPerSecond: Math.round(inWindow / window),
        p50Ms: quantile(latencies, 0.5),
        p99Ms: quantile(latencies, 0.99),
        maxMs: latencies.at(-1) ?? NaN,
        sendToAckP50Ms: quantile(toAck, 0.5),
        sendToAckP99Ms: quantile(toAck, 0.99),
        ackToDebitP50Ms: quantile(fromAck, 0.5),
        ackToDebitP99Ms: quantile(fromAck, 0.99),
        measured: latencies.length,
        missing: point.sentAt.size,
      };
    } finally {
      this.point = undefined;
    }
  }

  /**
   * Measures each point in turn (the i-th with ids `<idPrefix><i>-` and seed `seed + i`),
   * `caughtUp` awaited after each.
   */
  async curve(
    points: CurvePoint[],
    options: Omit<PointOptions, 'rate'>,
    caughtUp: () => Promise<void>,
  ): Promise<(LatencyPoint & { point: string })[]> {
    const curve: (LatencyPoint & { point: string })[] = [];
    for (const [i, { rate, point }] of points.entries()) {
      console.log(
        `latency at ${rate.toLocaleString('en')} CDRs/s offered (${point}), ${options.seconds} s, the first ${options.warmupSeconds} s left out`,
      );
      const measured = await this.measure({
        ...options,
        rate,
        idPrefix: `${options.idPrefix}${i}-`,
        seed: options.seed + i,
      });
      curve.push({ point, ...measured });
      if (measured.missing > 0)
        console.log(`  ${measured.missing} records not rated within the wait: missing`);
      await caughtUp();
    }
    return curve;
  }

  async close(): Promise<void> {
    await this.reader.disconnect();
  }
}

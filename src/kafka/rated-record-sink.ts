import type { Producer } from 'kafkajs';
import type { RatedRecordSink, RerateRecord } from '../settlement/ports';
import { rerateValue } from './rated-record-format';

/**
 * Re-rated records onto the rated topic (CONTRACTS.md section 2), keyed by tenant, with
 * `x-rerate` so that a reader can tell them from the first rated record of a usage.
 */
export class KafkaRatedRecordSink implements RatedRecordSink {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
  ) {}

  async publish(records: RerateRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: records.map((record) => ({
        key: record.tenantId,
        value: rerateValue(record),
        headers: { 'content-type': 'application/json', 'x-rerate': 'true' },
      })),
    });
  }
}

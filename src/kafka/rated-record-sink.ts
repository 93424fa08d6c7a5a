import type { Producer } from 'kafkajs';
import type { RatedRecordSink } from '../settlement/ports';

/**
 * Re-rated records onto the rated topic (CONTRACTS.md section 2), keyed by tenant, with
 * `x-rerate` so that a reader can tell them from the first rated record of a usage.
 */
export class KafkaRatedRecordSink implements RatedRecordSink {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
  ) {}

  async publish(records: { tenantId: string; value: string }[]): Promise<void> {
    if (records.length === 0) return;
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: records.map(({ tenantId, value }) => ({
        key: tenantId,
        value,
        headers: { 'content-type': 'application/json', 'x-rerate': 'true' },
      })),
    });
  }
}

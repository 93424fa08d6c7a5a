import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import type { Ledger } from '../ledger/open-ledger';
import { toCloudEvent } from './cloudevents';

export interface OutboxRelayOptions {
  ledger: Pick<Ledger, 'tenants' | 'outbox' | 'leases'>;
  producer: Producer;
  topic: string;
  /** CloudEvents `source` of the events published. */
  source: string;
  /** Events read and published per round trip. */
  batchSize?: number;
  /** How often every tenant's outbox is checked, besides the pokes. */
  sweepIntervalMs?: number;
  /** After each send the broker acknowledged: how many events of each type went out, and their ids. */
  onPublished?: (tenantId: string, countsByType: Map<string, number>, eventIds: string[]) => void;
  onError?: (error: unknown) => void;
}

/**
 * Moves events from the tenants' outbox streams to the events topic, at least once: an entry
 * leaves the outbox only after the broker acknowledged it, so a crash at any point resends
 * (consumers drop repeats by the event's deterministic id). Tenants are relayed when poked
 * by the pipeline and on a periodic sweep over every tenant.
 */
export class OutboxRelay {
  private readonly holder = randomUUID();
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private lastSweep = 0;

  constructor(private readonly options: OutboxRelayOptions) {}

  /** Asks for a tenant's outbox to be relayed soon. */
  poke(tenantId: string): void {
    this.pending.add(tenantId);
    this.schedule(0);
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops after the round in progress, which finishes publishing what it read. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.running) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.round()
        .catch((error: unknown) => this.options.onError?.(error))
        .finally(() => {
          this.running = undefined;
          this.schedule(this.pending.size > 0 ? 0 : (this.options.sweepIntervalMs ?? 1000));
        });
    }, delayMs);
  }

  private async round(): Promise<void> {
    const sweepEvery = this.options.sweepIntervalMs ?? 1000;
    if (Date.now() - this.lastSweep >= sweepEvery) {
      this.lastSweep = Date.now();
      // Only tenants with something waiting: an empty outbox costs one XLEN, not a lease.
      for await (const page of this.options.ledger.tenants.pages()) {
        const lengths = await this.options.ledger.outbox.outboxLengths(page);
        page.forEach((tenant, i) => {
          if (lengths[i]! > 0) this.pending.add(tenant);
        });
      }
    }
    const tenants = [...this.pending];
    this.pending.clear();
    // A poke says a tenant's usage changed, not that it caused an event (most usage causes
    // none): an empty outbox costs one XLEN, not a lease, a read and a release.
    const lengths = await this.options.ledger.outbox.outboxLengths(tenants);
    for (const [i, tenant] of tenants.entries()) {
      if (this.stopped) break;
      if (lengths[i] === 0) continue;
      await this.relayTenant(tenant);
    }
  }

  /** Publishes everything in one tenant's outbox; returns how many events went out. */
  async relayTenant(tenantId: string): Promise<number> {
    const { ledger, producer, topic, source } = this.options;
    const batchSize = this.options.batchSize ?? 500;
    if (!(await ledger.leases.lease(tenantId, 'outbox', this.holder, 30_000))) return 0;
    let published = 0;
    try {
      for (;;) {
        const events = await ledger.outbox.readOutbox(tenantId, '-', batchSize);
        if (events.length === 0) break;
        await producer.send({
          topic,
          acks: -1,
          messages: events.map((event) => ({
            key: tenantId,
            value: JSON.stringify(toCloudEvent(event, source)),
            headers: { ce_id: event.id, ce_type: event.type, 'content-type': 'application/cloudevents+json' },
          })),
        });
        await ledger.outbox.acknowledgeOutbox(
          tenantId,
          events.map((event) => event.streamId),
        );
        published += events.length;
        const byType = new Map<string, number>();
        events.forEach((event) => byType.set(event.type, (byType.get(event.type) ?? 0) + 1));
        this.options.onPublished?.(
          tenantId,
          byType,
          events.map((event) => event.id),
        );
        if (events.length < batchSize) break;
      }
    } finally {
      await ledger.leases.releaseLease(tenantId, 'outbox', this.holder);
    }
    return published;
  }
}

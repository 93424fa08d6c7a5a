import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import type { OutboxLedger, Unsubscribe } from '../settlement/event-ports';
import { toCloudEvent } from './cloudevents';

export interface OutboxRelayOptions {
  ledger: OutboxLedger;
  producer: Producer;
  topic: string;
  /** CloudEvents `source` of the events published. */
  source: string;
  /** Events read and published per round trip. */
  batchSize?: number;
  /**
   * How often the index of tenants with events is read, besides the pokes and the hints: one
   * command per index shard, 1 on standalone Redis (default every 5 s), 16,384 on a Cluster
   * (default every 30 s).
   */
  sweepIntervalMs?: number;
  /** Listen for the hints the scripts publish (default true): events written by other processes go out at once. */
  subscribe?: boolean;
  /** After each send the broker acknowledged: how many events of each type went out, and their ids. */
  onPublished?: (tenantId: string, countsByType: Map<string, number>, eventIds: string[]) => void;
  onError?: (error: unknown) => void;
}

export const DEFAULT_OUTBOX_SWEEP_INTERVAL_MS = { standalone: 5_000, cluster: 30_000 };

/**
 * Tenants whose events share a produce request: a relay that finds many outboxes with events
 * (at start, after an outage) sends a request for several, not one each.
 */
const TENANTS_A_REQUEST = 16;

/**
 * Moves events from the tenants' outbox streams to the events topic, at least once: an entry
 * leaves the outbox only after the broker acknowledged it, so a crash at any point resends
 * (consumers drop repeats by the event's deterministic id). Tenants are relayed when poked
 * by the pipeline of this process, when a script's hint names them (a tenant's outbox went
 * from empty to not empty), and on a periodic safety sweep over the index of tenants with
 * events (the scripts keep it; never a walk over every tenant). A lease per tenant lets
 * several relays take turns.
 */
export class OutboxRelay {
  private readonly holder = randomUUID();
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private lastSweep = 0;
  private sweepSoon = true;
  private subscription: Promise<Unsubscribe | undefined> | undefined;

  constructor(private readonly options: OutboxRelayOptions) {}

  /** Asks for a tenant's outbox to be relayed soon. */
  poke(tenantId: string): void {
    this.pending.add(tenantId);
    this.schedule(0);
  }

  start(): void {
    this.stopped = false;
    this.sweepSoon = true;
    if (this.options.subscribe ?? true) {
      this.subscription = this.options.ledger.indexes
        .watchOutbox(
          (tenantId) => this.poke(tenantId),
          () => {
            // Hints sent while not subscribed are lost: sweep the index at once.
            this.sweepSoon = true;
            this.schedule(0);
          },
        )
        .catch((error: unknown) => {
          this.options.onError?.(error);
          return undefined;
        });
    }
    this.schedule(0);
  }

  /** Stops after the round in progress, which finishes publishing what it read. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const unsubscribe = await this.subscription;
    this.subscription = undefined;
    await unsubscribe?.();
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
          this.schedule(this.pending.size > 0 || this.sweepSoon ? 0 : this.sweepEvery());
        });
    }, delayMs);
  }

  private sweepEvery(): number {
    return (
      this.options.sweepIntervalMs ??
      DEFAULT_OUTBOX_SWEEP_INTERVAL_MS[this.options.ledger.indexes.shards.layout]
    );
  }

  private async round(): Promise<void> {
    if (this.sweepSoon || Date.now() - this.lastSweep >= this.sweepEvery()) {
      this.sweepSoon = false;
      this.lastSweep = Date.now();
      for (const tenant of await this.options.ledger.indexes.tenantsWithEvents()) this.pending.add(tenant);
    }
    const tenants = [...this.pending];
    this.pending.clear();
    // A poke says a tenant's usage changed, not that it caused an event (most usage causes
    // none): an empty outbox costs one XLEN, not a lease, a read and a release.
    const lengths = await this.options.ledger.outbox.outboxLengths(tenants);
    const withEvents = tenants.filter((_, i) => lengths[i] !== 0);
    for (let start = 0; start < withEvents.length && !this.stopped; start += TENANTS_A_REQUEST) {
      await this.relayTenants(withEvents.slice(start, start + TENANTS_A_REQUEST));
    }
  }

  /** Publishes everything in one tenant's outbox; returns how many events went out. */
  relayTenant(tenantId: string): Promise<number> {
    return this.relayTenants([tenantId]);
  }

  /**
   * Publishes everything in the outboxes of a few tenants, their events in one produce request
   * a round (at most `batchSize` events in all, each tenant's in order); returns how many
   * went out. Each tenant's entries leave its outbox only after the broker acknowledged the
   * request; a tenant another relay holds the lease of is left to it.
   */
  async relayTenants(tenantIds: string[]): Promise<number> {
    const { ledger, producer, topic, source } = this.options;
    const batchSize = this.options.batchSize ?? 500;
    const leasing = await Promise.allSettled(
      tenantIds.map((tenantId) => ledger.leases.lease(tenantId, 'outbox', this.holder, 30_000)),
    );
    const leased = leasing.map((l) => l.status === 'fulfilled' && l.value);
    let active = tenantIds.filter((_, i) => leased[i]);
    let published = 0;
    try {
      const failed = leasing.find((l) => l.status === 'rejected');
      if (failed) throw failed.reason;
      while (active.length > 0) {
        const each = Math.max(1, Math.floor(batchSize / active.length));
        const read = await Promise.all(
          active.map((tenantId) => ledger.outbox.readOutbox(tenantId, '-', each)),
        );
        const sending = active
          .map((tenantId, i) => ({ tenantId, events: read[i]! }))
          .filter(({ events }) => events.length > 0);
        if (sending.length === 0) break;
        await producer.send({
          topic,
          acks: -1,
          messages: sending.flatMap(({ tenantId, events }) =>
            events.map((event) => ({
              key: tenantId,
              value: JSON.stringify(toCloudEvent(event, source)),
              headers: {
                ce_id: event.id,
                ce_type: event.type,
                'content-type': 'application/cloudevents+json',
              },
            })),
          ),
        });
        const acknowledged = await Promise.all(
          sending.map(({ tenantId, events }) =>
            ledger.outbox.acknowledge(
              tenantId,
              events.map((event) => event.streamId),
            ),
          ),
        );
        for (const { tenantId, events } of sending) {
          published += events.length;
          const byType = new Map<string, number>();
          events.forEach((event) => byType.set(event.type, (byType.get(event.type) ?? 0) + 1));
          this.options.onPublished?.(
            tenantId,
            byType,
            events.map((event) => event.id),
          );
        }
        // Written since the read: relayed now, since the tenant stayed in the index of tenants
        // with events and no hint says so again.
        active = sending.filter((_, i) => acknowledged[i]!.left > 0).map(({ tenantId }) => tenantId);
      }
    } finally {
      await Promise.all(
        tenantIds
          .filter((_, i) => leased[i])
          .map((tenantId) => ledger.leases.releaseLease(tenantId, 'outbox', this.holder)),
      );
    }
    return published;
  }
}

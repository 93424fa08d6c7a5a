/**
 * The balance events between the adapters: the ledger writes them to a tenant's outbox (in the
 * same script as the change that caused them), the Kafka adapter relays them as CloudEvents,
 * and the workers answer them. Declared here so that none of those adapters imports another.
 */

/** An event as the ledger's outbox keeps it: minor units and epoch milliseconds. */
export interface OutboxEvent {
  /** Position in the tenant's outbox stream. */
  streamId: string;
  id: string;
  type: string;
  time: string;
  tenantId: string;
  data: Record<string, unknown>;
}

/** A CloudEvents 1.0 event in JSON structured mode (CONTRACTS.md section 3), as the workers receive it. */
export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: Record<string, unknown>;
}

/** Stops listening. */
export type Unsubscribe = () => Promise<void>;

/**
 * A short lease on one tenant's work (`what`: outbox, ...), so that concurrent instances take
 * turns. Taken only when nobody holds it; released only by its holder (compare, then delete):
 * a lease that expired and was taken by another holder stays theirs.
 */
export interface LeasePort {
  /** True when this holder got the lease (nobody held it). */
  lease(tenantId: string, what: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Releases the lease if this holder still holds it. */
  releaseLease(tenantId: string, what: string, holder: string): Promise<void>;
}

/** The index of the tenants whose outbox has events (src/ledger/ledger-indexes.ts). */
export interface OutboxIndex {
  /** How the index is sharded: a cluster's sweep of every shard costs more. */
  shards: { layout: 'standalone' | 'cluster' };
  /** The tenants whose outbox has events, from the index shards. */
  tenantsWithEvents(): Promise<string[]>;
  /** Hints of tenants with new events; `onSubscribed` when listening (hints before are lost). */
  watchOutbox(onPending: (tenantId: string) => void, onSubscribed: () => void): Promise<Unsubscribe>;
}

/** The tenants' outboxes, read and acknowledged (src/ledger/outbox-store.ts). */
export interface OutboxReader {
  readOutbox(tenantId: string, afterStreamId?: string, count?: number): Promise<OutboxEvent[]>;
  /** Removes what the broker acknowledged; `left`: events still in the outbox. */
  acknowledge(tenantId: string, streamIds: string[]): Promise<{ removed: number; left: number }>;
  outboxLengths(tenantIds: string[]): Promise<number[]>;
}

/** The ledger as the outbox relay drains it. */
export interface OutboxLedger {
  indexes: OutboxIndex;
  outbox: OutboxReader;
  leases: LeasePort;
}

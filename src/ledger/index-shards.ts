import calculateSlot from 'cluster-key-slot';

/**
 * Index shards: where the ledger keeps, beside the tenants' own keys, the sets that say which
 * tenants have something to do (events to relay, lots to expire) and the ledger-wide gauges.
 * A script may only touch keys of one Redis Cluster slot, so a tenant's index entries live in
 * the shard of its own slot: shard = the key slot of `t:<tenant>` (its hash tag), and the
 * shard's keys carry a hash tag chosen to map to that same slot.
 *
 * On standalone Redis there is one shard, so a sweep costs one command; on a Cluster there
 * are 16,384 (one per slot), and a sweep sends one command per shard.
 */
export const CLUSTER_SLOTS = 16384;

/**
 * The hash tag of the single shard on standalone Redis. It has a character no slot tag has,
 * so after a move to a Cluster (keys copied as they are) its keys are never taken for a
 * Cluster shard's, and the tenants' counted flags (which name the gauges key) are recounted.
 */
export const STANDALONE_TAG = 'ix:all';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

let slotTags: string[] | undefined;

/**
 * slot -> the shortest tag that maps to it: candidates by length, then in alphabet order,
 * the first found per slot kept (deterministic, so every process computes the same table).
 */
function computeSlotTags(): string[] {
  const tags: (string | undefined)[] = new Array<string | undefined>(CLUSTER_SLOTS);
  let missing = CLUSTER_SLOTS;
  let candidates = [''];
  while (missing > 0) {
    const next: string[] = [];
    for (const stem of candidates) {
      for (const char of ALPHABET) {
        const tag = stem + char;
        next.push(tag);
        const slot = calculateSlot(tag);
        if (tags[slot] === undefined) {
          tags[slot] = tag;
          missing -= 1;
        }
      }
    }
    candidates = next;
  }
  return tags as string[];
}

/** A hash tag whose key slot is `slot` (the table is computed once, on first use). */
export function slotTag(slot: number): string {
  if (!Number.isInteger(slot) || slot < 0 || slot >= CLUSTER_SLOTS) throw new RangeError(`no slot ${slot}`);
  slotTags ??= computeSlotTags();
  return slotTags[slot]!;
}

/** The ledger's shards: one on standalone Redis, one per slot on a Cluster. */
export class IndexShards {
  readonly count: number;

  constructor(readonly layout: 'standalone' | 'cluster') {
    this.count = layout === 'cluster' ? CLUSTER_SLOTS : 1;
  }

  /** The shard of a tenant's index entries: its key slot on a Cluster, 0 on standalone. */
  shardOf(tenantId: string): number {
    return this.layout === 'cluster' ? calculateSlot(`t:${tenantId}`) : 0;
  }

  /** The hash tag of a shard's keys (in the slot the shard is named after on a Cluster). */
  tag(shard: number): string {
    return this.layout === 'cluster' ? slotTag(shard) : STANDALONE_TAG;
  }

  /** Every shard, in order. */
  all(): number[] {
    return Array.from({ length: this.count }, (_, shard) => shard);
  }
}

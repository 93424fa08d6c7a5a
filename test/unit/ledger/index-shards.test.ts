import calculateSlot from 'cluster-key-slot';
import { CLUSTER_SLOTS, IndexShards, slotTag, STANDALONE_TAG } from '../../../src/ledger/index-shards';
import { indexKeys, tenantKeys } from '../../../src/ledger/keys';

describe('index shards', () => {
  it('have a tag for every one of the 16384 slots that maps to that slot', () => {
    const wrong: number[] = [];
    for (let slot = 0; slot < CLUSTER_SLOTS; slot += 1)
      if (calculateSlot(slotTag(slot)) !== slot) wrong.push(slot);
    expect(wrong).toEqual([]);
  });

  it('have short tags, distinct, with no brace and none like the standalone tag', () => {
    const tags = Array.from({ length: CLUSTER_SLOTS }, (_, slot) => slotTag(slot));
    expect(new Set(tags).size).toBe(CLUSTER_SLOTS);
    expect(Math.max(...tags.map((tag) => tag.length))).toBeLessThanOrEqual(3);
    expect(tags.filter((tag) => /[{}:]/.test(tag))).toEqual([]);
    expect(tags).not.toContain(STANDALONE_TAG);
    expect(slotTag(0)).toBe(slotTag(0));
    expect(() => slotTag(CLUSTER_SLOTS)).toThrow(RangeError);
  });

  it("put a tenant's index keys in the tenant's own slot on a Cluster", () => {
    const shards = new IndexShards('cluster');
    expect(shards.count).toBe(CLUSTER_SLOTS);
    for (const tenant of ['acme', 'contoso', 'tenant-7', 'x']) {
      const slot = calculateSlot(tenantKeys(tenant, 'p:').account);
      expect(shards.shardOf(tenant)).toBe(slot);
      const ix = indexKeys(shards.tag(shards.shardOf(tenant)), 'p:');
      expect(Object.values(ix).map((key) => calculateSlot(key))).toEqual(Object.values(ix).map(() => slot));
    }
  });

  it('are one shard on standalone Redis', () => {
    const shards = new IndexShards('standalone');
    expect([shards.count, shards.all(), shards.shardOf('acme'), shards.shardOf('contoso')]).toEqual([
      1,
      [0],
      0,
      0,
    ]);
    expect(indexKeys(shards.tag(0), 'p:')).toEqual({
      outbox: 'p:{ix:all}:ix:outbox',
      expiry: 'p:{ix:all}:ix:expiry',
      gauges: 'p:{ix:all}:ix:gauges',
      blocked: 'p:{ix:all}:ix:blocked',
      low: 'p:{ix:all}:ix:low',
      rechargeFailed: 'p:{ix:all}:ix:recharge-failed',
      sessions: 'p:{ix:all}:ix:sessions',
    });
  });
});

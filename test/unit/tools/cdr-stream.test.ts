import { join } from 'node:path';
import { decodeCdr } from '../../../src/kafka/cdr-decoder';
import { RatingPricer } from '../../../src/settlement/rating-pricer';
import { cdrStream, GeneratedCdr, tenantProfiles } from '../../../tools/loadgen/cdr-stream';
import { loadRateBook } from '../../../src/rating';
import { projectRoot } from '../../../tools/stack/toolchain';

const book = loadRateBook(join(projectRoot, 'rates'));
const COUNT = 20_000;

describe('the load generator stream', () => {
  let records: GeneratedCdr[];
  beforeAll(() => {
    records = [...cdrStream(COUNT, { seed: 7 })];
  });

  it('is the same, byte for byte, for the same seed, and differs for another', () => {
    const again = [...cdrStream(COUNT, { seed: 7 })];
    expect(again.map((r) => r.value.toString())).toEqual(records.map((r) => r.value.toString()));
    const other = [...cdrStream(100, { seed: 8 })];
    expect(other.map((r) => r.value.toString())).not.toEqual(
      records.slice(0, 100).map((r) => r.value.toString()),
    );
  });

  it('has about 1% repeats and 0.1% malformed records', () => {
    const count = (kind: string) => records.filter((r) => r.kind === kind).length;
    expect(count('duplicate') / COUNT).toBeGreaterThan(0.008);
    expect(count('duplicate') / COUNT).toBeLessThan(0.012);
    expect(count('malformed')).toBeGreaterThan(5);
    expect(count('malformed')).toBeLessThan(45);
    const ids = records.filter((r) => r.kind === 'valid').map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    const validIds = new Set(ids);
    expect(records.filter((r) => r.kind === 'duplicate').every((r) => validIds.has(r.id))).toBe(true);
  });

  it('produces records the decoder accepts and the shipped decks price, and malformed ones it rejects', async () => {
    const pricer = new RatingPricer(book);
    const tenants = new Map(tenantProfiles({ seed: 7, tenants: 1000 }).map((t) => [t.tenantId, t]));
    const unrated: string[] = [];
    for (const r of records) {
      const decoded = await decodeCdr(r.value, r.key, undefined);
      if (r.kind === 'malformed') {
        expect('rejected' in decoded).toBe(true);
        continue;
      }
      if (!('record' in decoded)) throw new Error(`rejected: ${r.value.toString()}`);
      const price = pricer.price(decoded.record, tenants.get(r.tenantId)!.currency, 0);
      if (price.kind === 'unrated') unrated.push(`${decoded.record.calleeNumber} ${price.reason}`);
    }
    expect(unrated).toEqual([]);
  });

  it('draws tenants by Zipf, durations log-normal, and a mix of call types and mobiles', () => {
    const valid = records
      .filter((r) => r.kind === 'valid')
      .map(
        (r) =>
          JSON.parse(r.value.toString()) as {
            tenantId: string;
            duration: number;
            callType: string;
            calleeNumber: string;
          },
      );
    const perTenant = new Map<string, number>();
    for (const r of valid) perTenant.set(r.tenantId, (perTenant.get(r.tenantId) ?? 0) + 1);
    const ranked = [...perTenant.values()].sort((a, b) => b - a);
    // With s = 1.1 over 1,000 tenants, the largest makes about 1/7 of the calls.
    expect(ranked[0]! / valid.length).toBeGreaterThan(0.1);
    expect(ranked[0]! / valid.length).toBeLessThan(0.2);
    expect(perTenant.size).toBeGreaterThan(300);
    const durations = valid.map((r) => r.duration).sort((a, b) => a - b);
    const median = durations[Math.floor(durations.length / 2)]!;
    expect(median).toBeGreaterThan(60);
    expect(median).toBeLessThan(90);
    expect(durations.at(-1)).toBeLessThanOrEqual(4 * 3600);
    const types = new Set(valid.map((r) => r.callType));
    expect([...types].sort()).toEqual(
      [
        'conf_in',
        'conf_out',
        'emergency',
        'ucap_out',
        'user_in',
        'user_out',
        'user_out_conf',
        'user_out_forwarding',
        'user_out_transfer',
      ].sort(),
    );
    const mobiles = valid.filter((r) => /^\+(447|491[567]|33[67]|91[789])/.test(r.calleeNumber)).length;
    expect(mobiles / valid.length).toBeGreaterThan(0.05);
  });
});

import Redis from 'ioredis';
import { Kafka } from 'kafkajs';
import { Ledger, openLedger } from '../../src/ledger/open-ledger';
import { caughtUp, readAll } from './fault';
import { prepaid } from './ledger';
import { eventually, recentCall } from './wait';

/** Every generated call: 15 minutes, two hours ago (the raters run on the real clock). */
const CALL = recentCall(15);

/** A reproducible stream: 8 prepaid tenants, ~1% duplicates, ~0.5% malformed records. */
export function generate(count: number, seed = 42) {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const records: { key: string; value: string; id?: string; tenant?: string; charge?: bigint }[] = [];
  for (let i = 0; i < count; i++) {
    const roll = random();
    if (roll < 0.005) {
      records.push({ key: 'tenant-0', value: `{"id":"broken-${i}",` });
      continue;
    }
    if (roll < 0.015 && records.some((r) => r.id)) {
      const earlier = records.filter((r) => r.id)[Math.floor(random() * records.filter((r) => r.id).length)]!;
      records.push({ ...earlier });
      continue;
    }
    const tenant = `tenant-${Math.floor(random() * 8)}`;
    const duration = Math.floor(random() * 900);
    const inbound = random() < 0.2;
    const id = `usage-${seed}-${i}`;
    const cdr = {
      id,
      tenantId: tenant,
      callType: inbound ? 'user_in' : 'user_out',
      ...CALL,
      duration,
      calleeNumber: '+442071234567',
      callerNumber: '+14155550100',
      licenseCapability: 'MCOPSTNPP',
    };
    const minutes = BigInt(Math.ceil(duration / 60));
    const charge = inbound || minutes === 0n ? 0n : minutes * 10n + 5n;
    records.push({ key: tenant, value: JSON.stringify(cdr), id, tenant, charge });
  }
  return records;
}

/** 8 prepaid tenants with 10,000.00 USD each, in the deployment's Redis namespace. */
export async function setUpTenants(redis: Redis, env: Record<string, string>): Promise<Ledger> {
  const ledger = openLedger(redis, { prefix: env.REDIS_KEY_PREFIX });
  for (let t = 0; t < 8; t++) {
    await ledger.writes.upsertAccount(`tenant-${t}`, prepaid());
    await ledger.writes.addFunds(`tenant-${t}`, {
      paymentRef: 'seed',
      amount: 1_000_000n,
      currency: 'USD',
      purchasedAt: new Date(),
    });
  }
  return ledger;
}

/**
 * Once the group has committed everything: each balance to the cent, each usage id applied
 * once and rated, each malformed record dead-lettered once, and nothing else dead-lettered.
 */
export async function verify(
  kafka: Kafka,
  redis: Redis,
  env: Record<string, string>,
  ledger: Ledger,
  records: ReturnType<typeof generate>,
) {
  const admin = kafka.admin();
  await admin.connect();
  await eventually(
    async () => expect(await caughtUp(admin, env.KAFKA_GROUP_ID!, env.TOPIC_USAGE_IN!)).toBe(true),
    120_000,
    250,
  );
  await admin.disconnect();

  const expected = new Map<string, { tenant: string; charge: bigint }>();
  for (const r of records) if (r.id) expected.set(r.id, { tenant: r.tenant!, charge: r.charge! });
  const malformed = records.filter((r) => !r.id).length;

  for (let t = 0; t < 8; t++) {
    const tenant = `tenant-${t}`;
    const charges = [...expected.values()]
      .filter((e) => e.tenant === tenant)
      .reduce((sum, e) => sum + e.charge, 0n);
    const account = (await ledger.reads.readAccount(tenant))!;
    expect([tenant, account.balance]).toEqual([tenant, 1_000_000n - charges]);
    let records = 0;
    for await (const page of ledger.reads.appliedUsages(tenant)) records += page.length;
    expect([tenant, records]).toEqual([
      tenant,
      [...expected.values()].filter((e) => e.tenant === tenant).length,
    ]);
  }

  const rated = await readAll(kafka, env.TOPIC_RATED_OUT!);
  const ratedIds = new Set(rated.map((m) => (JSON.parse(m.value.toString()) as { id: string }).id));
  expect(ratedIds.size).toBe(expected.size);
  expect([...expected.keys()].every((id) => ratedIds.has(id))).toBe(true);
  for (const m of rated) {
    const value = JSON.parse(m.value.toString()) as { id: string; charge: string };
    expect(value.charge).toBe((Number(expected.get(value.id)!.charge) / 100).toFixed(2));
  }
  const dead = await readAll(kafka, env.TOPIC_DEAD_LETTER!);
  const origins = new Set(
    dead.map((m) => `${m.headers['x-origin-partition']}/${m.headers['x-origin-offset']}`),
  );
  expect(origins.size).toBe(malformed);
  expect(dead.every((m) => m.headers['x-error-code'] === 'malformed_json')).toBe(true);
  return { rated: rated.length, distinct: ratedIds.size, dead: dead.length };
}

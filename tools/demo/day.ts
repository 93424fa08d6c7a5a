import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../stack/toolchain';

/** A day of usage for the demo tenants, reproducible from a seed. */
export interface DemoDay {
  records: { key: string; json?: string; avro?: Record<string, unknown> }[];
  avro: number;
  duplicates: number;
  malformed: number;
  strays: number;
}

interface Profile {
  tenant: string;
  country: string;
  calls: number;
  licences: string[];
  domestic: string[];
  abroad: string[];
}

const PROFILES: Profile[] = [
  {
    tenant: 'contoso',
    country: 'US',
    calls: 220,
    licences: ['MCOPSTN5', 'MCOPSTNPP'],
    domestic: ['+12125550', '+14155550', '+13125550'],
    abroad: ['+4479111', '+4420712', '+4930123', '+3314268', '+9122123', '+8131234', '+2348031'],
  },
  {
    tenant: 'fabrikam',
    country: 'DE',
    calls: 120,
    licences: ['MCOPSTNPP'],
    domestic: ['+4930123', '+4989123', '+4917012'],
    abroad: ['+4479111', '+3314268', '+12125550', '+2348031'],
  },
  {
    tenant: 'northwind',
    country: 'GB',
    calls: 120,
    licences: ['MCOPSTNPP'],
    domestic: ['+4420712', '+4479111'],
    abroad: ['+12125550', '+3314268', '+6141234'],
  },
  {
    tenant: 'adatum',
    country: 'US',
    calls: 120,
    licences: ['MCOPSTNPP'],
    domestic: ['+12125550', '+17135550'],
    abroad: ['+4479111', '+8131234', '+5511912'],
  },
];

const AVRO_FIELDS = (
  JSON.parse(readFileSync(join(projectRoot, 'schemas', 'usage-cdr.v1.avsc'), 'utf8')) as {
    fields: { name: string }[];
  }
).fields.map((f) => f.name);

/** Reproducible draws from one seed. */
function seeded(seed: number) {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)]!;
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join('');
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return { random, pick, digits, normal };
}

/** The `n`th call of the day, made by one of the profile's users. */
function demoCall(rng: ReturnType<typeof seeded>, profile: Profile, day: Date, n: number) {
  const { random, pick, digits, normal } = rng;
  const start = new Date(day.getTime() + Math.floor(random() * 24 * 3600 * 1000));
  const duration = Math.min(3600, Math.round(Math.exp(4.3 + 0.9 * normal())));
  const roll = random();
  const callType =
    roll < 0.05
      ? 'user_in'
      : roll < 0.08
        ? 'conf_in'
        : roll < 0.13
          ? 'conf_out'
          : roll < 0.135
            ? 'emergency'
            : 'user_out';
  const international = random() < 0.35;
  const callee =
    callType === 'emergency'
      ? profile.country === 'US'
        ? '+1911'
        : '+49112'
      : callType === 'conf_in'
        ? profile.country === 'US'
          ? `+1800${digits(7)}`
          : `+${profile.country === 'DE' ? '49800' : '44800'}${digits(6)}`
        : `${pick(international ? profile.abroad : profile.domestic)}${digits(4)}`;
  const record: Record<string, unknown> = {
    id: `demo-${profile.tenant}-${n}`,
    tenantId: profile.tenant,
    callType,
    startDateTime: start.toISOString(),
    endDateTime: new Date(start.getTime() + duration * 1000).toISOString(),
    duration,
    calleeNumber: callee,
    callerNumber:
      profile.country === 'US'
        ? `+1206555${digits(4)}`
        : profile.country === 'DE'
          ? `+4940${digits(7)}`
          : `+4411${digits(8)}`,
    numberType: callType === 'conf_in' ? 'tollFree' : 'subscriber',
    licenseCapability:
      callType === 'conf_out'
        ? profile.tenant === 'contoso'
          ? 'MCOMEETADD'
          : 'MCOMEETACPEA'
        : pick(profile.licences),
    usageCountryCode: profile.country,
    tenantCountryCode: profile.country,
    userPrincipalName: `user${Math.floor(random() * 20)}@${profile.tenant}.example`,
    callId: `call-${n}`,
  };
  return record;
}

/** A day of calls: the profiles' (a fifth as Avro), 1% sent twice, malformed records and strays. */
export function generateDay(day: Date, seed = 2026): DemoDay {
  const rng = seeded(seed);
  const { random, pick } = rng;

  const records: DemoDay['records'] = [];
  const valid: Record<string, unknown>[] = [];
  let avro = 0;
  let n = 0;
  for (const profile of PROFILES) {
    for (let i = 0; i < profile.calls; i++) {
      const record = demoCall(rng, profile, day, ++n);
      valid.push(record);
      if (random() < 0.2) {
        avro += 1;
        records.push({
          key: profile.tenant,
          avro: Object.fromEntries(AVRO_FIELDS.map((f) => [f, record[f] ?? null])),
        });
      } else {
        records.push({ key: profile.tenant, json: JSON.stringify(record) });
      }
    }
  }
  const duplicates = Math.round(valid.length / 100);
  for (let i = 0; i < duplicates; i++) {
    const again = pick(valid);
    records.push({ key: String(again.tenantId), json: JSON.stringify(again) });
  }
  const malformed = [
    { key: 'contoso', json: '{"id": "demo-cut-off", "tenantId": "contoso", "callType": "user_o' },
    { key: 'fabrikam', json: JSON.stringify({ ...valid[300], id: 'demo-negative', duration: -30 }) },
    {
      key: 'northwind',
      json: JSON.stringify({ ...valid[400], id: 'demo-not-e164', calleeNumber: '020 7123 4567' }),
    },
  ];
  const strays = [
    { key: 'globex', json: JSON.stringify({ ...valid[0], id: 'demo-unknown-tenant', tenantId: 'globex' }) },
    {
      key: 'contoso',
      json: JSON.stringify({
        ...valid[1],
        id: 'demo-unrated',
        callType: 'user_out',
        calleeNumber: '+99912345678',
      }),
    },
  ];
  records.push(...malformed, ...strays);
  return { records, avro, duplicates, malformed: malformed.length, strays: strays.length };
}

import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/**
 * A reproducible stream of realistic usage records for load and chaos runs: the same seed and
 * options give the same bytes, record for record.
 *
 * - Tenants are drawn from a Zipf distribution (a few large tenants make most calls).
 * - Durations are log-normal (median about a minute and a quarter, a long tail, capped).
 * - Destinations: mostly domestic, the rest by an international mix; each country's calls go
 *   to mobile numbers at its own share where the deck prices mobiles separately.
 * - Call types by a fixed mix: outbound calls and their variants, inbound, toll-free dial-in,
 *   conference dial-out, a few emergency calls.
 * - About 1% of records are exact repeats of an earlier one (a redelivery upstream), and
 *   about 0.1% are malformed (cut off, a wrong type, a number that is not E.164).
 */
export interface CdrStreamOptions {
  seed: number;
  tenants: number;
  /** Zipf exponent of the tenant distribution. */
  zipf: number;
  duplicateShare: number;
  malformedShare: number;
  /** The calls' day (UTC midnight); start times fall within it. */
  day: Date;
  /** Prefix of usage ids; the id of record n is `${idPrefix}${n}` (repeats reuse earlier ids). */
  idPrefix: string;
}

/** UTC midnight of the day before today: the default calls' day. */
function yesterdayUtc(): Date {
  const day = new Date();
  day.setUTCHours(0, 0, 0, 0);
  day.setUTCDate(day.getUTCDate() - 1);
  return day;
}

/**
 * The default stream. Its calls fall on yesterday (UTC): the rater sets aside calls older than
 * its idempotency window (`too_late`) and calls that have not ended (`future_start`), so a
 * fixed date would age out of the window. The same seed on the same day gives the same bytes.
 */
export const DEFAULT_STREAM: CdrStreamOptions = {
  seed: 1,
  tenants: 1000,
  zipf: 1.1,
  duplicateShare: 0.01,
  malformedShare: 0.001,
  day: yesterdayUtc(),
  idPrefix: 'u',
};

export interface Destination {
  country: string;
  /** Prefix for fixed lines (the country code, or an area within it). */
  fixed: string[];
  /** Mobile prefixes the decks price apart; empty where mobiles cost the same. */
  mobile: string[];
  mobileShare: number;
  /** Digits of a full national number after the country code. */
  nationalDigits: number;
  /** Toll-free number prefix, where the tenant can have one. */
  tollFree?: string;
  emergency: string;
  currency: 'USD' | 'EUR';
}

/** Home countries of tenants, and the destinations of calls, with their weights. */
export const DESTINATIONS: (Destination & { code: string; weight: number })[] = [
  d('US', '+1', 30, ['+1212', '+1415', '+1312', '+1713', '+1206'], [], 0, 10, '+1800', '+1911', 'USD'),
  d('GB', '+44', 10, ['+4420', '+44161', '+44131'], ['+447'], 0.45, 10, '+44800', '+44999', 'USD'),
  d(
    'DE',
    '+49',
    9,
    ['+4930', '+4989', '+4940'],
    ['+4915', '+4916', '+4917'],
    0.4,
    10,
    '+49800',
    '+49112',
    'EUR',
  ),
  d('FR', '+33', 6, ['+331', '+334'], ['+336', '+337'], 0.45, 9, '+33800', '+33112', 'EUR'),
  d(
    'IN',
    '+91',
    6,
    ['+9122', '+9111', '+9180'],
    ['+917', '+918', '+919'],
    0.7,
    10,
    undefined,
    '+91112',
    'USD',
  ),
  d('MX', '+52', 4, ['+5255', '+5281'], ['+521'], 0.6, 10, undefined, '+52911', 'USD'),
  d('JP', '+81', 4, ['+813', '+816'], ['+8190', '+8180'], 0.4, 10, '+81120', '+81110', 'USD'),
  d('AU', '+61', 4, ['+612', '+613'], ['+614'], 0.5, 9, '+61180', '+61000', 'USD'),
  d('NL', '+31', 3, ['+3120', '+3110'], ['+316'], 0.5, 9, '+31800', '+31112', 'EUR'),
  d('ES', '+34', 3, ['+3491', '+3493'], ['+346', '+347'], 0.5, 9, '+34900', '+34112', 'EUR'),
  d('IT', '+39', 3, ['+3906', '+3902'], ['+393'], 0.5, 10, '+39800', '+39112', 'EUR'),
  d('BR', '+55', 3, ['+5511', '+5521'], [], 0, 10, undefined, '+55190', 'USD'),
  d('CN', '+86', 3, ['+8610', '+8621'], ['+861'], 0.6, 11, undefined, '+86110', 'USD'),
  d('PH', '+63', 2, ['+632'], ['+639'], 0.7, 10, undefined, '+63911', 'USD'),
  d('NG', '+234', 2, ['+2341'], ['+23480', '+23481', '+23470'], 0.8, 10, undefined, '+234112', 'USD'),
  d('ZA', '+27', 2, ['+2721', '+2711'], ['+276', '+278'], 0.6, 9, '+27800', '+27112', 'USD'),
  d('SG', '+65', 2, ['+656'], ['+658', '+659'], 0.5, 8, '+65800', '+65999', 'USD'),
  d('AE', '+971', 2, ['+9714'], ['+9715'], 0.6, 9, undefined, '+971999', 'USD'),
  d('CH', '+41', 1, ['+4144'], ['+417'], 0.5, 9, '+41800', '+41112', 'EUR'),
  d('SE', '+46', 1, ['+468'], ['+467'], 0.5, 9, '+46200', '+46112', 'EUR'),
];

function d(
  country: string,
  code: string,
  weight: number,
  fixed: string[],
  mobile: string[],
  mobileShare: number,
  nationalDigits: number,
  tollFree: string | undefined,
  emergency: string,
  currency: 'USD' | 'EUR',
) {
  return { country, code, weight, fixed, mobile, mobileShare, nationalDigits, tollFree, emergency, currency };
}

/** Share of outbound calls that stay in the caller's country. */
const DOMESTIC_SHARE = 0.7;
const CALL_TYPE_MIX: [string, number][] = [
  ['user_out', 0.62],
  ['user_in', 0.14],
  ['conf_out', 0.06],
  ['conf_in', 0.08],
  ['user_out_transfer', 0.03],
  ['user_out_forwarding', 0.03],
  ['user_out_conf', 0.02],
  ['ucap_out', 0.01],
  ['emergency', 0.01],
];
/** Log-normal durations: exp(N(mu, sigma)) seconds, median e^4.3 = 74 s; capped at 4 h. */
const DURATION_MU = 4.3;
const DURATION_SIGMA = 1.0;
const MAX_DURATION = 4 * 3600;

export interface TenantProfile {
  tenantId: string;
  country: string;
  currency: 'USD' | 'EUR';
  mode: 'prepaid' | 'postpaid';
  /** Licences users carry on their records; the first is the most common. */
  licences: string[];
  /** Licensed users per capability, for the tenant's minute pools. */
  users: number;
}

export type GeneratedKind = 'valid' | 'duplicate' | 'malformed';

export interface GeneratedCdr {
  /** The message key: the tenant id. */
  key: string;
  value: Buffer;
  kind: GeneratedKind;
  /** The usage id, for valid records and repeats. */
  id?: string;
  tenantId: string;
}

/** The tenants of a stream: id, home country and currency, billing mode and licences. */
export function tenantProfiles(options: Pick<CdrStreamOptions, 'seed' | 'tenants'>): TenantProfile[] {
  const random = randomSource(options.seed ^ 0x5eed);
  const homes = weighted(DESTINATIONS.map((x) => [x, x.weight] as const));
  return Array.from({ length: options.tenants }, (_, i) => {
    const home = homes(random());
    const roll = random();
    const licences =
      roll < 0.4
        ? ['MCOPSTNPP']
        : roll < 0.6
          ? ['MCOPSTN1', 'MCOPSTNPP']
          : roll < 0.75
            ? ['MCOPSTN5', 'MCOPSTNPP']
            : roll < 0.85
              ? ['MCOPSTN2', 'MCOPSTNPP']
              : roll < 0.95
                ? ['MCOPSTNPP', 'MCOMEETADD']
                : ['MCOPSTNPP', 'MCOMEETACPEA'];
    return {
      tenantId: `tenant-${String(i + 1).padStart(5, '0')}`,
      country: home.country,
      currency: home.currency,
      mode: random() < 0.1 ? 'postpaid' : 'prepaid',
      licences,
      users: 1 + Math.floor(random() * 20),
    };
  });
}

/** The stream itself: `count` records, lazily, in a fixed order for the seed. */
export function* cdrStream(
  count: number,
  overrides: Partial<CdrStreamOptions> = {},
): Generator<GeneratedCdr> {
  const options = { ...DEFAULT_STREAM, ...overrides };
  const random = randomSource(options.seed);
  const tenants = tenantProfiles(options);
  const tenantOf = zipf(tenants, options.zipf);
  const byCountry = new Map(DESTINATIONS.map((x) => [x.country, x]));
  const abroad = weighted(DESTINATIONS.map((x) => [x, x.weight] as const));
  const callTypeOf = weighted(CALL_TYPE_MIX);
  const digits = (n: number) => {
    let out = '';
    for (let i = 0; i < n; i++) out += Math.floor(random() * 10);
    return out;
  };
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)]!;
  const number = (x: Destination & { code: string }, mobile: boolean) => {
    const prefix = mobile && x.mobile.length > 0 ? pick(x.mobile) : pick(x.fixed);
    return prefix + digits(Math.max(1, x.code.length - 1 + x.nationalDigits - (prefix.length - 1)));
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  // A bounded window of earlier valid records: repeats come from the recent past, as a
  // redelivery upstream would, without keeping the whole stream in memory.
  const recent: { value: Buffer; id: string; tenantId: string }[] = [];
  const dayStart = options.day.getTime();

  for (let n = 0; n < count; n++) {
    const roll = random();
    if (roll < options.malformedShare) {
      yield malformed(n, tenantOf(random()).tenantId, random, options.idPrefix, options.day);
      continue;
    }
    if (roll < options.malformedShare + options.duplicateShare && recent.length > 0) {
      const again = recent[Math.floor(random() * recent.length)]!;
      yield {
        key: again.tenantId,
        value: again.value,
        kind: 'duplicate',
        id: again.id,
        tenantId: again.tenantId,
      };
      continue;
    }
    const tenant = tenantOf(random());
    const home = byCountry.get(tenant.country)!;
    let callType = callTypeOf(random());
    if (callType === 'conf_in' && !home.tollFree) callType = 'user_in';
    const duration =
      callType === 'emergency'
        ? 60 + Math.floor(random() * 600)
        : Math.min(MAX_DURATION, Math.round(Math.exp(DURATION_MU + DURATION_SIGMA * normal())));
    const start = dayStart + Math.floor(random() * (24 * 3600 - MAX_DURATION) * 1000);
    const destination = random() < DOMESTIC_SHARE ? home : abroad(random());
    const mobile = random() < destination.mobileShare;
    const ownNumber = number(home, false);
    const callee =
      callType === 'emergency'
        ? home.emergency
        : callType === 'conf_in'
          ? home.tollFree! + digits(home.nationalDigits - (home.tollFree!.length - home.code.length))
          : callType === 'user_in' || callType === 'ucap_in'
            ? ownNumber
            : number(destination, mobile);
    const caller = callType === 'user_in' || callType === 'conf_in' ? number(destination, mobile) : ownNumber;
    const id = `${options.idPrefix}${n}`;
    const record = {
      id,
      tenantId: tenant.tenantId,
      callType,
      startDateTime: new Date(start).toISOString(),
      endDateTime: new Date(start + duration * 1000).toISOString(),
      duration,
      calleeNumber: callee,
      callerNumber: caller,
      numberType: callType === 'conf_in' ? 'tollFree' : 'subscriber',
      licenseCapability:
        callType === 'conf_out' || callType === 'conf_in'
          ? (tenant.licences.find((l) => l.startsWith('MCOMEET')) ?? 'MCOPSTNPP')
          : random() < 0.8
            ? tenant.licences[0]!
            : pick(tenant.licences),
      usageCountryCode: tenant.country,
      tenantCountryCode: tenant.country,
      userPrincipalName: `user${Math.floor(random() * (tenant.users * 5))}@${tenant.tenantId}.example`,
      callId: `call-${options.seed}-${n}`,
    };
    const value = Buffer.from(JSON.stringify(record));
    recent.push({ value, id, tenantId: tenant.tenantId });
    if (recent.length > 10_000) recent.splice(0, 5_000);
    yield { key: tenant.tenantId, value, kind: 'valid', id, tenantId: tenant.tenantId };
  }
}

function malformed(
  n: number,
  tenantId: string,
  random: () => number,
  idPrefix: string,
  day: Date,
): GeneratedCdr {
  const id = `${idPrefix}bad-${n}`;
  const base = {
    id,
    tenantId,
    callType: 'user_out',
    startDateTime: new Date(day.getTime() + 10 * 3600_000).toISOString(),
    duration: 42,
    calleeNumber: '+442071234567',
  };
  const variant = Math.floor(random() * 4);
  const text =
    variant === 0
      ? JSON.stringify(base).slice(0, 40) // cut off mid-record
      : variant === 1
        ? JSON.stringify({ ...base, duration: '42s' })
        : variant === 2
          ? JSON.stringify({ ...base, calleeNumber: '020 7123 4567' })
          : JSON.stringify({ ...base, startDateTime: undefined });
  return { key: tenantId, value: Buffer.from(text), kind: 'malformed', tenantId };
}

/** A uniform source on [0, 1), xoroshiro128+ seeded. */
function randomSource(seed: number): () => number {
  const rng = xoroshiro128plus(seed);
  return () => uniformFloat64(rng);
}

/** Sampling by weight: a function of a uniform draw. */
function weighted<T>(entries: readonly (readonly [T, number])[]): (u: number) => T {
  const total = entries.reduce((sum, [, w]) => sum + w, 0);
  const cumulative: number[] = [];
  let acc = 0;
  for (const [, w] of entries) cumulative.push((acc += w / total));
  return (u) => entries[firstAbove(cumulative, u)]![0];
}

/** Zipf over the list: the item of rank k has weight 1 / k^s. */
function zipf<T>(items: T[], s: number): (u: number) => T {
  return weighted(items.map((item, k) => [item, 1 / (k + 1) ** s] as const));
}

function firstAbove(cumulative: number[], u: number): number {
  let low = 0;
  let high = cumulative.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (cumulative[middle]! > u) high = middle;
    else low = middle + 1;
  }
  return low;
}

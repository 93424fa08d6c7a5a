/**
 * Writes the shipped rate decks in rates/decks/ and the calling-code table rates/countries.csv.
 * The CSV files are the source of truth and are edited by hand from then on; this generator
 * records how their first version was made (ITU calling codes from libphonenumber's
 * metadata, rates by ITU world zone with a stable per-country spread) and can rebuild them:
 *   npx tsx scripts/generate-rate-decks.ts
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import metadata from 'libphonenumber-js/metadata.min.json';

const out = join(__dirname, '..', 'rates');
const names = new Intl.DisplayNames('en', { type: 'region' });
const name = (region: string) => (region === '001' ? 'International networks' : (names.of(region) ?? region));

/** Expands a simple leading-digits pattern ("268", "33|7", "[347]") into prefixes. */
function expand(pattern: string): string[] | undefined {
  const alternatives = pattern.split('|');
  const result: string[] = [];
  for (const alternative of alternatives) {
    const parts = alternative.match(/\[[0-9-]+\]|\d/g);
    if (!parts || parts.join('') !== alternative) return undefined;
    let prefixes = [''];
    for (const part of parts) {
      const digits = part.startsWith('[')
        ? part
            .slice(1, -1)
            .replace(/(\d)-(\d)/g, (_, a: string, b: string) =>
              Array.from({ length: Number(b) - Number(a) + 1 }, (_x, i) => String(Number(a) + i)).join(''),
            )
            .split('')
        : [part];
      prefixes = prefixes.flatMap((p) => digits.map((d) => p + d));
    }
    result.push(...prefixes);
  }
  return result;
}

type Row = { prefix: string; region: string };
const rows: Row[] = [];
const codes = metadata.country_calling_codes as Record<string, string[]>;
const countries = metadata.countries as Record<string, unknown[]>;
for (const [code, regions] of Object.entries(codes)) {
  rows.push({ prefix: `+${code}`, region: regions[0]! });
  // NANP countries by area code, below.
  for (const region of code === '1' ? [] : regions.slice(1)) {
    const leading = countries[region]?.[10];
    const prefixes = typeof leading === 'string' ? expand(leading) : undefined;
    for (const p of prefixes ?? []) rows.push({ prefix: `+${code}${p}`, region });
  }
}
/**
 * The NANP (+1) by area code: the country of a number NPA-234-5678 in libphonenumber's full
 * metadata, for every NPA whose country is not the United States. Leading digits are not
 * enough here: Canada has none (its area codes were missing, so Canadian numbers were the
 * United States), and the Dominican Republic's "8001|8[024]9" made +1 800 1 (in the NANP toll-free
 * code 800) the Dominican Republic. The toll-free codes (800, 833, 844, 855, 866, 877, 888) are
 * non-geographic and stay under +1.
 */
for (let npa = 200; npa <= 999; npa++) {
  const region = parsePhoneNumberFromString(`+1${npa}2345678`)?.country;
  if (region && region !== 'US') rows.push({ prefix: `+1${npa}`, region });
}
/**
 * ITU-T E.164 assignments libphonenumber's leading digits leave out: +7 6 and +7 7 are
 * Kazakhstan's (the rest of +7 is Russia's).
 */
rows.push({ prefix: '+76', region: 'KZ' });
rows.sort((a, b) => a.prefix.localeCompare(b.prefix));

/**
 * The ITU-T E.164 codes of no country (global services and networks), in countries.csv as
 * "001" so that a call to one is international, but in no deck: such a call is unrated and
 * dead-lettered (never charged at a guess) until a deck prices it. +878 and +991 are left out
 * (reserved; a trial that ended).
 */
const NON_GEOGRAPHIC: [string, string][] = [
  ['+800', 'International Freephone (UIFN)'],
  ['+808', 'International Shared Cost Service'],
  ['+870', 'Inmarsat'],
  ['+881', 'Global Mobile Satellite System'],
  ['+882', 'International Networks'],
  ['+883', 'International Networks'],
  ['+888', 'UN OCHA telecommunications for disaster relief'],
  ['+979', 'International Premium Rate Service'],
];
const countryRows = [
  ...rows.map((r) => ({ ...r, name: name(r.region) })),
  ...NON_GEOGRAPHIC.map(([prefix, service]) => ({ prefix, region: '001', name: service })),
].sort((a, b) => a.prefix.localeCompare(b.prefix));
writeFileSync(
  join(out, 'countries.csv'),
  ['prefix,country,name', ...countryRows.map((r) => `${r.prefix},${r.region},"${r.name}"`)].join('\n') + '\n',
);

/** Mobile prefixes where mobile calls cost more than landline ones. */
const MOBILE: Record<string, string[]> = {
  GB: ['+447'],
  IE: ['+3538'],
  DE: ['+4915', '+4916', '+4917'],
  FR: ['+336', '+337'],
  ES: ['+346', '+347'],
  IT: ['+393'],
  NL: ['+316'],
  BE: ['+324'],
  CH: ['+417'],
  AT: ['+4366', '+4367', '+4368'],
  SE: ['+467'],
  NO: ['+474', '+479'],
  FI: ['+3584', '+35850'],
  PL: ['+485', '+486', '+487', '+488'],
  PT: ['+3519'],
  IN: ['+916', '+917', '+918', '+919'],
  CN: ['+861'],
  JP: ['+8170', '+8180', '+8190'],
  AU: ['+614'],
  NZ: ['+642'],
  ZA: ['+276', '+277', '+278'],
  NG: ['+23470', '+23480', '+23481', '+23490'],
  KE: ['+2547'],
  SG: ['+658', '+659'],
  HK: ['+8525', '+8526', '+8529'],
  AE: ['+9715'],
  SA: ['+9665'],
  IL: ['+9725'],
  TR: ['+905'],
  RU: ['+79'],
  PH: ['+639'],
  ID: ['+628'],
  MY: ['+601'],
  TH: ['+666', '+668', '+669'],
  EG: ['+201'],
  AR: ['+549'],
  CO: ['+573'],
  CL: ['+569'],
  MX: ['+521'],
  KR: ['+8210'],
  TW: ['+8869'],
};

/** USD per minute by ITU world zone (first digit of the code): landline, mobile. */
const ZONE_RATES: Record<string, [number, number]> = {
  '1': [0.019, 0.019],
  '2': [0.22, 0.34],
  '3': [0.028, 0.11],
  '4': [0.03, 0.12],
  '5': [0.06, 0.16],
  '6': [0.045, 0.14],
  '7': [0.06, 0.12],
  '8': [0.04, 0.09],
  '9': [0.1, 0.15],
};
const CARIBBEAN_NANP: [number, number] = [0.16, 0.26];

/** A stable factor in [0.75, 1.35) per prefix, so neighbouring countries differ plausibly. */
const spread = (prefix: string) => 0.75 + (createHash('sha1').update(prefix).digest()[0]! / 256) * 0.6;
const money = (n: number) => (Math.round(n * 10_000) / 10_000).toFixed(4);

function outboundRows(
  currencyFactor: number,
  adjust: (region: string, kind: string, rate: number) => number,
) {
  const lines = ['prefix,destination,kind,rate_per_minute'];
  for (const { prefix, region } of rows) {
    const zone = prefix[1]!;
    const [landline, mobile] =
      prefix.length > 2 && prefix.startsWith('+1') && region !== 'US' && region !== 'CA'
        ? CARIBBEAN_NANP
        : (ZONE_RATES[zone] ?? [0.5, 0.5]);
    // Canada's area codes cost what the United States does: +1 is rated as one destination.
    const f = spread(region === 'CA' ? '+1' : prefix);
    const kind = MOBILE[region] ? 'landline' : 'any';
    lines.push(
      `${prefix},"${name(region)}",${kind},${money(adjust(region, kind, landline * f) * currencyFactor)}`,
    );
    const isCountryCode = codes[prefix.slice(1)]?.[0] === region;
    for (const mobilePrefix of isCountryCode ? (MOBILE[region] ?? []) : []) {
      lines.push(
        `${mobilePrefix},"${name(region)} mobile",mobile,${money(adjust(region, 'mobile', mobile * f) * currencyFactor)}`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

const same = (_r: string, _k: string, rate: number) => rate;
// July 2026: mobile termination in the EU and the UK went down; Nigeria went up.
const EU_UK = new Set(['GB', 'IE', 'DE', 'FR', 'ES', 'IT', 'NL', 'BE', 'AT', 'SE', 'FI', 'PL', 'PT', 'DK']);
const july = (region: string, kind: string, rate: number) =>
  kind === 'mobile' && EU_UK.has(region) ? rate * 0.8 : region === 'NG' ? rate * 1.15 : rate;
const EUR = 0.92;

writeFileSync(join(out, 'decks', 'outbound-usd-2026-01.csv'), outboundRows(1, same));
writeFileSync(join(out, 'decks', 'outbound-usd-2026-07.csv'), outboundRows(1, july));
writeFileSync(join(out, 'decks', 'outbound-eur-2026-01.csv'), outboundRows(EUR, same));

/** Audio conferencing dial-out: Zone A countries near cost, the rest like outbound plus 10%. */
const ZONE_A = new Set([
  'AU',
  'AT',
  'BE',
  'CA',
  'DK',
  'FI',
  'FR',
  'DE',
  'HK',
  'IE',
  'IL',
  'IT',
  'JP',
  'LU',
  'NL',
  'NZ',
  'NO',
  'PL',
  'PT',
  'PR',
  'SG',
  'ZA',
  'KR',
  'ES',
  'SE',
  'CH',
  'GB',
  'US',
]);
function conferenceRows(currencyFactor: number) {
  const lines = ['prefix,destination,kind,rate_per_minute'];
  for (const { prefix, region } of rows) {
    if (prefix.length > 4 && !MOBILE[region]) continue;
    const zone = prefix[1]!;
    const [landline] = ZONE_RATES[zone] ?? [0.5, 0.5];
    const rate = ZONE_A.has(region) ? 0.024 * spread(`${prefix}c`) : landline * spread(prefix) * 1.1;
    lines.push(`${prefix},"${name(region)}",any,${money(rate * currencyFactor)}`);
  }
  return lines.join('\n') + '\n';
}
writeFileSync(join(out, 'decks', 'conference-dialout-usd.csv'), conferenceRows(1));
writeFileSync(join(out, 'decks', 'conference-dialout-eur.csv'), conferenceRows(EUR));

/** Toll-free dial-in: the tenant pays for the inbound leg on its toll-free number. */
// +1 numbers are rated as one destination, the United States and Canada.
const TOLL_FREE = [
  'US',
  'GB',
  'IE',
  'DE',
  'FR',
  'ES',
  'IT',
  'NL',
  'BE',
  'CH',
  'AT',
  'SE',
  'NO',
  'DK',
  'FI',
  'PL',
  'PT',
  'CZ',
  'HU',
  'RO',
  'GR',
  'TR',
  'IL',
  'AE',
  'SA',
  'ZA',
  'IN',
  'CN',
  'JP',
  'KR',
  'SG',
  'HK',
  'TW',
  'AU',
  'NZ',
  'BR',
  'MX',
  'AR',
  'CL',
  'CO',
  'PE',
];
function tollFreeRows(currencyFactor: number) {
  const lines = ['prefix,destination,kind,rate_per_minute'];
  for (const region of TOLL_FREE) {
    const row = rows.find((r) => r.region === region && r.prefix.length <= 4)!;
    const base =
      region === 'US' || region === 'CA'
        ? 0.03
        : ['IN', 'CN', 'BR', 'AR', 'SA', 'AE'].includes(region)
          ? 0.28
          : 0.09;
    lines.push(
      `${row.prefix},"${name(region)}",any,${money(base * spread(`${row.prefix}t`) * currencyFactor)}`,
    );
  }
  return lines.join('\n') + '\n';
}
writeFileSync(join(out, 'decks', 'tollfree-dialin-usd.csv'), tollFreeRows(1));
writeFileSync(join(out, 'decks', 'tollfree-dialin-eur.csv'), tollFreeRows(EUR));

console.log(`${countryRows.length} calling-code prefixes`);

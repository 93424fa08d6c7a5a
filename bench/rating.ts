/**
 * npm run bench:rating: the rating core on one core with a generated 100,000-prefix deck.
 * Measures deck load (parse and index), the deck's heap, longest-prefix lookups and whole
 * calls rated per second. Writes bench-results/rating.json.
 *
 * BENCH_RATING_PREFIXES sets the deck's size and BENCH_RATING_OUT the file written (the
 * scaling benchmark runs it once per deck size, each in a process of its own). Under
 * --expose-gc, the heap figure leaves out the garbage of parsing.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseRateBook, rateCall, UsageRecord } from '../src/rating';

const PREFIXES = Number(process.env.BENCH_RATING_PREFIXES ?? 100_000);
const OUT = process.env.BENCH_RATING_OUT ?? join('bench-results', 'rating.json');
const CALLS = Number(process.env.BENCH_RATING_CALLS ?? 1_000_000);
const rates = join(__dirname, '..', 'rates');

/** A deterministic deck: the shipped calling codes extended with national ranges to PREFIXES prefixes. */
function generatedDeck(): string {
  const lines = ['prefix,destination,kind,rate_per_minute'];
  const codes = readFileSync(join(rates, 'countries.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(',')[0]!);
  const seen = new Set<string>();
  let n = 0;
  const add = (prefix: string) => {
    if (seen.has(prefix) || prefix.length > 16) return;
    seen.add(prefix);
    lines.push(`${prefix},"Range ${n}",any,0.${String(1000 + (n % 9000)).padStart(4, '0')}`);
    n += 1;
  };
  codes.forEach(add);
  for (let i = 0; seen.size < PREFIXES; i++) add(`${codes[i % codes.length]}${(i * 7919) % 100_000}`);
  return `${lines.join('\n')}\n`;
}

function main(): void {
  const deckCsv = generatedDeck();
  const files = new Map<string, string>([
    ['countries.csv', readFileSync(join(rates, 'countries.csv'), 'utf8')],
    ['plans.yaml', readFileSync(join(rates, 'plans.yaml'), 'utf8')],
    [
      'decks.yaml',
      `decks:\n  - id: bench\n    kind: outbound\n    currency: USD\n    increment: { first: 60, next: 60 }\n    versions:\n      - version: '1'\n        effectiveFrom: '2026-01-01T00:00:00Z'\n        file: bench.csv\n`,
    ],
    ['bench.csv', deckCsv],
  ]);
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const loadStarted = process.hrtime.bigint();
  const book = parseRateBook(files);
  const loadMs = Number(process.hrtime.bigint() - loadStarted) / 1e6;
  gc();
  const heapMB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  const table = book.decks[0]!.versions[0]!.rates;

  const numbers = Array.from(
    { length: 10_000 },
    (_, i) =>
      `+${[1, 44, 49, 33, 81, 234, 61, 91][i % 8]}${String(1_000_000_000 + ((i * 104_729) % 900_000_000))}`,
  );
  let hits = 0;
  const lookups = 2_000_000;
  const lookupStarted = process.hrtime.bigint();
  for (let i = 0; i < lookups; i++) if (table.lookup(numbers[i % numbers.length]!)) hits++;
  const lookupsPerSecond = lookups / (Number(process.hrtime.bigint() - lookupStarted) / 1e9);

  const records: UsageRecord[] = numbers.map((calleeNumber, i) => ({
    id: `b${i}`,
    tenantId: 't',
    callType: 'user_out',
    startDateTime: '2026-03-01T10:00:00Z',
    duration: (i * 37) % 1800,
    calleeNumber,
    licenseCapability: i % 3 === 0 ? 'MCOPSTN1' : 'MCOPSTNPP',
    usageCountryCode: 'US',
  }));
  let total = 0n;
  const rateStarted = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) {
    const result = rateCall(book, records[i % records.length]!, 'USD', 600);
    if (result.kind === 'rated') total += result.chargeMinor;
  }
  const ratedPerSecond = CALLS / (Number(process.hrtime.bigint() - rateStarted) / 1e9);

  const result = {
    deckPrefixes: table.size,
    loadMs: Math.round(loadMs),
    heapMB: Math.round(heapMB * 10) / 10,
    lookupsPerSecond: Math.round(lookupsPerSecond),
    ratedPerSecond: Math.round(ratedPerSecond),
    calls: CALLS,
    checksum: { lookupHits: hits, totalChargeMinor: total.toString() },
    node: process.version,
  };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
  console.table({ ...result, checksum: undefined });
}

main();

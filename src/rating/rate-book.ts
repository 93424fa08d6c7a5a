import { parse as parseCsv } from 'csv-parse/sync';
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, Scalar } from 'yaml';
import { isCurrency, parseMicro } from './money';
import { E164_PREFIX, PrefixTable } from './prefix-table';

export type DeckKind = 'outbound' | 'conference_dialout' | 'tollfree_dialin';
export const DECK_KINDS: DeckKind[] = ['outbound', 'conference_dialout', 'tollfree_dialin'];

export interface RateEntry {
  prefix: string;
  destination: string;
  kind: 'landline' | 'mobile' | 'any';
  /** Per minute, in micro-units of the deck's currency. */
  ratePerMinuteMicro: bigint;
}

export interface DeckVersion {
  version: string;
  /** Inclusive, ms since the epoch. */
  effectiveFrom: number;
  /** Exclusive; Infinity when open-ended. */
  effectiveTo: number;
  file: string;
  rates: PrefixTable<RateEntry>;
}

/** Billing increment: the first `first` seconds are billed whole, then blocks of `next`. */
export interface Increment {
  first: number;
  next: number;
}

export interface PeakWindow {
  timeZone: string;
  /** ISO weekdays, 1 Monday to 7 Sunday. */
  days: number[];
  /** Minutes after midnight, local: peak is [from, to). */
  fromMinute: number;
  toMinute: number;
  /** Off-peak rate = rate x factor, in micro-units (800000n = 0.8). */
  offPeakFactorMicro: bigint;
}

export interface RateDeck {
  id: string;
  /** Where the deck is declared in decks.yaml. */
  line: number;
  kind: DeckKind;
  currency: string;
  increment: Increment;
  connectionFeeMicro: bigint;
  minimumChargeMicro: bigint;
  peak: PeakWindow | undefined;
  versions: DeckVersion[];
}

export interface Plan {
  capability: string;
  covers: ('domestic' | 'international' | 'conference_dialout_zone_a')[];
  minutesPerUser: Record<string, number>;
}

export interface RateBook {
  decks: RateDeck[];
  plans: Map<string, Plan>;
  zoneA: Set<string>;
  /** Calling-code prefixes to ISO 3166-1 countries. */
  countries: PrefixTable<{ country: string; name: string }>;
}

/**
 * The deck kinds the book prices in some currency but not in `currency`: a tenant in that
 * currency could make calls no deck rates (every deck kind may be used by any tenant).
 */
export function missingDeckKinds(book: RateBook, currency: string): DeckKind[] {
  const priced = (kind: DeckKind, inCurrency?: string) =>
    book.decks.some(
      (deck) => deck.kind === kind && (inCurrency === undefined || deck.currency === inCurrency),
    );
  return DECK_KINDS.filter((kind) => priced(kind) && !priced(kind, currency));
}

/** A problem in the rate files, with where it is. */
export interface RateFileError {
  file: string;
  line: number;
  message: string;
}

export class RateBookError extends Error {
  override readonly name = 'RateBookError';
  constructor(readonly errors: RateFileError[]) {
    super(
      `the rate files have ${errors.length} error(s):\n${errors.map((e) => `  ${e.file}:${e.line}: ${e.message}`).join('\n')}`,
    );
  }
}

const INCREMENTS = new Set(['60/60', '1/1', '30/6', '60/1', '30/30', '60/30', '6/6']);

/** Reads the rate files (path -> text, paths relative to the rates folder) into a RateBook. */
export function parseRateBook(files: Map<string, string>): RateBook {
  const errors: RateFileError[] = [];
  const fail = (file: string, line: number, message: string) => errors.push({ file, line, message });
  const need = (file: string) => {
    const text = files.get(file);
    if (text === undefined) fail(file, 0, 'file not found');
    return text;
  };

  const countries = new PrefixTable<{ country: string; name: string }>();
  const knownCountries = new Set<string>();
  const countriesText = need('countries.csv');
  if (countriesText !== undefined) {
    for (const { row, line } of csvRows(
      countriesText,
      'countries.csv',
      ['prefix', 'country', 'name'],
      fail,
    )) {
      if (!E164_PREFIX.test(row.prefix!)) fail('countries.csv', line, `malformed prefix "${row.prefix}"`);
      else if (!/^[A-Z]{2}$|^001$/.test(row.country!))
        fail('countries.csv', line, `bad country "${row.country}"`);
      else if (!countries.add(row.prefix!, { country: row.country!, name: row.name! })) {
        fail('countries.csv', line, `duplicate prefix ${row.prefix}`);
      } else knownCountries.add(row.country!);
    }
  }

  const plans = new Map<string, Plan>();
  const zoneA = new Set<string>();
  const plansText = need('plans.yaml');
  if (plansText !== undefined) parsePlans(plansText, plans, zoneA, knownCountries, fail);

  const decks: RateDeck[] = [];
  /** The deck files the manifest's decks asked for, read or not. */
  const read = new Set<string>();
  const deckFiles = new Map(files);
  deckFiles.get = (file: string) => {
    read.add(file);
    return files.get(file);
  };
  const manifestText = need('decks.yaml');
  if (manifestText !== undefined) {
    const lines = new LineCounter();
    const document = parseDocument(manifestText, { lineCounter: lines });
    for (const error of document.errors) {
      fail('decks.yaml', error.linePos?.[0]?.line ?? 0, `not YAML: ${error.message.split('\n')[0]}`);
    }
    const manifest: unknown = document.errors.length === 0 ? document.toJS() : undefined;
    /** The line of the deepest node that exists along `path`. */
    const lineOf = (path: (string | number)[]): number => {
      for (let depth = path.length; depth > 0; depth--) {
        const found = document.getIn(path.slice(0, depth), true);
        if (isNode(found) && found.range) return lines.linePos(found.range[0]).line;
      }
      return 1;
    };
    const list = (manifest as { decks?: unknown })?.decks;
    if (manifest !== undefined && !Array.isArray(list))
      fail('decks.yaml', 1, 'expected a list under "decks"');
    for (const [i, raw] of (Array.isArray(list) ? list : []).entries()) {
      const deck = parseDeck(raw as Record<string, unknown>, i, deckFiles, fail, (path) =>
        lineOf(['decks', i, ...path]),
      );
      if (deck) decks.push(deck);
    }
    const seen = new Set<string>();
    decks.forEach((deck) => {
      const key = `${deck.kind}/${deck.currency}`;
      if (seen.has(key))
        fail(
          'decks.yaml',
          deck.line,
          `deck ${deck.id}: another deck already prices ${deck.kind} calls in ${deck.currency}`,
        );
      seen.add(key);
    });
  }
  checkUnreadDeckFiles(files, read, fail);
  if (errors.length > 0) throw new RateBookError(errors);
  return { decks, plans, zoneA, countries };
}

/**
 * Every problem in every file: a deck CSV that no loaded deck read (its manifest entry was
 * refused, or decks.yaml is not YAML at all) is still checked as a deck file, so one bad line
 * of YAML does not hide the CSV errors behind it. countries.csv is read on its own.
 */
function checkUnreadDeckFiles(
  files: Map<string, string>,
  read: Set<string>,
  fail: (file: string, line: number, message: string) => void,
): void {
  for (const [file, text] of files) {
    if (file.endsWith('.csv') && file !== 'countries.csv' && !read.has(file)) parseRates(text, file, fail);
  }
}

function parseDeck(
  raw: Record<string, unknown>,
  index: number,
  files: Map<string, string>,
  fail: (file: string, line: number, message: string) => void,
  lineOf: (path: (string | number)[]) => number,
): RateDeck | undefined {
  const where = `deck ${index + 1}${typeof raw?.id === 'string' ? ` (${raw.id})` : ''}`;
  let field: (string | number)[] = [];
  const bad = (message: string) => {
    fail('decks.yaml', lineOf(field), `${where}: ${message}`);
    return undefined;
  };
  const at = (...path: (string | number)[]) => {
    field = path;
    return true;
  };
  if (typeof raw !== 'object' || raw === null) return bad('not a mapping');
  if (at('id') && (typeof raw.id !== 'string' || raw.id === '')) return bad('id is required');
  if (at('kind') && !DECK_KINDS.includes(raw.kind as DeckKind))
    return bad(`kind must be one of ${DECK_KINDS.join(', ')}`);
  if (at('currency') && (typeof raw.currency !== 'string' || !isCurrency(raw.currency))) {
    return bad(`unknown currency "${String(raw.currency)}"`);
  }
  const increment = raw.increment as { first?: unknown; next?: unknown } | undefined;
  const incrementText = `${String(increment?.first)}/${String(increment?.next)}`;
  if (at('increment') && !INCREMENTS.has(incrementText))
    return bad(`increment ${incrementText} is not one of ${[...INCREMENTS].join(', ')}`);
  const fee = parseMicro(String(raw.connectionFee ?? '0'));
  const minimum = parseMicro(String(raw.minimumCharge ?? '0'));
  if (at('connectionFee') && fee === undefined)
    return bad(`connectionFee "${String(raw.connectionFee)}" is not a non-negative decimal`);
  if (at('minimumCharge') && minimum === undefined)
    return bad(`minimumCharge "${String(raw.minimumCharge)}" is not a non-negative decimal`);
  let peak: PeakWindow | undefined;
  if (raw.peak !== undefined) {
    const p = raw.peak as Record<string, unknown>;
    const time = (value: unknown) => {
      const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(String(value));
      return match ? Number(match[1]) * 60 + Number(match[2]) : undefined;
    };
    const factor = parseMicro(String(p.offPeakFactor));
    const from = time(p.from);
    const to = time(p.to);
    const days = Array.isArray(p.days) ? p.days.map(Number) : [];
    let zoneOk = typeof p.timeZone === 'string';
    try {
      if (zoneOk) new Intl.DateTimeFormat('en', { timeZone: p.timeZone as string });
    } catch {
      zoneOk = false;
    }
    if (at('peak', 'timeZone') && !zoneOk)
      return bad(`peak.timeZone "${String(p.timeZone)}" is not an IANA time zone`);
    if (at('peak', 'from') && (from === undefined || to === undefined || from >= to))
      return bad('peak.from and peak.to must be HH:MM, from before to');
    if (at('peak', 'days') && (days.length === 0 || days.some((d) => !Number.isInteger(d) || d < 1 || d > 7)))
      return bad('peak.days must list weekdays 1-7');
    if (at('peak', 'offPeakFactor') && factor === undefined)
      return bad(`peak.offPeakFactor "${String(p.offPeakFactor)}" is not a non-negative decimal`);
    peak = {
      timeZone: p.timeZone as string,
      days,
      fromMinute: from!,
      toMinute: to!,
      offPeakFactorMicro: factor!,
    };
  }
  if (at('versions') && (!Array.isArray(raw.versions) || raw.versions.length === 0))
    return bad('versions: at least one is required');

  const versions: (DeckVersion & { index: number })[] = [];
  for (const [vi, v] of (raw.versions as Record<string, unknown>[]).entries()) {
    const from = Date.parse(String(v.effectiveFrom));
    const to = v.effectiveTo === undefined ? Infinity : Date.parse(String(v.effectiveTo));
    if (at('versions', vi, 'version') && typeof v.version !== 'string' && typeof v.version !== 'number') {
      return bad('every version needs a version name');
    }
    if (at('versions', vi, 'effectiveFrom') && (Number.isNaN(from) || Number.isNaN(to) || from >= to)) {
      return bad(
        `version ${String(v.version)}: effectiveFrom and effectiveTo must be ISO 8601 times, from before to`,
      );
    }
    const file = String(v.file);
    const text = files.get(file);
    if (text === undefined) {
      fail(file, 0, `file not found (${where}, version ${String(v.version)})`);
      continue;
    }
    versions.push({
      index: vi,
      version: String(v.version),
      effectiveFrom: from,
      effectiveTo: to,
      file,
      rates: parseRates(text, file, fail),
    });
  }
  versions.sort((a, b) => a.effectiveFrom - b.effectiveFrom);
  for (let i = 1; i < versions.length; i++) {
    if (at('versions', versions[i]!.index) && versions[i]!.effectiveFrom < versions[i - 1]!.effectiveTo) {
      return bad(
        `versions ${versions[i - 1]!.version} and ${versions[i]!.version} have overlapping effective ranges`,
      );
    }
  }
  return {
    id: raw.id as string,
    line: lineOf([]),
    kind: raw.kind as DeckKind,
    currency: raw.currency as string,
    increment: { first: Number(increment!.first), next: Number(increment!.next) },
    connectionFeeMicro: fee!,
    minimumChargeMicro: minimum!,
    peak,
    versions,
  };
}

/** One deck file: prefix,destination,kind,rate_per_minute; '#' starts a comment line. */
function parseRates(text: string, file: string, fail: (file: string, line: number, message: string) => void) {
  const table = new PrefixTable<RateEntry>();
  for (const { row, line } of csvRows(
    text,
    file,
    ['prefix', 'destination', 'kind', 'rate_per_minute'],
    fail,
  )) {
    const { prefix, destination, kind, rate_per_minute: rateText } = row as Record<string, string>;
    const rate = parseMicro(rateText ?? '');
    if (!E164_PREFIX.test(prefix ?? ''))
      fail(file, line, `malformed prefix "${prefix}": + and 1 to 15 digits`);
    else if (!['landline', 'mobile', 'any'].includes(kind ?? ''))
      fail(file, line, `kind "${kind}" is not landline, mobile or any`);
    else if (rate === undefined)
      fail(file, line, `rate "${rateText}" is not a non-negative decimal with at most 6 places`);
    else if (!destination) fail(file, line, 'destination is empty');
    else if (
      !table.add(prefix!, {
        prefix: prefix!,
        destination,
        kind: kind as RateEntry['kind'],
        ratePerMinuteMicro: rate,
      })
    ) {
      fail(file, line, `duplicate prefix ${prefix}`);
    }
  }
  return table;
}

function* csvRows(
  text: string,
  file: string,
  columns: string[],
  fail: (file: string, line: number, message: string) => void,
): Generator<{ row: Record<string, string | undefined>; line: number }> {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parseCsv(text, {
      comment: '#',
      skip_empty_lines: true,
      info: true,
      relax_column_count: true,
      trim: true,
    }) as unknown as typeof records;
  } catch (error) {
    fail(file, (error as { lines?: number }).lines ?? 0, `not CSV: ${(error as Error).message}`);
    return;
  }
  const [header, ...rest] = records;
  if (!header || header.record.join(',') !== columns.join(',')) {
    fail(file, header?.info.lines ?? 1, `the header must be ${columns.join(',')}`);
    return;
  }
  for (const { record, info } of rest) {
    if (record.length !== columns.length) {
      fail(file, info.lines, `expected ${columns.length} columns, found ${record.length}`);
      continue;
    }
    yield { row: Object.fromEntries(columns.map((c, i) => [c, record[i]])), line: info.lines };
  }
}

/** What YAML 1.1 readers (still the default of many tools) take for a boolean when unquoted. */
const YAML_1_1_BOOLEAN =
  /^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;

function parsePlans(
  text: string,
  plans: Map<string, Plan>,
  zoneA: Set<string>,
  knownCountries: Set<string>,
  fail: (file: string, line: number, message: string) => void,
) {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines });
  if (document.errors.length > 0) {
    for (const error of document.errors)
      fail('plans.yaml', error.linePos?.[0]?.line ?? 0, `not YAML: ${error.message.split('\n')[0]}`);
    return;
  }
  const lineOfNode = (node: unknown) => (isNode(node) && node.range ? lines.linePos(node.range[0]).line : 1);
  /**
   * A country code where one belongs: two capital letters, quoted if YAML 1.1 would read it
   * as a boolean (Norway's NO is false there), and a country of countries.csv.
   */
  const countryCode = (node: unknown, where: string): string | undefined => {
    const line = lineOfNode(node);
    if (!isScalar(node)) {
      fail('plans.yaml', line, `${where}: expected a country code`);
      return undefined;
    }
    const value = String(node.value);
    if (node.type === Scalar.PLAIN && YAML_1_1_BOOLEAN.test(value)) {
      fail(
        'plans.yaml',
        line,
        `${where}: unquoted ${value} is a boolean to YAML 1.1 readers; quote the country code ('${value}')`,
      );
      return undefined;
    }
    if (!/^[A-Z]{2}$/.test(value) || !knownCountries.has(value)) {
      fail('plans.yaml', line, `${where}: "${value}" is not a country of countries.csv (ISO 3166-1 alpha-2)`);
      return undefined;
    }
    return value;
  };

  const covers = ['domestic', 'international', 'conference_dialout_zone_a'];
  const planMap = document.get('plans', true);
  for (const item of isMap(planMap) ? planMap.items : []) {
    const capability = String(isScalar(item.key) ? item.key.value : item.key);
    const plan = item.value;
    const line = lineOfNode(item.key);
    const list = isMap(plan) ? plan.get('covers', true) : undefined;
    const coverList = isSeq(list) ? list.items.map((c) => String(isScalar(c) ? c.value : c)) : undefined;
    if (!coverList || coverList.some((c) => !covers.includes(c))) {
      fail(
        'plans.yaml',
        lineOfNode(list ?? item.key),
        `${capability}: covers must list some of ${covers.join(', ')}`,
      );
      continue;
    }
    const minutesNode = isMap(plan) ? plan.get('minutesPerUser', true) : undefined;
    if (!isMap(minutesNode)) {
      fail(
        'plans.yaml',
        line,
        `${capability}: minutesPerUser needs a default and whole, non-negative minutes`,
      );
      continue;
    }
    const minutes: Record<string, number> = {};
    let valid = true;
    for (const entry of minutesNode.items) {
      const key =
        isScalar(entry.key) && entry.key.value === 'default'
          ? 'default'
          : countryCode(entry.key, `${capability}: minutesPerUser`);
      const value = isScalar(entry.value) ? entry.value.value : undefined;
      if (key === undefined) valid = false;
      else if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
        const where = lineOfNode(entry.value ?? entry.key);
        fail('plans.yaml', where, `${capability}: minutesPerUser ${key} must be whole, non-negative minutes`);
        valid = false;
      } else minutes[key] = value;
    }
    if (valid && minutes.default === undefined) {
      fail('plans.yaml', lineOfNode(minutesNode), `${capability}: minutesPerUser needs a default`);
      valid = false;
    }
    if (!valid) continue;
    plans.set(capability, { capability, covers: coverList as Plan['covers'], minutesPerUser: minutes });
  }
  const zoneANode = document.get('zoneA', true);
  for (const country of isSeq(zoneANode) ? zoneANode.items : []) {
    const code = countryCode(country, 'zoneA');
    if (code !== undefined) zoneA.add(code);
  }
}

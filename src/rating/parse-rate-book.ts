import { isNode, LineCounter, parseDocument } from 'yaml';
import { E164_PREFIX, PrefixTable } from './prefix-table';
import { RateBookError, type Plan, type RateBook, type RateDeck, type RateFileError } from './rate-book';
import { parseDeck } from './deck-manifest';
import { csvRows, parsePlans, parseRates, type Fail } from './rate-files';

/** countries.csv: calling-code prefixes to ISO 3166-1 countries, and the countries it names. */
function parseCountries(countriesText: string | undefined, fail: Fail) {
  const countries = new PrefixTable<{ country: string; name: string }>();
  const knownCountries = new Set<string>();
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

  return { countries, knownCountries };
}

/** decks.yaml: the decks, each with its versions' files; no two decks price one kind in one currency. */
function parseManifest(manifestText: string, deckFiles: Map<string, string>, fail: Fail): RateDeck[] {
  const decks: RateDeck[] = [];
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
  if (manifest !== undefined && !Array.isArray(list)) fail('decks.yaml', 1, 'expected a list under "decks"');
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
  return decks;
}

/** Reads the rate files (path -> text, paths relative to the rates folder) into a RateBook. */
export function parseRateBook(files: Map<string, string>): RateBook {
  const errors: RateFileError[] = [];
  const fail = (file: string, line: number, message: string) => errors.push({ file, line, message });
  const need = (file: string) => {
    const text = files.get(file);
    if (text === undefined) fail(file, 0, 'file not found');
    return text;
  };

  const { countries, knownCountries } = parseCountries(need('countries.csv'), fail);

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
  if (manifestText !== undefined) decks.push(...parseManifest(manifestText, deckFiles, fail));
  checkUnreadDeckFiles(files, read, fail);
  if (errors.length > 0) throw new RateBookError(errors);
  return { decks, plans, zoneA, countries };
}

/**
 * Every problem in every file: a deck CSV that no loaded deck read (its manifest entry was
 * refused, or decks.yaml is not YAML at all) is still checked as a deck file, so one bad line
 * of YAML does not hide the CSV errors behind it. countries.csv is read on its own.
 */
function checkUnreadDeckFiles(files: Map<string, string>, read: Set<string>, fail: Fail): void {
  for (const [file, text] of files) {
    if (file.endsWith('.csv') && file !== 'countries.csv' && !read.has(file)) parseRates(text, file, fail);
  }
}

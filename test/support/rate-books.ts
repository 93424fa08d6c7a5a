import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseRateBook, RateBook } from '../../src/rating';
import { projectRoot } from '../../tools/stack/toolchain';

/** Rate books for re-rating tests: the shipped rates folder, edited. */

/** The shipped rates folder's files, by path in the folder. */
export function rateFiles(): Map<string, string> {
  const dir = join(projectRoot, 'rates');
  const files = new Map<string, string>();
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder)) {
      const path = join(folder, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(csv|ya?ml)$/.test(entry)) files.set(relative(dir, path), readFileSync(path, 'utf8'));
    }
  };
  walk(dir);
  return files;
}

/** `files` with `from` replaced by `to` in the file `path`, which must hold it. */
function edited(files: Map<string, string>, path: string, from: string, to: string) {
  const text = files.get(path);
  if (!text?.includes(from)) throw new Error(`${path} has no ${from}`);
  files.set(path, text.replace(from, to));
  return files;
}

const UK_LANDLINE = '+44,"United Kingdom",landline,0.0349';

/** The shipped decks with the UK landline rate of outbound USD published wrong: 1.00 USD a minute. */
export const wrongBook = (): RateBook =>
  parseRateBook(
    ['decks/outbound-usd-2026-01.csv', 'decks/outbound-usd-2026-07.csv'].reduce(
      (files, path) => edited(files, path, UK_LANDLINE, '+44,"United Kingdom",landline,1.0000'),
      rateFiles(),
    ),
  );

const US_ANY = '+1,"United States",any,0.0219';

/** The shipped decks with the US rate of outbound USD published wrong: 1.00 USD a minute. */
export const wrongUsBook = (): RateBook =>
  parseRateBook(
    ['decks/outbound-usd-2026-01.csv', 'decks/outbound-usd-2026-07.csv'].reduce(
      (files, path) => edited(files, path, US_ANY, '+1,"United States",any,1.0000'),
      rateFiles(),
    ),
  );

/** The shipped decks: the UK rate as it should be (0.0349 a minute). */
export const correctBook = (): RateBook => parseRateBook(rateFiles());

/** The shipped decks, but outbound USD billed by the second. */
export const perSecondBook = (): RateBook =>
  parseRateBook(
    edited(
      rateFiles(),
      'decks.yaml',
      'increment: { first: 60, next: 60 } # per started minute',
      'increment: { first: 1, next: 1 }',
    ),
  );

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseRateBook } from './parse-rate-book';
import type { RateBook } from './rate-book';

/** The one place the rating core touches the file system: reads every file of the rates folder. */
export function loadRateBook(dir: string): RateBook {
  const files = new Map<string, string>();
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder)) {
      const path = join(folder, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(csv|ya?ml)$/.test(entry))
        files.set(relative(dir, path).split('\\').join('/'), readFileSync(path, 'utf8'));
    }
  };
  walk(dir);
  return parseRateBook(files);
}

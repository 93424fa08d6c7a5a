import { parse as parseCsv } from 'csv-parse/sync';
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, Scalar } from 'yaml';
import { parseMicro } from './money';
import { E164_PREFIX, PrefixTable } from './prefix-table';
import type { Plan, RateEntry } from './rate-book';

/** Records a problem at a file's line (0: the file as a whole). */
export type Fail = (file: string, line: number, message: string) => void;

/** One deck file: prefix,destination,kind,rate_per_minute; '#' starts a comment line. */
export function parseRates(text: string, file: string, fail: Fail) {
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

/** The rows of a CSV file with exactly `columns`, each with its line; a problem is failed, not thrown. */
export function* csvRows(
  text: string,
  file: string,
  columns: string[],
  fail: Fail,
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

/**
 * A country code where one belongs: two capital letters, quoted if YAML 1.1 would read it
 * as a boolean (Norway's NO is false there), and a country of countries.csv.
 */
function countryCodeReader(lineOfNode: (node: unknown) => number, knownCountries: Set<string>, fail: Fail) {
  return (node: unknown, where: string): string | undefined => {
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
}

export function parsePlans(
  text: string,
  plans: Map<string, Plan>,
  zoneA: Set<string>,
  knownCountries: Set<string>,
  fail: Fail,
) {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines });
  if (document.errors.length > 0) {
    for (const error of document.errors)
      fail('plans.yaml', error.linePos?.[0]?.line ?? 0, `not YAML: ${error.message.split('\n')[0]}`);
    return;
  }
  const lineOfNode = (node: unknown) => (isNode(node) && node.range ? lines.linePos(node.range[0]).line : 1);
  const countryCode = countryCodeReader(lineOfNode, knownCountries, fail);

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

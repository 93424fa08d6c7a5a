import { isCurrency, parseMicro } from './money';
import { DECK_KINDS, type DeckKind, type DeckVersion, type PeakWindow, type RateDeck } from './rate-book';
import { parseRates, type Fail } from './rate-files';

const INCREMENTS = new Set(['60/60', '1/1', '30/6', '60/1', '30/30', '60/30', '6/6']);

/** Marks the field a refusal names (always true, to chain in a condition). */
type At = (...path: (string | number)[]) => boolean;
/** Fails the deck with a message at the marked field. */
type Bad = (message: string) => undefined;

/** The deck's peak window: its time zone, hours, weekdays and off-peak factor. */
function peakWindow(p: Record<string, unknown>, at: At, bad: Bad): PeakWindow | undefined {
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
  return {
    timeZone: p.timeZone as string,
    days,
    fromMinute: from!,
    toMinute: to!,
    offPeakFactorMicro: factor!,
  };
}

/** The deck's versions, each with its rate file read, in order and not overlapping. */
function deckVersions(
  list: Record<string, unknown>[],
  files: Map<string, string>,
  fail: Fail,
  where: string,
  at: At,
  bad: Bad,
): DeckVersion[] | undefined {
  const versions: (DeckVersion & { index: number })[] = [];
  for (const [vi, v] of list.entries()) {
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
  return versions;
}

/** One deck of decks.yaml, its versions' files read; undefined (and failed) when it is not right. */
export function parseDeck(
  raw: Record<string, unknown>,
  index: number,
  files: Map<string, string>,
  fail: Fail,
  lineOf: (path: (string | number)[]) => number,
): RateDeck | undefined {
  const where = `deck ${index + 1}${typeof raw?.id === 'string' ? ` (${raw.id})` : ''}`;
  let field: (string | number)[] = [];
  const bad: Bad = (message: string) => {
    fail('decks.yaml', lineOf(field), `${where}: ${message}`);
    return undefined;
  };
  const at: At = (...path: (string | number)[]) => {
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
    peak = peakWindow(raw.peak as Record<string, unknown>, at, bad);
    if (!peak) return undefined;
  }
  if (at('versions') && (!Array.isArray(raw.versions) || raw.versions.length === 0))
    return bad('versions: at least one is required');

  const versions = deckVersions(raw.versions as Record<string, unknown>[], files, fail, where, at, bad);
  if (!versions) return undefined;
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

/**
 * The local weekday and minute of an instant in an IANA time zone, as a deck's peak hours
 * read it. Intl formats it (about 4 us a call); calls of the same hour share one answer: the
 * local minute at the start of each UTC hour is read once, and the minutes after it counted
 * on, for an hour that Intl shows as uniform (a whole-minute offset, no transition inside).
 */

export interface LocalWeekTime {
  /** 1 = Monday to 7 = Sunday (0: a weekday Intl named otherwise). */
  day: number;
  /** Minutes since local midnight. */
  minute: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MINUTES = 1_440;
const WEEK_MINUTES = 7 * DAY_MINUTES;
const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
/** Hours remembered per zone; beyond, the zone's memory starts again. */
const MAX_HOURS = 50_000;
/** An hour that is not uniform: each instant in it is read through Intl. */
const NOT_UNIFORM = -1;

interface Zone {
  format: Intl.DateTimeFormat;
  /** UTC hour (epoch ms / HOUR_MS) -> local minute of the week at its start, or NOT_UNIFORM. */
  hours: Map<number, number>;
}

const zones = new Map<string, Zone>();

function zoneOf(timeZone: string): Zone {
  let zone = zones.get(timeZone);
  if (!zone) {
    const format = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    zone = { format, hours: new Map() };
    zones.set(timeZone, zone);
  }
  return zone;
}

/** What Intl says of `at`: weekday, minute of the day and second. Throws for an invalid time. */
function read(format: Intl.DateTimeFormat, at: number): LocalWeekTime & { second: number } {
  const parts = format.formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)!.value;
  return {
    day: WEEKDAYS.indexOf(get('weekday')) + 1,
    minute: Number(get('hour')) * 60 + Number(get('minute')),
    second: Number(get('second')),
  };
}

/** The local weekday and minute of `at` (epoch ms) in `timeZone`, read through Intl alone. */
export function localWeekTimeOf(timeZone: string, at: number): LocalWeekTime {
  const { day, minute } = read(zoneOf(timeZone).format, at);
  return { day, minute };
}

/**
 * The local minute of the week at the start of `hour`, when the whole hour runs on one offset
 * of whole minutes: at its start the local second is 0, and its last millisecond is 59 minutes
 * and 59 seconds later in local time too (a transition inside the hour would shift that).
 */
function hourStart(format: Intl.DateTimeFormat, hour: number): number {
  let start, end;
  try {
    start = read(format, hour * HOUR_MS);
    end = read(format, hour * HOUR_MS + HOUR_MS - 1);
  } catch {
    return NOT_UNIFORM; // an hour at the edge of the time range: each instant read alone
  }
  if (start.day === 0 || end.day === 0 || start.second !== 0 || end.second !== 59) return NOT_UNIFORM;
  const first = (start.day - 1) * DAY_MINUTES + start.minute;
  const last = (end.day - 1) * DAY_MINUTES + end.minute;
  return (last - first + WEEK_MINUTES) % WEEK_MINUTES === 59 ? first : NOT_UNIFORM;
}

/** `localWeekTimeOf`, from the zone's memory of the instant's hour. */
export function localWeekTime(timeZone: string, at: number): LocalWeekTime {
  const zone = zoneOf(timeZone);
  if (!Number.isFinite(at)) return localWeekTimeOf(timeZone, at);
  const hour = Math.floor(at / HOUR_MS);
  let first = zone.hours.get(hour);
  if (first === undefined) {
    if (zone.hours.size >= MAX_HOURS) zone.hours.clear();
    first = hourStart(zone.format, hour);
    zone.hours.set(hour, first);
  }
  if (first === NOT_UNIFORM) return localWeekTimeOf(timeZone, at);
  const minuteOfWeek = (first + Math.floor((at - hour * HOUR_MS) / MINUTE_MS)) % WEEK_MINUTES;
  return { day: Math.floor(minuteOfWeek / DAY_MINUTES) + 1, minute: minuteOfWeek % DAY_MINUTES };
}

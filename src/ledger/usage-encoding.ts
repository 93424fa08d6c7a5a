import type { RatedDetails } from '../credits/usage-details';

/**
 * The storage encoding of a usage's rated details (RatedDetails) in its idempotency record:
 * `fingerprint|billedSeconds|connectionCharge|currency|deck|version|prefix|destinationName`,
 * a few dozen bytes per usage id, not a JSON object. The first three fields are the usage's
 * own; the other five, which many usages have alike, are stored once a month (interned).
 * The format is the one stored since details were kept: data written before still reads.
 */

// Most fields have nothing to escape: the replaces run only when there is.
const escape = (text: string) =>
  text.includes('%') || text.includes('|') ? text.replace(/%/g, '%25').replace(/\|/g, '%7C') : text;
const unescape = (text: string) =>
  text.includes('%') ? text.replace(/%7C/g, '|').replace(/%25/g, '%') : text;

/** The eight fields packed, `|`-separated ('%' and '|' in a field escaped). */
export function packRated(details: RatedDetails): string {
  const rate = details.rate ?? { deck: '', version: '', prefix: '' };
  return [
    details.fingerprint,
    String(details.billedSeconds),
    details.connectionCharge.toString(),
    details.currency,
    rate.deck,
    rate.version,
    rate.prefix,
    details.destinationName,
  ]
    .map(escape)
    .join('|');
}

/** The details packed by `packRated`, or undefined for an outcome stored without them. */
export function unpackRated(packed: string): RatedDetails | undefined {
  const parts = packed.split('|').map(unescape);
  if (parts.length !== 8) return undefined;
  const [fp, billed, connection, currency, deck, version, prefix, destinationName] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return {
    fingerprint: fp,
    billedSeconds: Number(billed),
    connectionCharge: BigInt(connection),
    currency,
    destinationName,
    rate: deck === '' ? null : { deck, version, prefix },
  };
}

/**
 * The packed details as the ledger keeps them: `own`, the three fields particular to a usage
 * (fingerprint, billed seconds, connection charge), and `shared`, the rest.
 */
export function splitRated(packed: string): { own: string; shared: string } {
  let at = -1;
  for (let n = 0; n < 3; n++) {
    at = packed.indexOf('|', at + 1);
    if (at < 0) return { own: packed, shared: '' };
  }
  return { own: packed.slice(0, at), shared: packed.slice(at + 1) };
}

/** The details as applyUsage takes them: the usage's own fields and the shared ones ('' for none). */
export function ratedArgs(details: RatedDetails | undefined): { own: string; shared: string } {
  return details ? splitRated(packRated(details)) : { own: '', shared: '' };
}

/** The details a record keeps (own and shared, as `splitRated` gave them), or undefined without. */
export const storedDetails = (own: string, shared: string): RatedDetails | undefined =>
  own === '' ? undefined : unpackRated(shared ? `${own}|${shared}` : own);

import { hash } from 'node:crypto';
import type { RateBook } from './rate-book';

/**
 * A digest of the rate decks (every deck's terms, versions, periods and rates) and plans: two
 * books price every call alike when their digests are equal. A re-rating run names the decks
 * it priced with by it, so that a correction of a rate, even under the same version label,
 * is another revision.
 */
export function rateBookDigest(book: RateBook): string {
  let text = '';
  for (const deck of [...book.decks].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    text += JSON.stringify([
      deck.id,
      deck.kind,
      deck.currency,
      deck.increment,
      deck.connectionFeeMicro.toString(),
      deck.minimumChargeMicro.toString(),
      deck.peak ? { ...deck.peak, offPeakFactorMicro: deck.peak.offPeakFactorMicro.toString() } : null,
    ]);
    text += '\n';
    for (const version of deck.versions) {
      text += `${version.version} ${version.effectiveFrom} ${version.effectiveTo}\n`;
      for (const [prefix, rate] of version.rates.entries())
        text += `${prefix} ${rate.kind} ${rate.ratePerMinuteMicro} ${rate.destination}\n`;
    }
  }
  const plans = [...book.plans].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  text += JSON.stringify(plans);
  text += JSON.stringify([...book.zoneA].sort());
  return hash('sha256', text, 'hex');
}

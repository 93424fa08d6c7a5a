import { Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { loadRateBook } from './load';
import { formatMinor } from './money';
import { rateCall } from './price';
import { RateBookError } from './rate-book';
import { CALL_TYPES, CallType, E164_NUMBER, UsageRecord } from './usage-record';

/** The numbers and times a CDR must carry, refused here as the consumer refuses them. */
const e164 = (value: string) => {
  if (!E164_NUMBER.test(value)) throw new InvalidArgumentError('must be E.164: + and 2 to 15 digits');
  return value;
};
const ISO_WITH_OFFSET = z.regexes.datetime({ offset: true });
const isoTime = (value: string) => {
  if (!ISO_WITH_OFFSET.test(value) || Number.isNaN(Date.parse(value)))
    throw new InvalidArgumentError('must be ISO 8601 with a time zone offset or Z (2026-12-01T09:30:00Z)');
  return value;
};

const integer = (value: string) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('a whole number');
  return Number(value);
};

/** `rates validate <dir>` and `rates quote ...`: the rate decks from the command line. */
export function ratesCommand(): Command {
  const rates = new Command('rates').description('check the rate decks and price calls with them');

  rates
    .command('validate')
    .argument('[dir]', 'folder with decks.yaml, plans.yaml, countries.csv and the deck CSVs', 'rates')
    .description('load every deck and plan; list each problem with its file and line')
    .action((dir: string) => {
      try {
        const book = loadRateBook(dir);
        for (const deck of book.decks) {
          const versions = deck.versions.map((v) => `${v.version} (${v.rates.size} prefixes)`).join(', ');
          console.log(`ok  ${deck.id}: ${deck.kind} in ${deck.currency}, versions ${versions}`);
        }
        console.log(
          `ok  ${book.plans.size} plans, ${book.zoneA.size} Zone A countries, ${book.countries.size} calling codes`,
        );
      } catch (error) {
        if (!(error instanceof RateBookError)) throw error;
        for (const e of error.errors) console.error(`${e.file}:${e.line}: ${e.message}`);
        process.exitCode = 1;
      }
    });

  rates
    .command('quote')
    .description('price one call and print the breakdown')
    .requiredOption('--to <number>', 'callee number, E.164', e164)
    .option('--from <number>', 'caller number, E.164', e164)
    .option('--type <callType>', `one of ${CALL_TYPES.join(', ')}`, 'user_out')
    .option('--duration <seconds>', 'connected seconds', integer, 60)
    .option('--start <iso>', 'start time, ISO 8601 with an offset or Z', isoTime, new Date().toISOString())
    .option('--licence <capability>', 'licence capability (MCOPSTN1, MCOPSTNPP, ...)', 'MCOPSTNPP')
    .option('--country <code>', "user's usage country, ISO 3166-1", 'US')
    .option('--currency <code>', "tenant's currency", 'USD')
    .option('--pool-left <seconds>', 'seconds left in the pool', integer, 0)
    .option('--toll-free', 'the number dialled is a toll-free number (conf_in)')
    .option('--rates <dir>', 'rates folder', 'rates')
    .action((o: Record<string, string | number | boolean>) => {
      if (!CALL_TYPES.includes(o.type as CallType))
        throw new InvalidArgumentError(`--type must be one of ${CALL_TYPES.join(', ')}`);
      const record: UsageRecord = {
        id: 'quote',
        tenantId: 'quote',
        callType: o.type as CallType,
        startDateTime: String(o.start),
        duration: Number(o.duration),
        calleeNumber: String(o.to),
        callerNumber: o.from ? String(o.from) : undefined,
        numberType: o.tollFree ? 'tollFree' : undefined,
        licenseCapability: String(o.licence),
        usageCountryCode: String(o.country),
      };
      const result = rateCall(loadRateBook(String(o.rates)), record, String(o.currency), Number(o.poolLeft));
      if (result.kind === 'unrated') {
        console.log(`unrated: ${result.reason}`);
        process.exitCode = 2;
      } else if (result.kind === 'free') {
        console.log(`free (${result.reason}): 0 ${result.currency}`);
      } else {
        console.log(
          `${result.destinationName} (${result.rate.deck} ${result.rate.version}, prefix ${result.rate.prefix})`,
        );
        for (const line of result.breakdown()) console.log(`  ${line.step.padEnd(15)} ${line.detail}`);
        console.log(`charge ${formatMinor(result.chargeMinor, result.currency)} ${result.currency}`);
      }
    });
  return rates;
}

if (require.main === module) {
  ratesCommand()
    .parseAsync(process.argv)
    .catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    });
}

import { randomUUID } from 'node:crypto';
import { Command, InvalidArgumentError } from 'commander';
import { logLevel, Partitioners } from 'kafkajs';
import type { Config } from '../config';
import { CALL_TYPES, E164_NUMBER } from '../rating';
import { kafkaClient } from './kafka-client';

const e164 = (value: string) => {
  if (!E164_NUMBER.test(value)) throw new InvalidArgumentError('must be E.164: + and 2 to 15 digits');
  return value;
};
const seconds = (value: string) => {
  if (!/^\d{1,6}$/.test(value)) throw new InvalidArgumentError('a whole number of seconds');
  return Number(value);
};

export interface CdrOptions {
  tenant: string;
  to: string;
  from?: string;
  type: string;
  duration: number;
  user?: string;
  licence: string;
  country: string;
  id?: string;
  count: number;
}

/**
 * The usage records `rater cdr send` makes: calls that ended now, one after another a second
 * apart, as the contract's JSON (CONTRACTS: the usage record), each with its own id.
 */
export function sampleCdrs(o: CdrOptions, now = Date.now()): { key: string; value: string; id: string }[] {
  const batch = o.id ?? `cli-${randomUUID()}`;
  return Array.from({ length: o.count }, (_, i) => {
    const end = now - (o.count - 1 - i) * 1000;
    const id = o.count === 1 ? batch : `${batch}-${i + 1}`;
    const record = {
      id,
      tenantId: o.tenant,
      callType: o.type,
      startDateTime: new Date(end - o.duration * 1000).toISOString(),
      endDateTime: new Date(end).toISOString(),
      duration: o.duration,
      calleeNumber: o.to,
      ...(o.from ? { callerNumber: o.from } : {}),
      licenseCapability: o.licence,
      usageCountryCode: o.country,
      ...(o.user ? { userPrincipalName: o.user } : {}),
    };
    // The message key is the tenant id: a tenant's records stay on one partition, in order.
    return { key: o.tenant, value: JSON.stringify(record), id };
  });
}

/** `rater cdr send`: usage records onto the CDR topic, as telephony infrastructure sends them. */
export function cdrCommand(configOf: () => Config): Command {
  const cdr = new Command('cdr').description('usage records (CDRs) onto the usage topic');
  cdr
    .command('send')
    .description('send calls that just ended for a tenant (JSON, keyed by the tenant id) and print their ids')
    .requiredOption('--tenant <id>', 'the paying tenant (also the message key)')
    .requiredOption('--to <number>', 'callee number, E.164', e164)
    .option('--from <number>', 'caller number, E.164', e164)
    .option('--type <callType>', `one of ${CALL_TYPES.join(', ')}`, 'user_out')
    .option('--duration <seconds>', 'connected seconds', seconds, 60)
    .option('--user <upn>', "the calling user's principal name")
    .option('--licence <capability>', 'licence capability', 'MCOPSTNPP')
    .option('--country <code>', "the user's usage country", 'US')
    .option('--id <usageId>', 'the usage id (the same id is charged once, ever); default a new one')
    .option('--count <n>', 'this many calls, ids suffixed -1, -2, ...', seconds, 1)
    .action(async (o: CdrOptions) => {
      if (!(CALL_TYPES as readonly string[]).includes(o.type))
        throw new InvalidArgumentError(`--type must be one of ${CALL_TYPES.join(', ')}`);
      const config = configOf();
      const producer = kafkaClient(config.kafka, {
        clientId: `${config.kafka.clientId}-cdr-send`,
        logLevel: logLevel.WARN,
      }).producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
      await producer.connect();
      try {
        const records = sampleCdrs(o);
        await producer.send({
          topic: config.kafka.topics.usageIn,
          messages: records.map(({ key, value }) => ({ key, value })),
        });
        for (const record of records) console.log(record.id);
        console.error(`sent ${records.length} to ${config.kafka.topics.usageIn}`);
      } finally {
        await producer.disconnect();
      }
    });
  return cdr;
}

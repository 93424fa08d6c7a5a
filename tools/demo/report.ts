/** What the demo prints once the day is settled: balances, events, mails, payments, dead letters, authorizations. */
import type { Kafka } from 'kafkajs';
import type { loadConfig } from '../../src/config';
import { minorToDecimal } from '../../src/credits/money';
import type { Ledger } from '../../src/ledger/open-ledger';
import type { RateBook } from '../../src/rating';
import { authorizeCall } from '../../src/settlement/authorize-call';
import { RatingPricer } from '../../src/settlement/rating-pricer';
import type { StripeTestProxy } from '../stack/stripe-test-proxy';
import { BURST_USER, LIMITED_USER } from './scenes';

const dollars = (minor: bigint, currency: string) =>
  `${minorToDecimal(minor.toString(), currency)} ${currency}`;

type DeadLetter = { value: string; headers: Record<string, string> };

async function readTopic(kafka: Kafka, topic: string) {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = ends.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  const found: { value: string; headers: Record<string, string> }[] = [];
  if (total === 0) return found;
  const consumer = kafka.consumer({ groupId: `demo-report-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        const headers = Object.fromEntries(
          Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
        );
        found.push({ value: message.value?.toString() ?? '', headers });
        if (found.length >= total) resolve();
      },
    });
  });
  await consumer.disconnect();
  return found;
}

/** Each tenant's balance, auto-recharge, lots (or what it owes), pools and rated usage. */
async function printBalances(ledger: Ledger, rated: Record<string, string | number>[]) {
  console.log('\n== Balances');
  for (const tenant of ['contoso', 'fabrikam', 'northwind', 'adatum']) {
    const account = (await ledger.reads.readAccount(tenant))!;
    const { currency } = account.settings;
    const mine = rated.filter((r) => r.tenantId === tenant);
    const distinct = new Map(mine.map((r) => [r.id, r]));
    const bySource = new Map<string, number>();
    for (const r of distinct.values())
      bySource.set(String(r.source), (bySource.get(String(r.source)) ?? 0) + 1);
    console.log(`\n${tenant} (${account.settings.mode}, ${currency})`);
    if (account.settings.mode === 'prepaid') {
      console.log(
        `  balance ${dollars(account.balance, currency)}${account.blocked ? '  BLOCKED: credit-paid calls refused' : ''}`,
      );
      const ar = account.settings.autoRecharge;
      if (ar.enabled || account.autoRecharge.consecutiveFailures > 0) {
        console.log(
          `  auto-recharge ${ar.enabled ? 'on' : 'OFF'}: below ${dollars(ar.trigger, currency)} add ${dollars(ar.amount, currency)}; ${account.autoRecharge.rechargesThisMonth} requested this month, ${account.autoRecharge.consecutiveFailures} failures in a row`,
        );
      }
      for (const lot of account.lots) {
        console.log(
          `  lot ${lot.lotId.padEnd(26)} ${lot.source.padEnd(8)} ${dollars(lot.amount, currency).padStart(11)}  left ${dollars(lot.remaining, currency).padStart(11)}  expires ${lot.expiresAt.toISOString()}  ${lot.status}${lot.expired > 0n ? ` (${dollars(lot.expired, currency)} forfeited)` : ''}`,
        );
      }
    } else {
      for (const [period, owed] of Object.entries(account.owed))
        console.log(`  owed for ${period}: ${dollars(owed, currency)}`);
    }
    for (const [pool, used] of Object.entries(account.poolUsed)) {
      const capacity = account.settings.poolCapacities[pool.slice(0, pool.lastIndexOf(':'))] ?? 0;
      console.log(`  pool ${pool}: ${used / 60} of ${capacity / 60} minutes used`);
    }
    console.log(
      `  usage rated: ${distinct.size} calls (${[...bySource].map(([s, n]) => `${n} ${s}`).join(', ')})`,
    );
  }
}

/** The events published, the mails sent, the PaymentIntents made and the dead letters by code. */
function printOutputs(
  events: { type: string; subject: string }[],
  mails: { to: string[]; subject: string }[],
  gateway: StripeTestProxy,
  dead: DeadLetter[],
  deadLetterTopic: string,
) {
  console.log('\n== Events published to credits.events.v1');
  const counts = new Map<string, number>();
  for (const e of events)
    counts.set(`${e.subject} ${e.type}`, (counts.get(`${e.subject} ${e.type}`) ?? 0) + 1);
  for (const [key, n] of [...counts].sort()) console.log(`  ${key.padEnd(45)} ${n}`);

  console.log(`\n== Mails sent (${mails.length})`);
  for (const mail of mails) console.log(`  to ${mail.to.join(', ').padEnd(28)} ${mail.subject}`);
  console.log(
    `\n== Stripe PaymentIntents (stripe-mock): ${
      gateway
        .paymentIntents()
        .map(
          (pi) =>
            `${pi.idempotencyKey} ${minorToDecimal(String(pi.amount), pi.currency.toUpperCase())} ${pi.currency.toUpperCase()} ${pi.status}`,
        )
        .join(', ') || 'none'
    }`,
  );

  console.log(`\n== Dead letters (${dead.length}) on ${deadLetterTopic}`);
  const reasons = new Map<string, number>();
  for (const d of dead)
    reasons.set(d.headers['x-error-code']!, (reasons.get(d.headers['x-error-code']!) ?? 0) + 1);
  for (const [reason, n] of reasons) {
    const example = dead.find((d) => d.headers['x-error-code'] === reason)!;
    console.log(`  ${reason.padEnd(20)} ${n}  e.g. ${example.headers['x-error-message']}`);
  }
}

/** A few calls a switch asks about before connecting them, and the rater's answers. */
async function printAuthorizations(ledger: Ledger, book: RateBook) {
  console.log('\n== Call authorizations (what a switch asks before connecting)');
  const pricer = new RatingPricer(book);
  const startDateTime = new Date().toISOString();
  const ask = async (label: string, call: Parameters<typeof authorizeCall>[2]) => {
    const answer = await authorizeCall(ledger.writes, pricer, call);
    console.log(
      `  ${label.padEnd(58)} ${answer.allowed ? 'allowed' : 'REFUSED'} (${answer.reason})${answer.maxSeconds === null ? '' : `, up to ${answer.maxSeconds} s`}`,
    );
  };
  await ask('contoso: user in the US calls a UK mobile', {
    tenantId: 'contoso',
    callType: 'user_out',
    startDateTime,
    calleeNumber: '+447911123456',
    licenseCapability: 'MCOPSTNPP',
    usageCountryCode: 'US',
  });
  await ask(`contoso: ${LIMITED_USER}, past her limit, calls a UK mobile`, {
    tenantId: 'contoso',
    callType: 'user_out',
    startDateTime,
    calleeNumber: '+447911123456',
    licenseCapability: 'MCOPSTNPP',
    usageCountryCode: 'US',
    userPrincipalName: LIMITED_USER,
  });
  await ask(`contoso: ${BURST_USER}, blocked by the burst guard, calls Nigeria`, {
    tenantId: 'contoso',
    callType: 'user_out',
    startDateTime,
    calleeNumber: '+2348031234567',
    licenseCapability: 'MCOPSTNPP',
    usageCountryCode: 'US',
    userPrincipalName: BURST_USER,
  });
  await ask('contoso: user3 calls a UK mobile (25.00 USD limit)', {
    tenantId: 'contoso',
    callType: 'user_out',
    startDateTime,
    calleeNumber: '+447911123456',
    licenseCapability: 'MCOPSTNPP',
    usageCountryCode: 'US',
    userPrincipalName: 'user3@contoso.example',
  });
  await ask('fabrikam: user in Germany calls Nigeria', {
    tenantId: 'fabrikam',
    callType: 'user_out',
    startDateTime,
    calleeNumber: '+2348031234567',
    licenseCapability: 'MCOPSTNPP',
    usageCountryCode: 'DE',
  });
  await ask('fabrikam: emergency call', {
    tenantId: 'fabrikam',
    callType: 'emergency',
    startDateTime,
    calleeNumber: '+49112',
    usageCountryCode: 'DE',
  });
  await ask('adatum (postpaid): calls Japan', {
    tenantId: 'adatum',
    callType: 'user_out',
    startDateTime,
    calleeNumber: '+81312345678',
    licenseCapability: 'MCOPSTNPP',
    usageCountryCode: 'US',
  });
}

export async function report(
  ledger: Ledger,
  kafka: Kafka,
  config: ReturnType<typeof loadConfig>,
  mails: { to: string[]; subject: string }[],
  gateway: StripeTestProxy,
  book: RateBook,
) {
  const rated = (await readTopic(kafka, config.kafka.topics.ratedOut)).map(
    (m) => JSON.parse(m.value) as Record<string, string | number>,
  );
  const events = (await readTopic(kafka, config.kafka.topics.eventsOut)).map(
    (m) => JSON.parse(m.value) as { type: string; subject: string },
  );
  const dead = await readTopic(kafka, config.kafka.topics.deadLetter);

  await printBalances(ledger, rated);
  printOutputs(events, mails, gateway, dead, config.kafka.topics.deadLetter);
  await printAuthorizations(ledger, book);
}

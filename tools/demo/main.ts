/**
 * The main job on the local stack, for a newcomer, in one command (./scripts/demo.sh):
 * starts Kafka, Redis, the schema registry and stripe-mock; runs the rater with every role,
 * Stripe as its payment gateway (on stripe-mock, through the Stripe test proxy that gives its
 * test cards their declines) and a local mailbox; contoso buys credits through the API; creates four tenants (prepaid with auto-recharge,
 * prepaid without, one whose card has expired, postpaid); streams a generated day of CDRs
 * (JSON and Avro, with duplicates, malformed records and strays); and prints balances, lots,
 * pools, events, mails, dead letters and a few call authorizations; one user stopped by the
 * monthly spend limit the tenant's admin set, a dry-run re-rating with a corrected deck, and an
 * auto-recharge whose answers are lost, left pending and settled by the reconciler.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { RatingPricer } from '../../src/settlement/rating-pricer';
import { accountSettings, AccountSettings } from '../../src/credits/wallet';
import { loadRateBook, poolCapacities, RateBook } from '../../src/rating';
import { down, stackEnv, stripeEnv, up } from '../stack/stack';
import { startStripeTestProxy } from '../stack/stripe-test-proxy';
import { projectRoot } from '../stack/toolchain';
import { generateDay } from './day';
import { replaceCardOnHostedPage } from './card-setup';
import { lostRechargeAnswer } from './lost-answer';
import { startMailbox } from './mailbox';
import {
  BURST_USER,
  clearBlock,
  dryRunRerate,
  LIMIT,
  LIMITED_USER,
  printUserLimits,
  setBurstGuard,
  setUserLimits,
} from './scenes';
import { report } from './report';
import { streamDay, waitUntilSettled } from './stream';
import { sipCalls } from './sip-calls';

function tenants(book: RateBook): [string, AccountSettings, bigint][] {
  return [
    [
      'contoso',
      accountSettings('prepaid', 'USD', {
        lowBalanceThreshold: 1500n,
        paymentMethodRef: 'cus_contoso/pm_card_visa',
        autoRecharge: {
          enabled: true,
          trigger: 1000n,
          amount: 2500n,
          monthlyCap: 4,
          maxConsecutiveFailures: 3,
        },
        adminContacts: ['it-admin@contoso.example'],
        poolCapacities: poolCapacities(book, [
          { capability: 'MCOPSTN5', country: 'US', users: 2 },
          { capability: 'MCOMEETADD', country: 'US', users: 2 },
        ]),
      }),
      3000n,
    ],
    [
      'fabrikam',
      accountSettings('prepaid', 'EUR', {
        lowBalanceThreshold: 300n,
        adminContacts: ['finance@fabrikam.example'],
      }),
      600n,
    ],
    [
      'northwind',
      accountSettings('prepaid', 'USD', {
        paymentMethodRef: 'cus_northwind/pm_card_chargeDeclinedExpiredCard',
        autoRecharge: {
          enabled: true,
          trigger: 800n,
          amount: 2000n,
          monthlyCap: 4,
          maxConsecutiveFailures: 2,
        },
        adminContacts: ['admin@northwind.example'],
      }),
      1000n,
    ],
    ['adatum', accountSettings('postpaid', 'USD', { adminContacts: ['ap@adatum.example'] }), 0n],
  ];
}

/** `--operator-token <token>` or DEMO_OPERATOR_TOKEN: the same sign-in every run; else a new one. */
function operatorToken(): string {
  const at = process.argv.indexOf('--operator-token');
  const given = at > 0 ? process.argv[at + 1] : process.env.DEMO_OPERATOR_TOKEN;
  if (given !== undefined && !/^[\x21-\x7e]{16,256}$/.test(given))
    throw new Error('--operator-token (DEMO_OPERATOR_TOKEN): 16 to 256 printable characters, no spaces');
  return given ?? randomBytes(24).toString('hex');
}
const DEMO_OPERATOR_TOKEN = operatorToken();

/** An API key of the tenant's own, issued by the operator: its admin buys and signs in with it. */
async function issueKey(url: string, tenant: string): Promise<string> {
  const response = await fetch(`${url}/v1/tenants/${tenant}/api-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${DEMO_OPERATOR_TOKEN}` },
  });
  return String(((await response.json()) as Record<string, unknown>).apiKey);
}

/** A tenant admin's purchase through the admin API, with the tenant's API key. */
async function buyCredits(
  url: string,
  tenant: string,
  key: string,
  amount: string,
  purchaseId = `${tenant}-order-1`,
): Promise<string> {
  const response = await fetch(`${url}/v1/tenants/${tenant}/purchases`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ purchaseId, amount, currency: 'USD' }),
  });
  const bought = { status: response.status, body: (await response.json()) as Record<string, unknown> };
  return bought.status === 201
    ? `paid (${String(bought.body.gatewayRef)}), lot ${String(bought.body.lotId)}`
    : `${bought.status} ${String(bought.body.error)} ${String(bought.body.declineCode ?? '')}: ${String(bought.body.message)}`;
}

/**
 * Keeps the service up for the console until Ctrl-C (or SIGTERM), on a terminal or not (a pipe,
 * `tee`, a background job); at once with --no-console, and when CI is set (an unattended run).
 */
async function serveConsole(url: string, keys: Map<string, string>): Promise<void> {
  console.log(`\n== The admin console: ${url}/console`);
  for (const [tenant, key] of keys) console.log(`   ${tenant.padEnd(10)} admin signs in with ${key}`);
  console.log(`   the operator signs in with ${DEMO_OPERATOR_TOKEN}`);
  if (process.argv.includes('--no-console') || process.env.CI) return;
  console.log('   serving until Ctrl-C (--no-console ends the demo here)');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

type DemoApp = Awaited<ReturnType<typeof startApp>>;

/** The local stack, the mailbox, the Stripe test proxy, and the rater with every role over them. */
async function startDemo(dir: string, redisCluster: boolean) {
  const started = Date.now();
  console.log(
    `== Starting the local stack (Kafka 4 in KRaft mode, ${redisCluster ? 'a Redis Cluster of 3 masters with a replica each' : 'Redis'}, Apicurio Registry)`,
  );
  const stack = await up(dir, { redisCluster });
  console.log(`   up in ${Date.now() - started} ms: ${JSON.stringify(stackEnv(stack, { redisCluster }))}`);
  const mailbox = await startMailbox();
  const book = loadRateBook(join(projectRoot, 'rates'));
  const gateway = await startStripeTestProxy(stack.stripe.url);
  const env = {
    ...stackEnv(stack, { redisCluster }),
    ...stripeEnv(stack, gateway.url),
    // A fixed address for the console (HTTP_PORT=0 for any free port).
    HTTP_PORT: process.env.HTTP_PORT ?? '8080',
    SMTP_URL: `smtp://127.0.0.1:${mailbox.port}`,
    MAIL_FROM: 'Communications credits <credits@rater.example>',
    NOTIFY_LOW_BALANCE: 'true',
    KAFKA_TOPIC_PARTITIONS: '3',
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    OUTBOX_SWEEP_INTERVAL_MS: '200',
    EXPIRY_SWEEP_INTERVAL_SECONDS: '1',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
    OPERATOR_TOKEN_SHA256: createHash('sha256').update(DEMO_OPERATOR_TOKEN).digest('hex'),
  };
  const config = loadConfig({ ...process.env, ...env });
  const app = await startApp(config, { pricer: new RatingPricer(book) });
  console.log(`== The rater is running at ${app.url} (roles: ${config.roles.join(', ')})`);
  return { app, env, config, book, mailbox, gateway };
}

/**
 * The four tenants with their welcome credit and API keys; contoso's spend limits and burst
 * guard; two purchases through Stripe; a lot of last year about to expire. Returns the keys.
 */
async function openTenants(app: DemoApp, book: RateBook, now: Date): Promise<Map<string, string>> {
  for (const [tenant, settings, funds] of tenants(book)) {
    await app.ledger.writes.upsertAccount(tenant, settings);
    if (funds > 0n)
      await app.ledger.writes.addFunds(tenant, {
        paymentRef: `welcome-${tenant}`,
        amount: funds,
        currency: settings.currency,
        purchasedAt: now,
        reason: 'welcome credit',
        madeBy: 'demo',
      });
  }
  const keys = new Map<string, string>();
  for (const [tenant] of tenants(book)) keys.set(tenant, await issueKey(app.url, tenant));
  await setUserLimits(app.url, keys.get('contoso')!);
  await setBurstGuard(app.url, keys.get('contoso')!);
  console.log(
    `== contoso's admin limits each user to 25.00 USD a month, and ${LIMITED_USER} to ${LIMIT} USD;`,
  );
  console.log(
    '   its burst guard blocks a user with more than 5 international calls (or 20.00 USD) in 60 minutes',
  );
  // Tenant admins buy credits with their own API keys: charged through Stripe first.
  for (const [tenant, amount] of [
    ['contoso', '10.00'],
    ['northwind', '5.00'],
  ] as const) {
    const bought = await buyCredits(app.url, tenant, keys.get(tenant)!, amount);
    console.log(`== ${tenant} buys ${amount} USD: ${bought}`);
  }
  // A purchase from a year ago whose last second is running out: the sweeper forfeits what
  // is left of it before the day's usage arrives.
  await app.ledger.writes.addFunds('contoso', {
    paymentRef: 'last-year',
    amount: 700n,
    currency: 'USD',
    purchasedAt: new Date(Date.now() - 365 * 24 * 3600 * 1000 + 1000),
    reason: 'migrated from the previous billing system',
    madeBy: 'demo',
    migration: true,
  });
  await new Promise((resolve) => setTimeout(resolve, 2500));
  console.log(
    '== Tenants: contoso (prepaid USD, auto-recharge, 240-minute pool), fabrikam (prepaid EUR, no auto-recharge),',
  );
  console.log('   northwind (prepaid USD, auto-recharge on an expired card), adatum (postpaid USD)');
  return keys;
}

/** Yesterday's CDRs streamed and settled, the report, then the scenes that follow the day. */
async function runDay(
  demo: Awaited<ReturnType<typeof startDemo>>,
  keys: Map<string, string>,
  now: Date,
  dir: string,
) {
  const { app, env, config, book, mailbox, gateway } = demo;
  // Yesterday's calls: a CDR comes after its call ended, and the rater sets aside any that
  // has not (future_start).
  const yesterday = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 1));
  const day = generateDay(yesterday);
  const { kafka, sent, sentAt } = await streamDay(config, day);
  const started = sentAt;
  console.log(
    `== Streamed ${sent.total} CDRs: one day's (${day.avro} as Avro, ${day.duplicates} duplicates, ${day.malformed} malformed, ${day.strays} for an unknown tenant or destination)`,
  );
  console.log(`   and ${sent.eve} calls ${LIMITED_USER} made this month to UK mobiles, credit-paid,`);
  console.log(`   and ${sent.mallory} calls ${BURST_USER} made within the hour to Nigerian mobiles`);

  await waitUntilSettled(
    kafka,
    config.kafka.groupId,
    config.kafka.topics.usageIn,
    app.ledger,
    () => mailbox.mails.length,
  );
  console.log(`   all consumed, rated, debited and published in ${Date.now() - started} ms`);
  await report(app.ledger, kafka, config, mailbox.mails, gateway, book);
  await printUserLimits(app.url, keys.get('contoso')!);
  const cleared = await clearBlock(app.url, keys.get('contoso')!, BURST_USER);
  console.log(
    `   contoso's admin looks into it and clears ${BURST_USER}'s block: DELETE .../user-blocks/${BURST_USER} answers ${cleared}`,
  );
  await dryRunRerate(env, yesterday);
  await lostRechargeAnswer(app.ledger, gateway, env);
  // After the day's failed recharges on the expired card: the admin replaces it.
  await replaceCardOnHostedPage(app.url, 'northwind', keys.get('northwind')!, gateway, () =>
    buyCredits(app.url, 'northwind', keys.get('northwind')!, '5.00', 'northwind-order-2'),
  );
  await sipCalls(app.url, DEMO_OPERATOR_TOKEN, join(dir, 'sip'));
  await serveConsole(app.url, keys);
}

async function main(): Promise<void> {
  const keep = process.argv.includes('--keep');
  // The ledger on a Redis Cluster (3 masters, a replica each), as an operator switches it on.
  const redisCluster = process.argv.includes('--redis-cluster') || process.env.REDIS_CLUSTER === 'true';
  const dir = join(projectRoot, '.stack', 'demo');
  const demo = await startDemo(dir, redisCluster);
  const { app, gateway, mailbox } = demo;
  try {
    const now = new Date();
    const keys = await openTenants(app, demo.book, now);
    await runDay(demo, keys, now, dir);
  } finally {
    await app.stop();
    await gateway.close();
    await mailbox.stop();
    if (keep)
      console.log(`\nThe stack keeps running in ${dir}; stop it with: npm run stack -- down --dir ${dir}`);
    else await down(dir);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});

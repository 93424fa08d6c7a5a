/**
 * A scene of the demo: an auto-recharge whose answers from Stripe are all lost on the way back
 * (the card is charged), left pending, and settled by `rater payments reconcile`.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { utcMonth } from '../../src/credits/calendar';
import { minorToDecimal } from '../../src/credits/money';
import { accountSettings } from '../../src/credits/wallet';
import type { Ledger } from '../../src/ledger/open-ledger';
import type { StripeTestProxy } from '../stack/stripe-test-proxy';
import { projectRoot } from '../stack/toolchain';

const TENANT = 'tailspin';
const REQUEST = `${TENANT}:recharge:1`;
/** The grace period the reconcile command is given: the scene does not wait a minute. */
const GRACE_SECONDS = 1;

const usd = (minor: bigint) => `${minorToDecimal(minor.toString(), 'USD')} USD`;

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** tailspin's balance, its lots and the recharge request still pending, as one line. */
async function state(ledger: Ledger): Promise<string> {
  const account = (await ledger.reads.readAccount(TENANT))!;
  const lots = account.lots.map((lot) => `${lot.lotId} ${usd(lot.amount)}`).join(', ');
  return `balance ${usd(account.balance)}; lots: ${lots}; pending recharge: ${account.autoRecharge.pendingRequestId || 'none'}`;
}

export async function lostRechargeAnswer(
  ledger: Ledger,
  gateway: StripeTestProxy,
  env: Record<string, string | undefined>,
): Promise<void> {
  console.log(`\n== ${TENANT} (prepaid USD, auto-recharge 20.00 below 5.00) spends below its trigger;`);
  console.log(
    '   Stripe charges the card, and every answer is lost on the way back (a timeout after the charge)',
  );
  await ledger.writes.upsertAccount(
    TENANT,
    accountSettings('prepaid', 'USD', {
      paymentMethodRef: `cus_${TENANT}/pm_card_visa`,
      autoRecharge: { enabled: true, trigger: 500n, amount: 2000n, monthlyCap: 4, maxConsecutiveFailures: 3 },
      adminContacts: [`admin@${TENANT}.example`],
    }),
  );
  await ledger.writes.addFunds(TENANT, {
    paymentRef: 'welcome',
    amount: 600n,
    currency: 'USD',
    madeBy: 'demo',
  });
  gateway.failNext(1000, 'drop');
  const now = new Date();
  await ledger.writes.applyUsage(TENANT, {
    currency: 'USD',
    poolUse: {},
    usages: [
      {
        id: `demo-${TENANT}-1`,
        start: new Date(now.getTime() - 600_000),
        source: 'credits',
        charge: 250n,
        pool: '',
        poolSeconds: 0,
        period: utcMonth(new Date(now.getTime() - 600_000)),
      },
    ],
  });
  // The recharge worker's three attempts, each with the Stripe SDK's two retries: nine requests.
  const intent = () => gateway.paymentIntents().find((pi) => pi.idempotencyKey === REQUEST);
  await until('the recharge worker to give up', () => (intent()?.requests ?? 0) >= 9);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  gateway.failNext(0, 'drop');
  const charged = intent()!;
  console.log(
    `   Stripe: ${charged.id} ${charged.status} ${usd(BigInt(charged.amount))}, asked ${charged.requests} times`,
  );
  console.log(`   the books: ${await state(ledger)}`);
  console.log(
    '   (not recorded as failed: the card may have been charged; no second recharge while it is pending)',
  );

  await new Promise((resolve) => setTimeout(resolve, GRACE_SECONDS * 1000 + 200));
  console.log(`\n== The operator runs the reconciler once (grace period ${GRACE_SECONDS} s instead of 60):`);
  console.log('   rater payments reconcile');
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', join(projectRoot, 'src', 'cli.ts'), 'payments', 'reconcile'],
    {
      env: {
        ...process.env,
        ...env,
        PAYMENTS_RECONCILE_GRACE_SECONDS: String(GRACE_SECONDS),
        LOG_LEVEL: 'error',
      },
      cwd: projectRoot,
    },
  );
  for (const line of `${stderr}${stdout}`.trimEnd().split('\n')) console.log(`   ${line}`);
  console.log(`   the books: ${await state(ledger)}`);
}

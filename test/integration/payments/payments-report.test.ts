import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { paymentLedgerOf } from '../../../src/ledger/open-ledger';
import { StripeGateway } from '../../../src/payments/stripe-gateway';
import { purchaseCredits } from '../../../src/settlement/purchase-credits';
import { paymentsReport } from '../../../src/settlement/payments-report';
import { stackEnv, STRIPE_MOCK_API_KEY, stripeEnv } from '../../../tools/stack/stack';
import { startStripeTestProxy, StripeTestProxy } from '../../../tools/stack/stripe-test-proxy';
import { ledgerFixture, LedgerFixture, prepaid } from '../../support/ledger';
import { testStack } from '../../support/stack';

/**
 * `rater payments report`: Stripe's PaymentIntents (the test proxy remembers them and answers
 * the list) beside the books, the agreement, a planted mismatch, and the command's exit code.
 */
describe('the payments report', () => {
  let f: LedgerFixture;
  let stripe: StripeTestProxy;
  let gateway: StripeGateway;
  const started = new Date();
  const window = () => ({ from: new Date(started.getTime() - 60_000), to: new Date(Date.now() + 60_000) });

  beforeAll(async () => {
    stripe = await startStripeTestProxy(testStack().stripe.url);
    // The books' clock is the real one here: lots and charges fall in the same window.
    f = ledgerFixture({ start: started.toISOString() });
    gateway = new StripeGateway({ apiKey: STRIPE_MOCK_API_KEY, apiBase: stripe.url, maxNetworkRetries: 0 });
    await f.ledger.writes.upsertAccount('rep-a', prepaid({ paymentMethodRef: 'cus_repa/pm_card_visa' }));
    await f.ledger.writes.upsertAccount(
      'rep-b',
      prepaid({ paymentMethodRef: 'cus_repb/pm_card_chargeDeclinedExpiredCard' }),
    );
  });
  afterAll(async () => {
    f.close();
    await stripe.close();
  });

  const buy = (tenant: string, purchaseId: string, amount: bigint) =>
    purchaseCredits(f.ledger.writes, gateway, tenant, { purchaseId, amount, currency: 'USD' });
  /** `rater payments report` on this ledger and proxy: its exit code and output. */
  /** `rater payments report` on this ledger and proxy (in this process: run asynchronously). */
  const command = async () => {
    const root = join(__dirname, '..', '..', '..');
    const { from, to } = window();
    const child = spawn(
      process.execPath,
      ['--require', 'tsx/cjs', join(root, 'src', 'cli.ts'), 'payments', 'report'].concat([
        '--from',
        from.toISOString(),
        '--to',
        to.toISOString(),
      ]),
      {
        cwd: root,
        env: {
          PATH: process.env.PATH,
          ...stackEnv(testStack()),
          ...stripeEnv(testStack(), stripe.url),
          REDIS_KEY_PREFIX: f.prefix,
          LOG_LEVEL: 'silent',
        },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { status, stdout: stdout.trim(), stderr: stderr.trim() };
  };

  it('shows every charge beside its purchase and lot, agreeing, and exits 0', async () => {
    expect(await buy('rep-a', 'o1', 2500n)).toMatchObject({ outcome: 'succeeded' });
    expect(await buy('rep-b', 'o2', 1000n)).toMatchObject({ outcome: 'failed' });
    const report = await paymentsReport(paymentLedgerOf(f.ledger), gateway, window());
    expect(report.mismatches).toBe(0);
    expect(
      report.lines.map((l) => [
        l.tenantId,
        l.paymentId,
        l.charge?.status,
        l.ours?.status,
        l.lot?.lotId,
        l.problem,
      ]),
    ).toEqual([
      ['rep-b', 'o2', 'failed', 'failed', undefined, undefined],
      ['rep-a', 'o1', 'succeeded', 'succeeded', 'p:o1', undefined],
    ]);
    const cli = await command();
    expect(cli.status).toBe(0);
    expect(cli.stdout.split('\n')).toEqual([
      expect.stringMatching(
        /^ok +rep-b {2}purchase o2 {2}charge pi_proxy_\d+ failed 10\.00 USD {2}ours failed {2}lot -$/,
      ),
      expect.stringMatching(
        /^ok +rep-a {2}purchase o1 {2}charge pi_proxy_\d+ succeeded 25\.00 USD {2}ours succeeded {2}lot p:o1 25\.00 USD$/,
      ),
      expect.stringMatching(/^2 lines, 0 mismatches, /),
    ]);
  });

  it('shows a charge without a lot, a lot without a charge and a pending purchase, and exits 1', async () => {
    // A charge the books never heard of (a purchase charged, then lost before it was begun).
    await gateway.charge({
      idempotencyKey: 'rep-a:purchase:ghost',
      tenantId: 'rep-a',
      paymentMethodRef: 'cus_repa/pm_card_visa',
      amountMinor: 700n,
      currency: 'USD',
    });
    // A lot recorded with a gateway reference Stripe does not have.
    await f.ledger.writes.beginPurchase('rep-a', { purchaseId: 'forged', amount: 300n, currency: 'USD' });
    await f.ledger.writes.recordPurchase('rep-a', {
      purchaseId: 'forged',
      status: 'succeeded',
      gatewayRef: 'pi_nowhere',
    });
    // A purchase begun and never charged.
    await f.ledger.writes.beginPurchase('rep-a', { purchaseId: 'waiting', amount: 400n, currency: 'USD' });

    const report = await paymentsReport(paymentLedgerOf(f.ledger), gateway, window());
    expect(report.lines.filter((l) => l.problem).map((l) => [l.tenantId, l.paymentId, l.problem])).toEqual([
      ['rep-a', 'ghost', 'charged_not_credited'],
      ['rep-a', 'forged', 'lot_without_charge'],
      ['rep-a', 'waiting', 'pending'],
    ]);
    expect(report.mismatches).toBe(3);
    const cli = await command();
    expect(cli.status).toBe(1);
    expect(cli.stdout).toMatch(
      /^charged_not_credited +rep-a {2}purchase ghost {2}charge pi_proxy_\d+ succeeded 7\.00 USD/m,
    );
    expect(cli.stdout).toMatch(
      /^lot_without_charge +rep-a {2}purchase forged {2}charge - {2}ours succeeded {2}lot p:forged 3\.00 USD/m,
    );
    expect(cli.stdout).toMatch(/^pending +rep-a {2}purchase waiting/m);
    expect(cli.stdout).toMatch(/^5 lines, 3 mismatches, /m);
  });
});

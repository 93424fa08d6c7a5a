import pino from 'pino';
import { App, startApp } from '../../../src/app';
import { loadConfig } from '../../../src/config';
import { SimulatedGateway } from '../../../src/payments/gateway';
import { stackEnv } from '../../../tools/stack/stack';
import { prepaid } from '../../support/ledger';
import { testStack, uniqueName } from '../../support/stack';
import { eventually } from '../../support/wait';

/** The reconciler role of the running service: passes on its own, counted in /metrics. */
describe('the reconciler role', () => {
  let app: App;
  const gateway = new SimulatedGateway(1);
  const prefix = `${uniqueName('rr')}:`;

  beforeAll(async () => {
    app = await startApp(
      loadConfig({
        ...stackEnv(testStack()),
        HTTP_PORT: '0',
        RATER_ROLES: 'reconciler',
        PAYMENT_GATEWAY: 'simulated',
        REDIS_KEY_PREFIX: prefix,
        PAYMENTS_RECONCILE_GRACE_SECONDS: '1',
        PAYMENTS_RECONCILE_INTERVAL_SECONDS: '1',
      }),
      { gateway, logger: pino({ level: 'silent' }) },
    );
  });
  afterAll(() => app.stop());

  const metric = async (series: string) => {
    const text = await (await fetch(`${app.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  it('settles a purchase whose answer was lost, shows it pending meanwhile, and counts it', async () => {
    await app.ledger.writes.upsertAccount('role', prepaid({ paymentMethodRef: 'pm_sim_lost_answer' }));
    await app.ledger.writes.beginPurchase('role', { purchaseId: 'o1', amount: 1200n, currency: 'USD' });
    await expect(
      gateway.charge({
        idempotencyKey: 'role:purchase:o1',
        tenantId: 'role',
        paymentMethodRef: 'pm_sim_lost_answer',
        amountMinor: 1200n,
        currency: 'USD',
      }),
    ).rejects.toThrow('lost in transit');
    expect(await metric('rater_payments_pending')).toBe(1);
    await eventually(async () =>
      expect((await app.ledger.reads.readAccount('role'))!.lots.map((l) => [l.lotId, l.amount])).toEqual([
        ['p:o1', 1200n],
      ]),
    );
    expect(gateway.charges).toHaveLength(1);
    await eventually(async () => expect(await metric('rater_payments_pending')).toBe(0));
    expect(await metric('rater_payments_pending_oldest_age_seconds')).toBe(0);
    expect(await metric('rater_payments_reconciled_total{outcome="succeeded"}')).toBe(1);
  });
});

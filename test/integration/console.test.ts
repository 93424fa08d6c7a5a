import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { Kafka, Partitioners, Producer } from 'kafkajs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { App } from '../../src/app';
import { formatAmount, formatTime } from '../../src/api/console/format';
import { utcMonth } from '../../src/credits/calendar';
import { minorToDecimal } from '../../src/credits/money';
import type { LedgerUsage } from '../../src/credits/wallet';
import { stripeEnv } from '../../tools/stack/stack';
import { startStripeTestProxy, StripeTestProxy } from '../../tools/stack/stripe-test-proxy';
import { startApiApp } from '../support/api-app';
import { launchChromium, seriousViolations } from '../support/browser';
import { createTopics, testKafka, testStack, uniqueName } from '../support/stack';
import { eventually, recentCall } from '../support/wait';

const OPERATOR = 'operator-token-for-console-tests';
/** Set to a directory to keep a screenshot of each page there (the README's are made so). */
const SHOTS = process.env.CONSOLE_SCREENSHOTS_DIR;

/**
 * The admin console in a real browser (Debian's Chromium through playwright-core) against the
 * running service (api and consumer roles) on the real stack: Kafka, Redis, stripe-mock.
 */
describe('the admin console, in Chromium', () => {
  let app: App;
  let stripe: StripeTestProxy;
  let browser: Browser;
  let kafka: Kafka;
  let producer: Producer;
  const topics = {
    usageIn: uniqueName('cdr'),
    ratedOut: uniqueName('rated'),
    events: uniqueName('events'),
    dlq: uniqueName('dlq'),
  };
  const acme = uniqueName('acme');
  const other = uniqueName('other');
  const later = uniqueName('later');
  let acmeKey: string;
  let otherKey: string;
  let laterKey: string;
  const rated: Record<string, unknown>[] = [];

  const call = async (method: string, path: string, body?: unknown, token = OPERATOR) => {
    const response = await fetch(`${app.url}${path}`, {
      method,
      headers: { ...(body ? { 'content-type': 'application/json' } : {}), authorization: `Bearer ${token}` },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  /** The Stripe customer the test proxy makes for a tenant. */
  const customerOf = (id: string) => `cus_${id.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const tenant = async (id: string, body: Record<string, unknown>) => {
    expect((await call('PUT', `/v1/tenants/${id}`, body)).status).toBe(201);
    return String((await call('POST', `/v1/tenants/${id}/api-keys`)).body.apiKey);
  };

  const calls = [
    {
      id: 'c1',
      userPrincipalName: 'ana@acme.example',
      callType: 'user_out',
      calleeNumber: '+442071234567',
      minutes: 3,
    },
    {
      id: 'c2',
      userPrincipalName: 'ana@acme.example',
      callType: 'user_out',
      calleeNumber: '+33142685300',
      minutes: 2,
    },
    {
      id: 'c3',
      userPrincipalName: 'bo@acme.example',
      callType: 'user_out',
      calleeNumber: '+442071234568',
      minutes: 5,
    },
    {
      id: 'c4',
      userPrincipalName: 'bo@acme.example',
      callType: 'conf_out',
      calleeNumber: '+4930123456',
      minutes: 1,
    },
  ];

  beforeAll(async () => {
    stripe = await startStripeTestProxy(testStack().stripe.url);
    kafka = testKafka();
    const admin = kafka.admin();
    await admin.connect();
    await createTopics(admin, Object.values(topics), 1);
    await admin.disconnect();
    app = await startApiApp({
      operatorToken: OPERATOR,
      keyPrefix: `${uniqueName('console')}:`,
      env: {
        ...stripeEnv(testStack(), stripe.url),
        RATER_ROLES: 'api,consumer',
        KAFKA_GROUP_ID: uniqueName('console-rater'),
        TOPIC_USAGE_IN: topics.usageIn,
        TOPIC_RATED_OUT: topics.ratedOut,
        TOPIC_EVENTS_OUT: topics.events,
        TOPIC_DEAD_LETTER: topics.dlq,
      },
    });
    acmeKey = await tenant(acme, {
      billingMode: 'prepaid',
      currency: 'USD',
      lowBalanceThreshold: '5.00',
      adminContacts: ['admin@acme.example'],
    });
    // acme's card: Stripe's test card, attached to acme's own customer.
    stripe.cards.attach('pm_card_visa', customerOf(acme));
    expect(
      (await call('PUT', `/v1/tenants/${acme}/payment-method`, { paymentMethodRef: 'pm_card_visa' })).status,
    ).toBe(200);
    otherKey = await tenant(other, { billingMode: 'prepaid', currency: 'USD' });
    laterKey = await tenant(later, { billingMode: 'postpaid', currency: 'USD' });
    expect(
      (
        await call('POST', `/v1/tenants/${acme}/adjustments`, {
          adjustmentId: 'welcome',
          amount: '50.00',
          currency: 'USD',
          reason: 'welcome credit',
          madeBy: 'console test',
        })
      ).status,
    ).toBe(201);

    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const cdrs = calls.map((c, i) => ({
      id: `${acme}-${c.id}`,
      tenantId: acme,
      callId: `call-${c.id}`,
      userId: `user-${c.userPrincipalName.split('@')[0]}`,
      userPrincipalName: c.userPrincipalName,
      userDisplayName: c.userPrincipalName.split('@')[0],
      callType: c.callType,
      callerNumber: '+12065550100',
      calleeNumber: c.calleeNumber,
      licenseCapability: 'MCOPSTNPP',
      usageCountryCode: 'US',
      ...recentCall(c.minutes, 3 + i),
      duration: c.minutes * 60 - 7,
    }));
    await producer.send({
      topic: topics.usageIn,
      messages: [
        ...cdrs.map((value) => ({ key: value.tenantId, value: JSON.stringify(value) })),
        // One the rater sets aside: the operator's page counts it by reason.
        { key: acme, value: JSON.stringify({ ...cdrs[0], id: `${acme}-bad`, duration: -5 }) },
      ],
    });
    const reader = kafka.consumer({ groupId: uniqueName('console-rated-reader') });
    await reader.connect();
    await reader.subscribe({ topic: topics.ratedOut, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => void rated.push(JSON.parse(message.value!.toString())),
    });
    await eventually(() => expect(rated).toHaveLength(calls.length), 60_000);
    await reader.disconnect();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await producer?.disconnect();
    await app?.stop();
    await stripe?.close();
  });

  const signIn = async (credential: string): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${app.url}/console`);
    await page.getByLabel('API key or operator token').fill(credential);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForLoadState();
    return { context, page };
  };
  const shot = async (page: Page, name: string) => {
    if (!SHOTS) return;
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  };
  const account = async (id: string) => (await app.ledger.reads.readAccount(id))!;

  it('sends a signed-out browser to sign in, and back to the page it asked for', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const response = await page.goto(`${app.url}/console/t/${acme}/funds`);
    expect(page.url()).toBe(
      `${app.url}/console/sign-in?next=${encodeURIComponent(`/console/t/${acme}/funds`)}`,
    );
    expect(response!.headers()['content-security-policy']).toBe(
      "default-src 'none';style-src 'self';img-src 'self';form-action 'self';frame-ancestors 'none';base-uri 'none'",
    );
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'sign-in');
    await page
      .getByLabel('API key or operator token')
      .fill('rtk.nobody.000000000000.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('not valid');
    await page.getByLabel('API key or operator token').fill(acmeKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${app.url}/console/t/${acme}/funds`);
    const session = (await context.cookies()).find((c) => c.name === 'rater_session')!;
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });
    expect(session.expires).toBeGreaterThan(Date.now() / 1000 + 3600);
    // Signing out ends the session: its cookie no longer opens anything.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/console\/sign-in/);
    await context.addCookies([{ ...session }]);
    await page.goto(`${app.url}/console/t/${acme}`);
    expect(page.url()).toContain('/console/sign-in');
    await context.close();
  });

  it('shows the balance, the state and the runway of the ledger on the overview', async () => {
    const { context, page } = await signIn(acmeKey);
    expect(page.url()).toBe(`${app.url}/console/t/${acme}`);
    const a = await account(acme);
    expect(await page.getByTestId('balance').textContent()).toBe(formatAmount(a.balance, 'USD'));
    expect(a.balance).toBe(
      5000n - rated.reduce((sum, r) => sum + BigInt(String(r.charge).replace('.', '')), 0n),
    );
    expect(await page.getByTestId('state').textContent()).toBe('Allowed');
    // Debited today, so this month's: every rated call's charge.
    expect(await page.getByTestId('month-spend').textContent()).toBe(formatAmount(5000n - a.balance, 'USD'));
    expect(await page.getByTestId('burn-rate').textContent()).toMatch(/^USD [\d.]+ a day$/);
    expect(await page.getByTestId('depletes-at').textContent()).toBeTruthy();
    expect(await page.getByRole('img', { name: 'Balance at the end of each day' }).count()).toBe(1);
    expect(await page.getByRole('img', { name: 'Credits spent each day' }).count()).toBe(1);
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'overview');
    await context.close();
  });

  it('lists the lots as the ledger has them, and buys credits into a new lot', async () => {
    const { context, page } = await signIn(acmeKey);
    await page.getByRole('link', { name: 'Funds' }).click();
    const before = await account(acme);
    const lotRows = page.getByTestId('lots').locator('tbody tr');
    expect(await lotRows.count()).toBe(before.lots.length);
    const welcome = before.lots[0]!;
    const row = page.locator(`tr[data-lot="${welcome.lotId}"] td`);
    expect(await row.allTextContents()).toEqual([
      welcome.lotId,
      'Adjustment',
      'USD 50.00',
      formatAmount(welcome.remaining, 'USD'),
      'USD 0.00',
      expect.stringMatching(/UTC$/),
      expect.stringMatching(/UTC$/),
      'active',
    ]);
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByLabel('Amount (USD)').fill('20.00');
    await page.getByRole('button', { name: 'Buy credits' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toContain('Paid USD 20.00');
    const after = await account(acme);
    expect(after.lots).toHaveLength(before.lots.length + 1);
    const bought = after.lots.find((lot) => lot.source === 'purchase')!;
    expect(bought.amount).toBe(2000n);
    expect(after.balance).toBe(before.balance + 2000n);
    expect(await page.locator(`tr[data-lot="${bought.lotId}"]`).count()).toBe(1);
    expect(await page.getByTestId('balance').textContent()).toBe(formatAmount(after.balance, 'USD'));
    await shot(page, 'funds');
    await context.close();
  });

  it('stores a change of auto-recharge, and shows the failures and the contacts', async () => {
    const { context, page } = await signIn(acmeKey);
    await page.goto(`${app.url}/console/t/${acme}/auto-recharge`);
    expect(await page.getByTestId('contacts').textContent()).toBe('admin@acme.example');
    expect(await page.getByTestId('failures').textContent()).toBe('0 (paused at 3)');
    await page.getByLabel('Recharge automatically').check();
    await page.getByLabel('When the balance falls below (USD)').fill('10.00');
    await page.getByLabel('Add (USD)').fill('25.00');
    await page.getByLabel('At most this many recharges a month').fill('4');
    await page.getByRole('button', { name: 'Save auto-recharge' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toBe('Auto-recharge saved.');
    const ar = (await account(acme)).settings.autoRecharge;
    expect(ar).toMatchObject({ enabled: true, trigger: 1000n, amount: 2500n, monthlyCap: 4 });
    expect(await page.getByTestId('ar-enabled').textContent()).toBe('On');
    // A field the ledger cannot take is named, and nothing is saved.
    await page.getByLabel('Add (USD)').fill('25.001');
    await page.getByRole('button', { name: 'Save auto-recharge' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('rechargeAmount');
    expect((await account(acme)).settings.autoRecharge.amount).toBe(2500n);
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'auto-recharge');
    await context.close();
  });

  it("adds a card on the payment provider's hosted page, and shows it when back", async () => {
    const { context, page } = await signIn(otherKey);
    await page.goto(`${app.url}/console/t/${other}/auto-recharge`);
    expect(await page.getByTestId('payment-method').textContent()).toBe('none on file');
    const hostedPage = new RegExp(`^${stripe.url}/checkout/pay/cs_test_proxy_\\d+$`);
    // Cancelled on the hosted page: back on this page, and nothing changed.
    await page.getByRole('button', { name: 'Add or replace card' }).click();
    await page.waitForURL(hostedPage);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForURL(`${app.url}/console/t/${other}/auto-recharge?setup=cancelled`);
    await expect(page.getByRole('alert').textContent()).resolves.toBe(
      'The card setup was cancelled: nothing was changed.',
    );
    expect((await account(other)).settings.paymentMethodRef).toBe('');
    // Saved on the hosted page: the return page records it and shows it.
    await page.getByRole('button', { name: 'Add or replace card' }).click();
    await page.waitForURL(hostedPage);
    const sessionId = page.url().split('/').pop()!;
    await page.getByRole('button', { name: 'Save card' }).click();
    await page.waitForURL(
      `${app.url}/console/t/${other}/payment-method/setup/return?session_id=${sessionId}`,
    );
    await expect(page.getByRole('status').textContent()).resolves.toBe('Card saved: visa •••• 4242.');
    expect(await page.getByTestId('payment-method').textContent()).toBe('visa •••• 4242');
    const card = stripe.cards.setupSession(sessionId)!.setupIntent.paymentMethod;
    expect((await account(other)).settings.paymentMethodRef).toBe(`${customerOf(other)}/${card}`);
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'card-saved');
    // Another tenant's setup, returned to on this tenant's page: refused, nothing changed.
    const theirs = await call('POST', `/v1/tenants/${acme}/payment-method/setup`, {});
    stripe.cards.finishSetup(String(theirs.body.sessionId), 'save');
    const response = await page.goto(
      `${app.url}/console/t/${other}/payment-method/setup/return?session_id=${String(theirs.body.sessionId)}`,
    );
    expect(response!.status()).toBe(409);
    expect((await account(other)).settings.paymentMethodRef).toBe(`${customerOf(other)}/${card}`);
    expect((await account(acme)).settings.paymentMethodRef).toBe(`${customerOf(acme)}/pm_card_visa`);
    await context.close();
  });

  it('refuses a form posted without its CSRF token, and changes nothing', async () => {
    const { context, page } = await signIn(acmeKey);
    const before = await account(acme);
    const form = {
      version: String(before.settingsVersion),
      triggerAmount: '1.00',
      rechargeAmount: '99.00',
      monthlyCap: '1',
    };
    const without = await context.request.post(`${app.url}/console/t/${acme}/auto-recharge`, { form });
    expect(without.status()).toBe(403);
    const forged = await context.request.post(`${app.url}/console/t/${acme}/auto-recharge`, {
      form: { ...form, _csrf: 'forged' },
    });
    expect(forged.status()).toBe(403);
    const buy = await context.request.post(`${app.url}/console/t/${acme}/funds/purchase`, {
      form: { purchaseId: 'csrf-less', amount: '500.00' },
    });
    expect(buy.status()).toBe(403);
    const setup = await context.request.post(`${app.url}/console/t/${acme}/payment-method/setup`, {
      form: {},
    });
    expect(setup.status()).toBe(403);
    const after = await account(acme);
    expect(after.settings.autoRecharge).toEqual(before.settings.autoRecharge);
    expect(after.lots).toHaveLength(before.lots.length);
    expect(after.settingsVersion).toBe(before.settingsVersion);
    await page.close();
    await context.close();
  });

  it("keeps a tenant's admin out of another tenant's pages (403)", async () => {
    const { context, page } = await signIn(otherKey);
    for (const path of [
      '',
      '/funds',
      '/usage',
      '/usage.csv',
      '/statements',
      '/auto-recharge',
      '/user-limits',
    ]) {
      const response = await page.goto(`${app.url}/console/t/${acme}${path}`);
      expect([path, response!.status()]).toEqual([path, 403]);
    }
    expect((await page.goto(`${app.url}/console/operator`))!.status()).toBe(403);
    expect(await seriousViolations(page)).toEqual([]);
    await context.close();
  });

  it('filters the usage report and exports CSV rows equal to the rated records', async () => {
    const { context, page } = await signIn(acmeKey);
    await page.goto(`${app.url}/console/t/${acme}/usage`);
    await page
      .getByLabel('From (UTC)')
      .fill(new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10));
    await page.getByRole('button', { name: 'Show' }).click();
    expect(await page.getByTestId('total-calls').textContent()).toBe(String(calls.length));
    await page.getByLabel('User', { exact: true }).fill('ana@');
    await page.getByRole('button', { name: 'Show' }).click();
    const ana = rated.filter((r) => r.userPrincipalName === 'ana@acme.example');
    expect(await page.getByTestId('total-calls').textContent()).toBe(String(ana.length));
    expect(await page.getByTestId('usage-rows').locator('tbody tr').count()).toBe(ana.length);
    const anaCharge = ana.reduce((sum, r) => sum + BigInt(String(r.charge).replace('.', '')), 0n);
    expect(await page.getByTestId('total-charge').textContent()).toBe(formatAmount(anaCharge, 'USD'));
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'usage');

    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Export CSV' }).click();
    const file = await (await download).path();
    const rows = parse(readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[];
    const expected = ana
      .sort((a, b) => String(a.startDateTime).localeCompare(String(b.startDateTime)))
      .map((r) => ({
        UsageId: r.id,
        'Call ID': r.callId,
        'Conference ID': '',
        'User Location': 'US',
        'AAD ObjectId': r.userId,
        UPN: r.userPrincipalName,
        'User Display Name': r.userDisplayName,
        'Caller ID': r.callerNumber,
        'Call Type': r.callType,
        'Number Type': '',
        'Domestic/International': r.destinationContext ?? expect.any(String),
        'Destination Dialed': r.destinationName,
        'Destination Number': r.calleeNumber,
        'Start time': new Date(String(r.startDateTime)).toISOString(),
        'End time': r.endDateTime,
        'Duration Seconds': String(r.duration),
        'Connection Fee': r.connectionCharge,
        Charge: r.charge,
        Currency: r.currency,
        Capability: r.licenseCapability,
        'Billed Seconds': String(r.billedSeconds),
        'Pool Seconds': String(r.poolSeconds ?? 0),
        Source: r.source ?? r.fundingSource ?? expect.any(String),
      }));
    expect(rows).toEqual(expected);
    await context.close();
  });

  it('shows a postpaid tenant its amount owed and no way to buy credits', async () => {
    const { context, page } = await signIn(laterKey);
    await page.goto(`${app.url}/console/t/${later}/funds`);
    expect(await page.getByRole('button', { name: 'Buy credits' }).count()).toBe(0);
    const refused = await page.goto(`${app.url}/console/t/${later}/statements`);
    expect(refused!.status()).toBe(200);
    expect(await page.getByTestId('owed').textContent()).toBe('USD 0.00');
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'statements-postpaid');
    await context.close();
  });

  it("gives the operator the tenants, who needs attention, and each tenant's own pages", async () => {
    const { context, page } = await signIn(OPERATOR);
    expect(page.url()).toBe(`${app.url}/console/operator`);
    await page.getByLabel('Tenant id contains').fill(acme.slice(0, 8));
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByTestId('tenants').getByRole('link', { name: acme }).click();
    expect(page.url()).toBe(`${app.url}/console/t/${acme}`);
    expect(await page.getByTestId('balance').textContent()).toBe(
      formatAmount((await account(acme)).balance, 'USD'),
    );
    await page.goto(`${app.url}/console/t/${acme}/statements`);
    expect(await page.getByTestId('statement-total').textContent()).toBe(
      formatAmount(
        rated.reduce((sum, r) => sum + BigInt(String(r.charge).replace('.', '')), 0n),
        'USD',
      ),
    );
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'statements');
    await eventually(async () => {
      await page.goto(`${app.url}/console/operator`);
      expect(await page.getByTestId('dead-letters').locator('tbody tr td').allTextContents()).toEqual([
        'invalid_field',
        '1',
      ]);
    });
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'operator');
    await context.close();
  });

  it('sets spend limits through the page, exactly as the ledger keeps them, and shows the spend', async () => {
    const month = utcMonth(new Date());
    const limits = () => app.ledger.reads.userLimits(acme, month, 'USD');
    const { context, page } = await signIn(acmeKey);
    await page.getByRole('link', { name: 'Spend limits' }).click();
    expect(page.url()).toBe(`${app.url}/console/t/${acme}/user-limits`);
    expect(await page.getByTestId('default-limit').textContent()).toBe('none');

    await page.getByLabel('Default monthly limit (USD)').fill('30.00');
    await page.getByRole('button', { name: 'Save default' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toBe('Default limit saved: USD 30.00.');
    expect((await limits()).default).toBe(3000n);
    expect(await page.getByTestId('default-limit').textContent()).toBe('USD 30.00');

    await page.getByLabel('User', { exact: true }).fill('user-ana');
    await page.getByLabel('The amount below').check();
    await page.getByLabel("User's monthly limit (USD)").fill('12.34');
    await page.getByRole('button', { name: "Save user's limit" }).click();
    await expect(page.getByRole('status').textContent()).resolves.toBe('Limit of user-ana saved: USD 12.34.');
    expect((await limits()).users.get('user-ana')?.own).toBe(1234n);

    // Too precise for the currency: the field is named, and nothing changes.
    await page.getByLabel('User', { exact: true }).fill('user-ana');
    await page.getByLabel("User's monthly limit (USD)").fill('1.001');
    await page.getByRole('button', { name: "Save user's limit" }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('limit 1.001');
    await page.getByLabel('Default monthly limit (USD)').fill('5.555');
    await page.getByRole('button', { name: 'Save default' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('default 5.555');
    expect(await page.getByLabel('Default monthly limit (USD)').inputValue()).toBe('5.555');
    const kept = await limits();
    expect(kept.default).toBe(3000n);
    expect(kept.users.get('user-ana')?.own).toBe(1234n);

    // No limit for one user; then back to the default for it.
    await page.getByLabel('User', { exact: true }).fill('user-bo');
    await page.getByLabel('No limit, whatever the default').check();
    await page.getByRole('button', { name: "Save user's limit" }).click();
    expect((await limits()).users.get('user-bo')?.own).toBe('none');
    expect(await page.locator('tr[data-user="user-bo"] td').nth(1).textContent()).toBe('none');
    await page.getByLabel('User', { exact: true }).fill('user-bo');
    await page.getByLabel("The default (remove the user's own limit)").check();
    await page.getByRole('button', { name: "Save user's limit" }).click();
    expect((await limits()).users.get('user-bo')?.own).toBeUndefined();
    expect(await page.locator('tr[data-user="user-bo"] td').nth(1).textContent()).toBe('default');

    // Without the CSRF token: 403, nothing changed.
    const before = await limits();
    const without = await context.request.post(`${app.url}/console/t/${acme}/user-limits/default`, {
      form: { action: 'remove' },
    });
    expect(without.status()).toBe(403);
    const userWithout = await context.request.post(`${app.url}/console/t/${acme}/user-limits/user`, {
      form: { user: 'user-ana', kind: 'none' },
    });
    expect(userWithout.status()).toBe(403);
    expect(await limits()).toEqual(before);

    // One more credit-paid call, streamed: the page's spend is the ledger's.
    await producer.send({
      topic: topics.usageIn,
      messages: [
        {
          key: acme,
          value: JSON.stringify({
            id: `${acme}-limits-cy`,
            tenantId: acme,
            userId: 'user-cy',
            userPrincipalName: 'cy@acme.example',
            callType: 'user_out',
            callerNumber: '+12065550100',
            calleeNumber: '+442071234569',
            licenseCapability: 'MCOPSTNPP',
            startDateTime: recentCall(1, 0).startDateTime,
            duration: 53,
          }),
        },
      ],
    });
    await eventually(
      async () => expect((await limits()).users.get('user-cy')?.spent).toBeGreaterThan(0n),
      60_000,
    );
    await page.goto(`${app.url}/console/t/${acme}/user-limits`);
    const ledger = await limits();
    for (const [user, u] of ledger.users) {
      const cells = await page.locator(`tr[data-user="${user}"] td`).allTextContents();
      expect([user, cells[2]]).toEqual([user, formatAmount(u.spent, 'USD')]);
    }
    const cy = ledger.users.get('user-cy')!;
    expect(await page.locator('tr[data-user="user-cy"] td').allTextContents()).toEqual([
      'USD 30.00',
      'default',
      formatAmount(cy.spent, 'USD'),
      formatAmount(3000n - cy.spent, 'USD'),
      'no',
      expect.stringContaining('Change'),
    ]);
    expect(await seriousViolations(page)).toEqual([]);
    await context.close();
  });

  it('sets the burst guard through the page, lists the users it blocked and clears a block', async () => {
    const month = utcMonth(new Date());
    const limits = () => app.ledger.reads.userLimits(acme, month, 'USD');
    const blocked = async () =>
      Object.fromEntries([...(await limits()).blocked].map(([u, b]) => [u, b.reason]));
    const authorize = async (userId: string) =>
      (
        await call(
          'POST',
          '/v1/authorize',
          {
            tenantId: acme,
            callType: 'user_out',
            calleeNumber: '+442071234567',
            licenseCapability: 'MCOPSTNPP',
            usageCountryCode: 'US',
            userId,
          },
          acmeKey,
        )
      ).body;
    /** `count` credit-paid international calls of `user`, started a few minutes ago, applied by the ledger. */
    let n = 0;
    const burst = async (user: string, count: number) => {
      const usages: LedgerUsage[] = Array.from({ length: count }, () => {
        const start = new Date(Date.now() - 300_000 + n * 1000);
        return {
          id: `${acme}-burst-${(n += 1)}`,
          start,
          source: 'credits',
          charge: 10n,
          pool: '',
          poolSeconds: 0,
          period: utcMonth(start),
          user,
          international: true,
        };
      });
      const result = await app.ledger.writes.applyUsage(acme, { currency: 'USD', usages, poolUse: {} });
      expect(result).toHaveProperty('applied');
    };
    const guardFacts = (page: Page) => page.locator('[data-testid="burst-guard"] dd').allTextContents();
    const { context, page } = await signIn(acmeKey);
    await page.goto(`${app.url}/console/t/${acme}/user-limits`);
    expect(await guardFacts(page)).toEqual(['off']);
    expect(await page.getByTestId('blocked-users').locator('tbody td').textContent()).toBe(
      'No user is blocked.',
    );

    await page.getByLabel('Window (minutes)').fill('30');
    await page.getByLabel('Max international calls (optional)').fill('2');
    await page.getByLabel('Max spend (USD, optional)').fill('12.34');
    await page.getByRole('button', { name: 'Save burst guard' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toBe(
      'Burst guard saved: a user with more than 2 international calls or more than USD 12.34 in 30 minutes is blocked.',
    );
    const guard = { windowMinutes: 30, maxInternationalCalls: 2, maxSpend: 1234n };
    expect((await limits()).burstGuard).toEqual(guard);
    expect(await guardFacts(page)).toEqual(['on', '30 minutes', '2', 'USD 12.34']);

    // A bad window: the shared check names the field, what was typed stays, nothing changes.
    await page.getByLabel('Window (minutes)').fill('0');
    await page.getByRole('button', { name: 'Save burst guard' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain(
      'burstGuard/windowMinutes must be an integer from 1 to 1440',
    );
    expect(await page.getByLabel('Window (minutes)').inputValue()).toBe('0');
    await page.getByLabel('Window (minutes)').fill('half an hour');
    await page.getByRole('button', { name: 'Save burst guard' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain(
      'burstGuard/windowMinutes must be a whole number',
    );
    await page.getByLabel('Window (minutes)').fill('30');
    await page.getByLabel('Max spend (USD, optional)').fill('1.001');
    await page.getByRole('button', { name: 'Save burst guard' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('burstGuard/maxSpend 1.001');
    expect((await limits()).burstGuard).toEqual(guard);

    // One international call more than allowed blocks a user; the page lists the ledger's blocks.
    await burst('user-eve', 2);
    expect(await blocked()).toEqual({});
    expect(await authorize('user-eve')).toMatchObject({ allowed: true });
    await burst('user-eve', 1);
    await burst('user-fay', 3);
    expect(await blocked()).toEqual({ 'user-eve': 'international_calls', 'user-fay': 'international_calls' });
    expect(await authorize('user-eve')).toMatchObject({ allowed: false, reason: 'user_blocked' });
    await page.goto(`${app.url}/console/t/${acme}/user-limits`);
    for (const [user, block] of (await limits()).blocked)
      expect(
        await page.locator(`[data-testid="blocked-users"] tr[data-user="${user}"] td`).allTextContents(),
      ).toEqual([formatTime(block.at), 'international calls', `Clear block of ${user}`]);

    // Without the CSRF token: 403, and neither the block nor the guard changes.
    const clearWithout = await context.request.post(`${app.url}/console/t/${acme}/user-limits/clear-block`, {
      form: { user: 'user-eve' },
    });
    expect(clearWithout.status()).toBe(403);
    const guardWithout = await context.request.post(`${app.url}/console/t/${acme}/user-limits/burst-guard`, {
      form: { action: 'off' },
    });
    expect(guardWithout.status()).toBe(403);
    expect(await blocked()).toEqual({ 'user-eve': 'international_calls', 'user-fay': 'international_calls' });
    expect((await limits()).burstGuard).toEqual(guard);

    // Cleared through the page: the ledger's block is gone and the user's calls go through.
    await page.getByRole('button', { name: 'Clear block of user-eve' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toBe(
      'Block of user-eve cleared: their credit-paid calls go through again, in a fresh window.',
    );
    expect(await blocked()).toEqual({ 'user-fay': 'international_calls' });
    expect(await authorize('user-eve')).toMatchObject({ allowed: true });
    expect(await page.locator('[data-testid="blocked-users"] tr[data-user="user-eve"]').count()).toBe(0);

    // A block cleared meanwhile (by the API, another admin): 404, and a message that says so.
    expect((await app.ledger.writes.clearUserBlock(acme, 'user-fay')).status).toBe('cleared');
    const stale = page.waitForResponse((r) => r.url().endsWith('/user-limits/clear-block'));
    await page.getByRole('button', { name: 'Clear block of user-fay' }).click();
    expect((await stale).status()).toBe(404);
    await expect(page.getByRole('alert').textContent()).resolves.toBe(
      'user-fay is not blocked (cleared meanwhile?): nothing changed.',
    );

    // Blocked again (a fresh window); the page as the README shows it.
    await burst('user-fay', 3);
    await page.goto(`${app.url}/console/t/${acme}/user-limits`);
    expect(await page.locator('[data-testid="blocked-users"] tbody tr').count()).toBe(1);
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'user-limits');

    // Turned off: no one is blocked from now on, and the blocks stay until cleared.
    await page.getByRole('button', { name: 'Turn guard off' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toContain('Burst guard turned off');
    expect((await limits()).burstGuard).toBeUndefined();
    expect(await guardFacts(page)).toEqual(['off']);
    expect(await blocked()).toEqual({ 'user-fay': 'international_calls' });
    await context.close();
  });

  it('reads well on a phone', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
    const page = await context.newPage();
    await page.goto(`${app.url}/console`);
    await page.getByLabel('API key or operator token').fill(acmeKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${app.url}/console/t/${acme}`);
    // Nothing wider than the screen but the tables, which scroll in their own box.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'overview-phone');
    await page.goto(`${app.url}/console/t/${acme}/user-limits`);
    expect(
      await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth),
    ).toBeLessThanOrEqual(0);
    expect(await seriousViolations(page)).toEqual([]);
    await context.close();
  });

  it('keeps money exact in what the pages show', () => {
    expect(minorToDecimal('123456789012345', 'USD')).toBe('1234567890123.45');
    expect(formatAmount(123456789012345n, 'USD')).toBe('USD 1,234,567,890,123.45');
    expect(formatAmount(-5n, 'JPY')).toBe('-JPY 5');
  });
});

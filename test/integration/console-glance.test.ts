import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, Partitioners, Producer } from 'kafkajs';
import type { Browser, Page } from 'playwright-core';
import type { App } from '../../src/app';
import { formatTime } from '../../src/api/console/format';
import { utcMonth } from '../../src/credits/calendar';
import type { LedgerUsage } from '../../src/credits/wallet';
import { stripeEnv } from '../../tools/stack/stack';
import { startStripeTestProxy, StripeTestProxy } from '../../tools/stack/stripe-test-proxy';
import { startApiApp } from '../support/api-app';
import { launchChromium } from '../support/browser';
import { createTopics, testKafka, testStack, uniqueName } from '../support/stack';
import { eventually, recentCall } from '../support/wait';

const OPERATOR = 'operator-token-for-console-glance-tests';
/** Set to a directory to keep a screenshot of each page there (the README's are made so). */
const SHOTS = process.env.CONSOLE_SCREENSHOTS_DIR;
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

/**
 * What sticks out of the viewport on the page as it is: the document wider than the window,
 * and every element whose box crosses the window's left or right edge, unless an ancestor
 * scrolls or clips it (a table in its own scrolling box). Read in the browser.
 */
function widthProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const width = window.innerWidth;
    const out: string[] = [];
    const doc = document.documentElement.scrollWidth;
    if (doc > width) out.push(`the page is ${doc} px wide in a ${width} px window`);
    for (const el of Array.from(document.body.querySelectorAll('*'))) {
      if (el.closest('.skip, .visually-hidden')) continue;
      let contained = false;
      for (let up = el.parentElement; up && up !== document.body; up = up.parentElement)
        if (getComputedStyle(up).overflowX !== 'visible') contained = true;
      if (contained) continue;
      const box = el.getBoundingClientRect();
      if (box.width === 0 && box.height === 0) continue;
      if (box.right > width + 0.5 || box.left < -0.5) {
        const name = `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${
          el.className && typeof el.className === 'string' ? `.${el.className.split(' ').join('.')}` : ''
        }`;
        out.push(`${name} spans ${Math.round(box.left)}..${Math.round(box.right)} px`);
      }
    }
    return out.slice(0, 8);
  });
}

/**
 * The console at a glance, in Chromium: every page fits a phone's and a laptop's width; the
 * overview shows pool use, a failed recharge, a balance below zero since when, and a zero that
 * comes from the monthly recharge cap; users in natural order, call types in words; `GET /`.
 */
describe('the admin console at a glance, in Chromium', () => {
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
  const capped = uniqueName('capped');
  const broke = uniqueName('broke');
  const later = uniqueName('later');
  const live = uniqueName('live');
  let acmeKey: string;
  const liveStart = new Date(Date.now() - 60_000);

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${app.url}${path}`, {
      method,
      headers: {
        ...(body ? { 'content-type': 'application/json' } : {}),
        authorization: `Bearer ${OPERATOR}`,
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const tenant = async (id: string, body: Record<string, unknown>, credit?: string) => {
    // A card is the tenant's own: attached to its customer at the gateway before it is named.
    if (body.paymentMethodRef)
      stripe.cards.attach('pm_card_visa', `cus_${id.replace(/[^A-Za-z0-9_]/g, '_')}`);
    expect((await call('PUT', `/v1/tenants/${id}`, body)).status).toBe(201);
    if (credit) {
      const adjustment = {
        adjustmentId: 'welcome',
        amount: credit,
        currency: 'USD',
        reason: 'welcome',
        madeBy: 'test',
      };
      expect((await call('POST', `/v1/tenants/${id}/adjustments`, adjustment)).status).toBe(201);
    }
    return String((await call('POST', `/v1/tenants/${id}/api-keys`)).body.apiKey);
  };
  /** One credit-paid usage of `charge` cents a few minutes ago, applied by the ledger. */
  const spend = async (id: string, usageId: string, charge: bigint) => {
    const start = new Date(Date.now() - 300_000);
    const usage: LedgerUsage = {
      id: usageId,
      start,
      source: 'credits',
      charge,
      pool: '',
      poolSeconds: 0,
      period: utcMonth(start),
      user: 'user1',
      international: false,
    };
    expect(
      await app.ledger.writes.applyUsage(id, { currency: 'USD', usages: [usage], poolUse: {} }),
    ).toHaveProperty('applied');
  };

  // user10 before user2 in code-unit order: the pages must put user2 first.
  const calls = [
    { id: 'c1', user: 'user10', callType: 'user_out', calleeNumber: '+442071234567', minutes: 3 },
    { id: 'c2', user: 'user2', callType: 'user_out', calleeNumber: '+12125550123', minutes: 171 },
    {
      id: 'c3',
      user: 'user1',
      callType: 'conf_in',
      calleeNumber: '+18005550123',
      minutes: 4,
      tollFree: true,
    },
    { id: 'c4', user: 'user2', callType: 'conf_out', calleeNumber: '+4930123456', minutes: 1 },
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
      keyPrefix: `${uniqueName('glance')}:`,
      env: {
        ...stripeEnv(testStack(), stripe.url),
        RATER_ROLES: 'api,consumer',
        KAFKA_GROUP_ID: uniqueName('glance-rater'),
        TOPIC_USAGE_IN: topics.usageIn,
        TOPIC_RATED_OUT: topics.ratedOut,
        TOPIC_EVENTS_OUT: topics.events,
        TOPIC_DEAD_LETTER: topics.dlq,
      },
    });
    const prepaid = { billingMode: 'prepaid', currency: 'USD', paymentMethodRef: 'pm_card_visa' };
    acmeKey = await tenant(
      acme,
      {
        ...prepaid,
        lowBalanceThreshold: '5.00',
        licences: [{ capability: 'MCOPSTN5', country: 'US', users: 2 }],
      },
      '80.00',
    );
    // Auto-recharge once a month at most; its one recharge of this month fails on an expired card.
    await tenant(
      capped,
      {
        ...prepaid,
        autoRecharge: {
          enabled: true,
          triggerAmount: '10.00',
          rechargeAmount: '5.00',
          monthlyCap: 1,
          maxConsecutiveFailures: 3,
        },
      },
      '30.00',
    );
    await spend(capped, `${capped}-u1`, 2200n);
    const requestId = (await app.ledger.reads.readAccount(capped))!.autoRecharge.pendingRequestId;
    expect(requestId).not.toBe('');
    await app.ledger.writes.recordRechargeResult(capped, {
      requestId,
      status: 'failed',
      reason: 'expired_card',
    });
    await tenant(broke, prepaid, '1.00');
    await spend(broke, `${broke}-u1`, 300n);
    await tenant(later, { billingMode: 'postpaid', currency: 'USD' });
    // Two calls in progress: one just started (300 s granted, 0.17 held), one renewed at 280 s
    // (580 s as one call: 0.35 held).
    await tenant(live, prepaid, '10.00');
    const startCall = async (usageId: string, userId: string, calleeNumber: string) => {
      const body = { usageId, tenantId: live, callType: 'user_out', calleeNumber, userId };
      const answer = await call('POST', '/v1/sessions', {
        ...body,
        licenseCapability: 'MCOPSTNPP',
        usageCountryCode: 'US',
        startDateTime: liveStart.toISOString(),
      });
      expect(answer).toMatchObject({ status: 200, body: { allowed: true, grantedSeconds: 300 } });
    };
    await startCall('call-1@pbx', 'alice', '+442071234567');
    await startCall('call-2@pbx', 'bob', '+442071234568');
    expect(
      await call('POST', '/v1/sessions/call-2@pbx/update', { tenantId: live, usedSeconds: 280 }),
    ).toMatchObject({ status: 200, body: { reserved: '0.35' } });

    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({
      topic: topics.usageIn,
      messages: calls.map((c, i) => ({
        key: acme,
        value: JSON.stringify({
          id: `${acme}-${c.id}`,
          tenantId: acme,
          callId: `call-${c.id}`,
          userId: c.user,
          userPrincipalName: `${c.user}@acme-telephony-department.example`,
          userDisplayName: c.user,
          callType: c.callType,
          callerNumber: '+12065550100',
          calleeNumber: c.calleeNumber,
          ...(c.tollFree ? { numberType: 'tollFree' } : {}),
          licenseCapability: 'MCOPSTN5',
          usageCountryCode: 'US',
          tenantCountryCode: 'US',
          ...recentCall(c.minutes, 4 + i),
          duration: c.minutes * 60,
        }),
      })),
    });
    await eventually(async () => {
      const a = (await app.ledger.reads.readAccount(acme))!;
      expect(Object.values(a.poolUsed).reduce((sum, s) => sum + s, 0)).toBe(171 * 60);
      expect((await app.ledger.reads.userLimits(acme, utcMonth(new Date()), 'USD')).users.size).toBe(3);
    }, 60_000);
    // Limits of their own for two users, a default for the rest.
    expect(
      await app.ledger.writes.setUserLimits(acme, {
        currency: 'USD',
        default: 3000n,
        users: { user10: 12_345_678n, user1: 'none' },
      }),
    ).toEqual({ status: 'updated' });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await producer?.disconnect();
    await app?.stop();
    await stripe?.close();
  });

  const signedIn = async (credential: string, viewport: { width: number; height: number }) => {
    const context = await browser.newContext({ viewport });
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
  const twoDaysAgo = () => new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
  const tabs = (id: string) =>
    ['', '/funds', '/auto-recharge', '/user-limits', `/usage?from=${twoDaysAgo()}`, '/statements'].map(
      (path) => `/console/t/${id}${path}`,
    );

  it('fits every page into a phone and a laptop window: only tables scroll, in their own box', async () => {
    const problems: string[] = [];
    for (const viewport of [PHONE, DESKTOP]) {
      const visit = async (page: Page, path: string) => {
        const response = await page.goto(`${app.url}${path}`);
        expect([path, response!.status()]).toEqual([path, path.endsWith('/nowhere') ? 404 : 200]);
        expect(await page.evaluate(() => window.innerWidth)).toBe(viewport.width);
        for (const problem of await widthProblems(page))
          problems.push(`${viewport.width} px ${path}: ${problem}`);
        // On a laptop no column hides behind a table's scroll.
        if (viewport === DESKTOP)
          for (const hidden of await page
            .locator('.table-wrap')
            .evaluateAll((boxes) =>
              boxes
                .filter((b) => b.scrollWidth > b.clientWidth)
                .map((b) => `${b.scrollWidth} > ${b.clientWidth}`),
            ))
            problems.push(`${viewport.width} px ${path}: a table scrolls (${hidden} px)`);
      };
      const signedOut = await (await browser.newContext({ viewport })).newPage();
      for (const path of ['/console/sign-in', '/console/nowhere']) await visit(signedOut, path);
      await signedOut.context().close();
      const operator = await signedIn(OPERATOR, viewport);
      const operatorPages = [
        '/console/operator',
        ...tabs(acme),
        ...tabs(later),
        `/console/t/${capped}`,
        `/console/t/${broke}`,
        `/console/t/${live}`,
        `/console/t/${capped}/auto-recharge`,
      ];
      for (const path of operatorPages) await visit(operator.page, path);
      await operator.context.close();
      const admin = await signedIn(acmeKey, viewport);
      for (const path of tabs(acme)) await visit(admin.page, path);
      if (viewport === PHONE) {
        await admin.page.goto(`${app.url}/console/t/${acme}/user-limits`);
        await shot(admin.page, 'user-limits-phone');
        await admin.page.goto(`${app.url}/console/t/${acme}/usage?from=${twoDaysAgo()}`);
        await shot(admin.page, 'usage-phone');
      }
      await admin.context.close();
    }
    expect(problems).toEqual([]);
  });

  it('shows on the overview the pool use, a failed recharge, a balance below zero since when, and the cap', async () => {
    const { context, page } = await signedIn(OPERATOR, DESKTOP);
    await page.goto(`${app.url}/console/t/${acme}`);
    expect(
      await page.locator('[data-testid="pools"] tr[data-pool="MCOPSTN5:US"] td').allTextContents(),
    ).toEqual(['171 of 240 min used', '69 min left']);

    await page.goto(`${app.url}/console/t/${capped}`);
    const cappedAccount = (await app.ledger.reads.readAccount(capped))!;
    const failure = cappedAccount.autoRecharge.lastFailure!;
    expect(failure.reason).toBe('expired_card');
    expect(await page.getByTestId('auto-recharge').textContent()).toBe('On: USD 5.00 below USD 10.00');
    expect(await page.getByTestId('recharge-failure').textContent()).toBe(
      `The last recharge failed ${formatTime(failure.at)}: expired card (1 failure in a row)`,
    );
    expect(await page.getByTestId('depletes-at').textContent()).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d UTC \(in 0 days\)$/,
    );
    const month = utcMonth(new Date());
    expect(await page.getByTestId('depletes-why').textContent()).toBe(
      `Auto-recharge's monthly cap (1 recharge) is used up for ${month}: no recharge before the month ends.`,
    );
    await shot(page, 'overview-attention');

    await page.goto(`${app.url}/console/t/${broke}`);
    const brokeAccount = (await app.ledger.reads.readAccount(broke))!;
    expect(brokeAccount).toMatchObject({ balance: -200n, blocked: true });
    expect(await page.getByTestId('depletes-at').textContent()).toBe(
      `Below zero since ${formatTime(brokeAccount.blockedSince!)}`,
    );
    expect(await page.getByTestId('state').textContent()).toBe('Blocked: add funds');
    await context.close();
  });

  it('shows on the overview what sessions reserve, what is available, and the calls in progress', async () => {
    const { context, page } = await signedIn(OPERATOR, DESKTOP);
    await page.goto(`${app.url}/console/t/${live}`);
    expect(await page.getByTestId('balance').textContent()).toBe('USD 10.00');
    expect(await page.getByTestId('reserved').textContent()).toBe('USD 0.52');
    expect(await page.getByTestId('available').textContent()).toBe('USD 9.48');
    const rows = await page
      .locator('[data-testid="live-calls"] tbody tr')
      .evaluateAll((trs) => trs.map((tr) => Array.from(tr.children).map((cell) => cell.textContent)));
    const started = formatTime(liveStart);
    expect(rows.sort((a, b) => String(a[0]).localeCompare(String(b[0])))).toEqual([
      ['call-1@pbx', 'alice', '+442071234567', started, '300', 'USD 0.17'],
      ['call-2@pbx', 'bob', '+442071234568', started, '580', 'USD 0.35'],
    ]);
    await shot(page, 'overview-live-calls');
    // Ended, a call leaves the table; what its used seconds cost stays held until its CDR (280 s:
    // 5 started minutes at 0.0349 = 0.1745 -> 0.17).
    for (const [id, usedSeconds] of [
      ['call-1@pbx', 0],
      ['call-2@pbx', 280],
    ] as const)
      expect((await call('POST', `/v1/sessions/${id}/end`, { tenantId: live, usedSeconds })).status).toBe(
        200,
      );
    await page.goto(`${app.url}/console/t/${live}`);
    expect(await page.getByTestId('reserved').textContent()).toBe('USD 0.17');
    expect(await page.getByTestId('available').textContent()).toBe('USD 9.83');
    expect(await page.getByTestId('no-live-calls').textContent()).toBe('No call holds credit now.');
    await context.close();
  });

  it('lists users in natural order, and call types in words (the CSV keeps the codes)', async () => {
    const { context, page } = await signedIn(acmeKey, DESKTOP);
    await page.goto(`${app.url}/console/t/${acme}/user-limits`);
    expect(
      await page.locator('tr[data-user]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-user'))),
    ).toEqual(['user1', 'user2', 'user10']);
    await page.goto(`${app.url}/console/t/${acme}/usage?from=${twoDaysAgo()}`);
    expect(await page.locator('[data-testid="usage-by-user"] tbody tr th').allTextContents()).toEqual([
      'user1@acme-telephony-department.example',
      'user2@acme-telephony-department.example',
      'user10@acme-telephony-department.example',
    ]);
    const types = await page
      .locator('[data-testid="usage-rows"] tbody tr')
      .evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-usage'), r.children[2]!.textContent]));
    expect(Object.fromEntries(types)).toEqual({
      [`${acme}-c1`]: 'Outbound call',
      [`${acme}-c2`]: 'Outbound call',
      [`${acme}-c3`]: 'Conference dial-in (toll-free)',
      [`${acme}-c4`]: 'Conference dial-out',
    });
    const options = await page
      .locator('select[name="callType"] option')
      .evaluateAll((all) => all.map((o) => [(o as HTMLOptionElement).value, o.textContent]));
    expect(options).toContainEqual(['user_out', 'Outbound call']);
    expect(options).toContainEqual(['conf_in', 'Conference dial-in']);
    await page.selectOption('select[name="callType"]', 'conf_out');
    await page.getByRole('button', { name: 'Show' }).click();
    expect(await page.getByTestId('total-calls').textContent()).toBe('1');
    const csv = await context.request.get(`${app.url}/console/t/${acme}/usage.csv?from=${twoDaysAgo()}`);
    const text = await csv.text();
    expect(text).toContain(',conf_in,');
    expect(text).not.toContain('Conference dial-in');
    await context.close();
  });

  it('opens the console from the service address (303), and has no page there without the console', async () => {
    const root = await fetch(`${app.url}/`, { redirect: 'manual' });
    expect([root.status, root.headers.get('location')]).toEqual([303, '/console']);
    const without = await startApiApp({
      operatorToken: OPERATOR,
      keyPrefix: `${uniqueName('no-console')}:`,
      env: { CONSOLE_ENABLED: 'false' },
    });
    try {
      expect((await fetch(`${without.url}/`, { redirect: 'manual' })).status).toBe(404);
      expect((await fetch(`${without.url}/console`, { redirect: 'manual' })).status).toBe(404);
    } finally {
      await without.stop();
    }
  });
});

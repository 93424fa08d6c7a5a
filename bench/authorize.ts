/**
 * npm run bench:authorize: POST /v1/authorize on the running service under load
 * (autocannon, 16 connections offering 2,000 requests/s for 10 s, on loopback), against
 * the local stack's Redis with the shipped decks. Writes bench-results/authorize.json.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pino from 'pino';
import { startApp } from '../src/app';
import { loadConfig } from '../src/config';
import { RatingPricer } from '../src/consumers/rating-pricer';
import { loadRateBook } from '../src/rating';
import { down, stackEnv, up } from '../src/stack/stack';
import { projectRoot } from '../src/stack/toolchain';

const TOKEN = 'bench-operator-token';

async function main(): Promise<void> {
  const dir = join(projectRoot, '.stack', 'bench');
  const stack = await up(dir);
  const book = loadRateBook(join(projectRoot, 'rates'));
  const config = loadConfig({
    ...stackEnv(stack),
    HTTP_PORT: '0',
    RATER_ROLES: 'api',
    REDIS_KEY_PREFIX: 'bench:',
    OPERATOR_TOKEN_SHA256: createHash('sha256').update(TOKEN).digest('hex'),
  });
  const app = await startApp(config, {
    pricer: new RatingPricer(book),
    book,
    logger: pino({ level: 'silent' }),
  });
  try {
    for (let t = 0; t < 50; t++) {
      await app.ledger.upsertAccount(`tenant-${t}`, {
        mode: 'prepaid',
        currency: 'USD',
        lowBalanceThreshold: 0n,
        autoRecharge: { enabled: false, trigger: 0n, amount: 0n, monthlyCap: 0, maxConsecutiveFailures: 0 },
        paymentMethodRef: '',
        adminContacts: [],
        poolCapacities: { 'MCOPSTN1:US': 360_000 },
      });
      await app.ledger.addFunds(`tenant-${t}`, {
        paymentRef: 'seed',
        amount: BigInt(500 + t * 37),
        currency: 'USD',
        purchasedAt: new Date(),
      });
    }
    const callees = ['+447911123456', '+4930123456', '+12125551234', '+2348031234567', '+819012345678'];
    let n = 0;
    const result = await autocannon({
      url: `${app.url}/v1/authorize`,
      connections: 16,
      // A fixed offered load (a busy switch cluster), so latency is not just queueing.
      overallRate: Number(process.env.BENCH_AUTHORIZE_RATE ?? 2000),
      duration: Number(process.env.BENCH_AUTHORIZE_SECONDS ?? 10),
      requests: [
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
          setupRequest: (request) => {
            n += 1;
            return {
              ...request,
              body: JSON.stringify({
                tenantId: `tenant-${n % 50}`,
                callType: 'user_out',
                calleeNumber: callees[n % callees.length],
                licenseCapability: n % 2 ? 'MCOPSTN1' : 'MCOPSTNPP',
                usageCountryCode: 'US',
              }),
            };
          },
        },
      ],
    });
    const figures = {
      requestsPerSecond: Math.round(result.requests.average),
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      maxMs: result.latency.max,
      non2xx: result.non2xx,
      errors: result.errors,
      offeredPerSecond: Number(process.env.BENCH_AUTHORIZE_RATE ?? 2000),
      connections: 16,
    };
    mkdirSync('bench-results', { recursive: true });
    writeFileSync('bench-results/authorize.json', `${JSON.stringify(figures, null, 2)}\n`);
    console.table(figures);
  } finally {
    await app.stop();
    await down(dir);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

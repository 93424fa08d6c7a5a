/**
 * npm run bench:authorize: POST /v1/authorize on the running service under load
 * (autocannon, 16 connections offering 2,000 requests/s for 10 s, on loopback), against
 * the local stack's Redis with the shipped decks. Writes bench-results/authorize.json.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type autocannon from 'autocannon';
import pino from 'pino';
import { startApp } from '../src/app';
import { accountSettings } from '../src/ledger/ledger';
import { loadConfig } from '../src/config';
import { RatingPricer } from '../src/consumers/rating-pricer';
import { loadRateBook } from '../src/rating';
import { down, stackEnv, up } from '../src/stack/stack';
import { projectRoot } from '../src/stack/toolchain';

const TOKEN = 'bench-operator-token';
const execFileAsync = promisify(execFile);

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
      await app.ledger.upsertAccount(
        `tenant-${t}`,
        accountSettings('prepaid', 'USD', { poolCapacities: { 'MCOPSTN1:US': 360_000 } }),
      );
      await app.ledger.addFunds(`tenant-${t}`, {
        paymentRef: 'seed',
        amount: BigInt(500 + t * 37),
        currency: 'USD',
        purchasedAt: new Date(),
      });
    }
    // The load comes from a process of its own (the autocannon CLI), so it does not share the
    // service's event loop; each connection asks for another tenant and destination.
    const rate = Number(process.env.BENCH_AUTHORIZE_RATE ?? 2000);
    const seconds = Number(process.env.BENCH_AUTHORIZE_SECONDS ?? 10);
    const body = JSON.stringify({
      tenantId: 'tenant-7',
      callType: 'user_out',
      calleeNumber: '+447911123456',
      licenseCapability: 'MCOPSTNPP',
      usageCountryCode: 'US',
    });
    // Asynchronously: the service answering the load runs in this process.
    const run = await execFileAsync(
      process.execPath,
      [
        require.resolve('autocannon/autocannon.js'),
        '-j',
        '-c',
        '16',
        '-d',
        String(seconds),
        '-R',
        String(rate),
        '-m',
        'POST',
        '-H',
        'content-type=application/json',
        '-H',
        `authorization=Bearer ${TOKEN}`,
        '-b',
        body,
        `${app.url}/v1/authorize`,
      ],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    const result = JSON.parse(run.stdout) as autocannon.Result;
    const figures = {
      requestsPerSecond: Math.round(result.requests.average),
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      maxMs: result.latency.max,
      non2xx: result.non2xx,
      errors: result.errors,
      offeredPerSecond: rate,
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

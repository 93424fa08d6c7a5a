import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { startApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { redisErrorLog } from '../../src/observability/logs';
import { stackEnv } from '../../tools/stack/stack';
import { testStack } from '../support/stack';

const root = join(__dirname, '..', '..');

/** A port nothing listens on: taken from the system, then let go. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('a start that cannot work names the setting that causes it', () => {
  it('a missing RATES_DIR', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli.ts'), 'serve'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        PATH: process.env.PATH,
        KAFKA_BROKERS: '127.0.0.1:9',
        REDIS_URL: 'redis://127.0.0.1:9',
        RATER_ROLES: 'api',
        PAYMENT_GATEWAY: 'none',
        RATES_DIR: '/nonexistent/rates',
      },
    });
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe(
      'RATES_DIR: /nonexistent/rates is not a folder (it holds decks.yaml, plans.yaml, countries.csv and the deck files; the image ships /app/rates)',
    );
  });

  it('a Kafka that does not answer at KAFKA_BROKERS', async () => {
    const port = await closedPort();
    const env = { ...stackEnv(testStack()), RATER_ROLES: 'relay', KAFKA_BROKERS: `127.0.0.1:${port}` };
    // kafkajs logs each refused connection on the console: expected here, kept out of the output.
    const quiet = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await expect(startApp(loadConfig(env), { logger: pino({ level: 'silent' }) })).rejects.toThrow(
        new RegExp(`^Kafka did not answer at KAFKA_BROKERS=127\\.0\\.0\\.1:${port}: `),
      );
    } finally {
      quiet.mockRestore();
    }
  }, 120_000);

  it("Redis's connection errors name REDIS_URL (never its password), once per 30 s while they repeat", () => {
    const lines: { msg: string; redis: string; repeatedSinceLastLog?: number }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const log = redisErrorLog(logger, 'redis://rater:s3cret@redis.internal:6380/0');
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:6380'), { code: 'ECONNREFUSED' });
    const now = jest.spyOn(Date, 'now');
    try {
      for (let second = 0; second < 28; second++) {
        now.mockReturnValue(1_000_000 + second * 700);
        log(refused);
      }
      now.mockReturnValue(1_000_000 + 31_000);
      log(refused);
    } finally {
      now.mockRestore();
    }
    expect(
      lines.map(({ msg, redis, repeatedSinceLastLog }) => ({ msg, redis, repeatedSinceLastLog })),
    ).toEqual([
      {
        msg: 'redis connection error (REDIS_URL redis://redis.internal:6380)',
        redis: 'redis://redis.internal:6380',
      },
      {
        msg: 'redis connection error (REDIS_URL redis://redis.internal:6380)',
        redis: 'redis://redis.internal:6380',
        repeatedSinceLastLog: 27,
      },
    ]);
    expect(JSON.stringify(lines)).not.toContain('s3cret');
  });
});

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parse } from 'yaml';
import { tokenCommand } from '../../src/api/keys-cli';
import { App, startApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { cdrCommand } from '../../src/kafka/cdr-cli';
import { RatingPricer } from '../../src/settlement/rating-pricer';
import { startMailbox } from '../../tools/demo/mailbox';
import { apiCaller, shippedBook } from '../support/api-app';
import { consoleSignIn } from '../support/console-sign-in';
import { testStack, uniqueName } from '../support/stack';
import { eventually } from '../support/wait';

const root = join(__dirname, '..', '..');

interface ComposeService {
  image?: string;
  build?: string;
  environment?: Record<string, string | number>;
  depends_on?: Record<string, unknown> | string[];
  volumes?: string[];
  command?: string[];
  profiles?: string[];
}
const compose = parse(readFileSync(join(root, 'compose.yaml'), 'utf8')) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
};

/** Compose's interpolation of `${NAME:-default}` and `${NAME}` from an env file's values. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g, (_, name: string, fallback?: string) =>
    env[name] ? env[name] : (fallback ?? ''),
  );
}

/** Reads an env file as compose does (NAME=value lines). */
function envFile(path: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => /^[A-Z0-9_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

async function quietly<T>(run: () => Promise<T>): Promise<{ result: T; out: string[] }> {
  const out: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((text: string) => void out.push(text));
  const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    return { result: await run(), out };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe('compose.yaml as shipped', () => {
  it('names only services, files and volumes that exist, and keeps money on disk at every write', () => {
    const names = Object.keys(compose.services);
    expect(names.sort()).toEqual(
      [
        'cdr-producer',
        'grafana',
        'kafka',
        'mailpit',
        'prometheus',
        'rater',
        'redis',
        'schema-registry',
      ].sort(),
    );
    for (const [name, service] of Object.entries(compose.services)) {
      expect([name, Boolean(service.image || service.build)]).toEqual([name, true]);
      const needs = Array.isArray(service.depends_on)
        ? service.depends_on
        : Object.keys(service.depends_on ?? {});
      for (const other of needs) expect([name, names.includes(other)]).toEqual([name, true]);
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('./'))
          expect([name, source, existsSync(join(root, source))]).toEqual([name, source, true]);
        else expect([name, source, source in compose.volumes]).toEqual([name, source, true]);
      }
    }
    expect(compose.services.redis!.command).toEqual([
      'redis-server',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
    ]);
  });

  describe("the rater with the rater service's own environment, on the local stack", () => {
    let app: App;
    let dir: string;
    let mailbox: Awaited<ReturnType<typeof startMailbox>>;
    let token: string;
    const usageTopic = uniqueName('cdr');

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'compose-'));
      mailbox = await startMailbox();
      // The README's one step before `docker compose up`: the operator token into .env.
      const made = await quietly(() =>
        tokenCommand().parseAsync(['node', 'token', 'new', '--env-file', join(dir, '.env')]),
      );
      token = /: (rop\.\S+)$/.exec(made.out[0]!)![1]!;
      const dotenv = envFile(join(dir, '.env'));
      const environment = Object.fromEntries(
        Object.entries(compose.services.rater!.environment!).map(([name, value]) => [
          name,
          interpolate(String(value), dotenv),
        ]),
      );
      // What differs outside compose's network: where the services are, and a port of our own.
      const stack = testStack();
      const hosts: Record<string, string> = {
        'kafka:9092': stack.kafka.brokers.join(','),
        'redis://redis:6379': stack.redis.url,
        'http://schema-registry:8080/apis/ccompat/v7': stack.schemaRegistry.url,
        'smtp://mailpit:1025': `smtp://127.0.0.1:${mailbox.port}`,
      };
      const env: Record<string, string> = {
        ...environment,
        ...Object.fromEntries(
          Object.entries(environment)
            .filter(([, v]) => v in hosts)
            .map(([k, v]) => [k, hosts[v]!]),
        ),
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: '0',
        REDIS_KEY_PREFIX: `${uniqueName('compose')}:`,
        TOPIC_USAGE_IN: usageTopic,
        TOPIC_RATED_OUT: uniqueName('rated'),
        TOPIC_EVENTS_OUT: uniqueName('events'),
        TOPIC_DEAD_LETTER: uniqueName('dlq'),
        KAFKA_GROUP_ID: uniqueName('compose'),
        KAFKA_TOPIC_PARTITIONS: '1',
      };
      expect(env.PAYMENT_GATEWAY).toBe('none');
      expect(env.OPERATOR_TOKEN_SHA256).toMatch(/^[0-9a-f]{64}$/);
      app = await startApp(loadConfig(env), {
        pricer: new RatingPricer(shippedBook),
        book: shippedBook,
        logger: pino({ level: 'silent' }),
      });
    }, 120_000);
    afterAll(async () => {
      await app?.stop();
      await mailbox?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('comes up ready without a Stripe key, saying purchases are off, and without the roles that charge cards', async () => {
      await eventually(async () => expect((await fetch(`${app.url}/readyz`)).status).toBe(200), 60_000);
      const ready = (await (await fetch(`${app.url}/readyz`)).json()) as Record<string, unknown>;
      expect(ready).toMatchObject({
        status: 'ready',
        paymentGateway: 'none',
        payments: expect.stringContaining('disabled: no payment gateway (PAYMENT_GATEWAY=none)'),
      });
    });

    it('signs the operator in to the console with the token from .env', async () => {
      const cookie = await consoleSignIn(app.url, token);
      const page = await fetch(`${app.url}/console/operator`, { headers: { cookie }, redirect: 'manual' });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('action="/console/sign-out"');
    });

    it('takes the operator token from .env, and rates a CDR sent with `rater cdr send`', async () => {
      const call = apiCaller(() => app.url, token);
      expect(
        (await call('PUT', '/v1/tenants/contoso', { billingMode: 'prepaid', currency: 'USD' })).status,
      ).toBe(201);
      const funded = await call('POST', '/v1/tenants/contoso/adjustments', {
        adjustmentId: 'welcome',
        amount: '10.00',
        currency: 'USD',
        reason: 'first day',
        madeBy: 'ops@rater.example',
      });
      expect(funded.status).toBe(201);
      const config = () =>
        loadConfig({
          KAFKA_BROKERS: testStack().kafka.brokers.join(','),
          REDIS_URL: testStack().redis.url,
          RATER_ROLES: 'consumer',
          TOPIC_USAGE_IN: usageTopic,
        });
      // The compose producer's command, as the image runs it.
      const args = compose.services['cdr-producer']!.command!.map((arg) => interpolate(arg, {}));
      const sent = await quietly(() => cdrCommand(config).parseAsync(['node', ...args]));
      expect(sent.out).toHaveLength(5);
      // Five UK-mobile calls of 125 s at 0.1116 a minute, billed per started minute: 0.33 each.
      await eventually(
        async () =>
          expect((await call('GET', '/v1/tenants/contoso/balance')).body.balance).toEqual({
            amount: '8.35',
            currency: 'USD',
          }),
        60_000,
      );
      const from = new Date(Date.now() - 3600_000).toISOString();
      const to = new Date(Date.now() + 60_000).toISOString();
      const usage = await call('GET', `/v1/tenants/contoso/usage?from=${from}&to=${to}`);
      expect((usage.body.items as { usageId: string }[]).map((i) => i.usageId).sort()).toEqual(
        [...sent.out].sort(),
      );
    }, 120_000);
  });
});

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { App, startApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { stackEnv } from '../../tools/stack/stack';
import { FlatPricer } from '../support/flat-pricer';
import { testStack, uniqueName } from '../support/stack';

const deploy = join(__dirname, '..', '..', 'deploy');

describe('deploy/: alert rules, dashboard and a live scrape, checked by promtool', () => {
  it('has alert rules promtool accepts, covering what operators are paged for', () => {
    const check = spawnSync('promtool', ['check', 'rules', join(deploy, 'prometheus', 'alerts.yml')], {
      encoding: 'utf8',
    });
    expect(check.stdout + check.stderr).toContain('SUCCESS: 12 rules found');
    expect(check.status).toBe(0);
    const rules = readFileSync(join(deploy, 'prometheus', 'alerts.yml'), 'utf8');
    for (const metric of [
      'rater_recharges_total',
      'rater_depleted_tenants',
      'rater_consumer_lag_messages',
      'rater_dead_letters_total',
      'rater_outbox_backlog_events',
      'rater_stuck_partitions',
      'rater_payments_pending_oldest_age_seconds',
      'rater_retries_total{stage="replicas"}',
      'rater_sessions_swept_total{outcome="expired"}',
    ]) {
      expect(rules).toContain(metric);
    }
  });

  it('pages for a payment pending longer than 15 minutes, not for one the reconciler is about to settle', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rater-rules-'));
    try {
      const series = (values: string) => [
        { series: 'rater_payments_pending_oldest_age_seconds{instance="a"}', values },
        { series: 'rater_payments_pending_oldest_age_seconds{instance="b"}', values },
      ];
      const test = {
        rule_files: [join(deploy, 'prometheus', 'alerts.yml')],
        evaluation_interval: '1m',
        tests: [
          {
            // Pending since 10 minutes before the start: past 900 s at 5m, held 5 minutes.
            interval: '1m',
            input_series: series('600+60x30'),
            alert_rule_test: [
              { eval_time: '8m', alertname: 'RaterPaymentPendingTooLong', exp_alerts: [] },
              {
                eval_time: '12m',
                alertname: 'RaterPaymentPendingTooLong',
                exp_alerts: [
                  {
                    exp_labels: { severity: 'warning' },
                    exp_annotations: {
                      summary: 'A purchase or auto-recharge has been pending for 22m 0s',
                      description:
                        'The card may have been charged without a lot. Check that a reconciler role runs, its log, and `rater payments report`.',
                    },
                  },
                ],
              },
            ],
          },
          {
            // Settled within a minute each time: never pages.
            interval: '1m',
            input_series: series('0 60 0 60 0 60 0 60 0 60 0 60 0 60 0 60 0 60 0 60'),
            alert_rule_test: [{ eval_time: '19m', alertname: 'RaterPaymentPendingTooLong', exp_alerts: [] }],
          },
        ],
      };
      writeFileSync(join(dir, 'test.yml'), JSON.stringify(test));
      const run = spawnSync('promtool', ['test', 'rules', join(dir, 'test.yml')], { encoding: 'utf8' });
      expect([run.status, run.stdout + run.stderr]).toEqual([0, expect.stringContaining('SUCCESS')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('warns when call sessions keep expiring without an end (a switch stopped talking), not for one now and then', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rater-rules-'));
    const expired = (instance: string, values: string) => ({
      series: `rater_sessions_swept_total{outcome="expired",instance="${instance}"}`,
      values,
    });
    try {
      const test = {
        rule_files: [join(deploy, 'prometheus', 'alerts.yml')],
        evaluation_interval: '1m',
        tests: [
          {
            // A switch stops at 11m: its 20 sessions expire together on instance a. Over the
            // threshold from 11m (2 a minute over 10 minutes), held 5 minutes, gone once the
            // burst has left the 10-minute window.
            interval: '1m',
            input_series: [expired('a', '3x10 23x30'), expired('b', '3x40')],
            alert_rule_test: [
              { eval_time: '10m', alertname: 'RaterSessionsExpiring', exp_alerts: [] },
              { eval_time: '14m', alertname: 'RaterSessionsExpiring', exp_alerts: [] },
              {
                eval_time: '17m',
                alertname: 'RaterSessionsExpiring',
                exp_alerts: [
                  {
                    exp_labels: { severity: 'warning' },
                    exp_annotations: {
                      summary: '2.0 call sessions a minute expire without an end',
                      description:
                        'A switch stopped renewing or ending its call sessions (down, cut off from the API, or its credentials refused). Check the switches and the API; look at GET /v1/tenants/{id}/sessions of the tenants concerned.',
                    },
                  },
                ],
              },
              { eval_time: '25m', alertname: 'RaterSessionsExpiring', exp_alerts: [] },
            ],
          },
          {
            // A call dropped without its end every 5 minutes: never warns.
            interval: '1m',
            input_series: [expired('a', '0+0.2x60')],
            alert_rule_test: [{ eval_time: '60m', alertname: 'RaterSessionsExpiring', exp_alerts: [] }],
          },
        ],
      };
      writeFileSync(join(dir, 'test.yml'), JSON.stringify(test));
      const run = spawnSync('promtool', ['test', 'rules', join(dir, 'test.yml')], { encoding: 'utf8' });
      expect([run.status, run.stdout + run.stderr]).toEqual([0, expect.stringContaining('SUCCESS')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has a dashboard whose every query names a metric the service exposes', async () => {
    const dashboard = JSON.parse(readFileSync(join(deploy, 'grafana', 'rater-dashboard.json'), 'utf8')) as {
      panels: { targets: { expr: string }[] }[];
    };
    const env = {
      ...stackEnv(testStack()),
      HTTP_PORT: '0',
      RATER_ROLES: 'api',
      PAYMENT_GATEWAY: 'none',
      REDIS_KEY_PREFIX: `${uniqueName('d')}:`,
    };
    const app: App = await startApp(loadConfig(env), {
      pricer: new FlatPricer(),
      logger: pino({ level: 'silent' }),
    });
    try {
      const text = await (await fetch(`${app.url}/metrics`)).text();
      for (const expr of dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr))) {
        const metric = /rater_[a-z_]+/.exec(expr)![0].replace(/_bucket$/, '');
        expect([metric, text.includes(`# TYPE ${metric} `)]).toEqual([metric, true]);
      }

      const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(lint.stdout + lint.stderr).toBe('');
      expect(lint.status).toBe(0);
    } finally {
      await app.stop();
    }
  });
});

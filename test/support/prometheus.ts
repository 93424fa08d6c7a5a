import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../tools/stack/processes';
import { projectRoot } from '../../tools/stack/toolchain';
import { uniqueName } from './stack';
import { eventually } from './wait';

export interface PrometheusAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
  value: string;
}

/** A real Prometheus (Debian's package) scraping the given targets with the given rules. */
export interface RunningPrometheus {
  url: string;
  /** Active alerts, from Prometheus's own API. */
  alerts(): Promise<PrometheusAlert[]>;
  stop(): Promise<void>;
}

/**
 * The shipped alert rules with the `for:` of the named alerts replaced, so a test need not
 * wait out a production hold time (the rule's expression is the shipped one, untouched).
 */
export function rulesWithHoldTime(file: string, holds: Record<string, string>): string {
  let text = readFileSync(file, 'utf8');
  for (const [alert, hold] of Object.entries(holds)) {
    const rule = new RegExp(`(- alert: ${alert}\\n(?:(?!\\s*- alert:).*\\n)*?\\s*for: )\\S+`);
    if (!rule.test(text)) throw new Error(`no rule ${alert} with a for: in ${file}`);
    text = text.replace(rule, `$1${hold}`);
  }
  return text;
}

export async function startPrometheus(options: {
  targets: string[];
  rules: string;
  job?: string;
  intervalSeconds?: number;
}): Promise<RunningPrometheus> {
  const dir = join(projectRoot, '.cache', 'prometheus', uniqueName('p'));
  mkdirSync(dir, { recursive: true });
  const interval = `${options.intervalSeconds ?? 1}s`;
  writeFileSync(join(dir, 'rules.yml'), options.rules);
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global:',
      `  scrape_interval: ${interval}`,
      `  evaluation_interval: ${interval}`,
      'rule_files: [rules.yml]',
      'scrape_configs:',
      `  - job_name: ${options.job ?? 'rater'}`,
      `    scrape_timeout: ${interval}`,
      `    static_configs: [{ targets: [${options.targets.map((t) => `'${t}'`).join(', ')}] }]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
        expect((await fetch(`${url}/-/ready`)).status).toBe(200);
      },
      60_000,
      250,
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    url,
    async alerts() {
      const body = (await (await fetch(`${url}/api/v1/alerts`)).json()) as {
        data: { alerts: PrometheusAlert[] };
      };
      return body.data.alerts;
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

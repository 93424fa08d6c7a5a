import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { loadConfig } from '../../src/config';
import { helmBinary } from '../../tools/stack/toolchain';

const root = join(__dirname, '..', '..');
const chart = join(root, 'deploy', 'helm', 'rater');
const kubernetesValidate = join(root, '.cache', 'helm-venv', 'bin', 'kubernetes-validate');
const OPERATOR_SHA = 'a'.repeat(64);

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  stringData?: Record<string, string>;
}
interface Container {
  env: { name: string; value: string }[];
  livenessProbe: { httpGet: { path: string } };
  readinessProbe: { httpGet: { path: string } };
  volumeMounts: { name: string; mountPath: string }[];
}
const container = (deployment: K8sObject) =>
  (deployment.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers[0]!;

describe('the Helm chart (deploy/helm/rater), checked by helm lint, helm template and the Kubernetes schemas', () => {
  let helm: string;
  let dir: string;

  beforeAll(() => {
    helm = helmBinary();
    dir = mkdtempSync(join(tmpdir(), 'helm-'));
  }, 900_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (args: string[]) =>
    spawnSync(helm, args, {
      encoding: 'utf8',
      env: { ...process.env, HELM_CACHE_HOME: dir, HELM_CONFIG_HOME: dir, HELM_DATA_HOME: dir },
    });
  const template = (...set: string[]) => {
    const result = run(['template', 'rater', chart, ...set.flatMap((s) => ['--set', s])]);
    return {
      ...result,
      objects:
        result.status === 0
          ? parseAllDocuments(result.stdout)
              .map((d) => d.toJS() as K8sObject)
              .filter(Boolean)
          : [],
    };
  };

  it('passes helm lint --strict', () => {
    const lint = run(['lint', '--strict', chart, '--set', `config.OPERATOR_TOKEN_SHA256=${OPERATOR_SHA}`]);
    expect(lint.stdout + lint.stderr).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(lint.status).toBe(0);
  });

  it('renders each role as a Deployment with probes, secrets as files, PDBs, the ServiceMonitor and the alert rules', () => {
    const rendered = template(
      `config.OPERATOR_TOKEN_SHA256=${OPERATOR_SHA}`,
      'secrets.values.STRIPE_API_KEY=sk_test_chart',
      'secrets.values.REDIS_PASSWORD=s3cret',
    );
    expect(rendered.status).toBe(0);
    // The chart's alert rules are a link to deploy/prometheus/alerts.yml, which Helm notes.
    expect(
      rendered.stderr.split('\n').filter((line) => line && !line.includes('found symbolic link')),
    ).toEqual([]);
    const { objects } = rendered;
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(
      ['api', 'consumer', 'notifier', 'recharge', 'reconciler', 'relay', 'sweeper'].map(
        (role) => `rater-${role}`,
      ),
    );
    for (const deployment of deployments) {
      const role = deployment.metadata.name.replace('rater-', '');
      const c = container(deployment);
      const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
      expect(env).toMatchObject({
        RATER_ROLES: role,
        KAFKA_BROKERS: 'kafka:9092',
        OPERATOR_TOKEN_SHA256: OPERATOR_SHA,
        STRIPE_API_KEY_FILE: '/run/secrets/rater/STRIPE_API_KEY',
        REDIS_PASSWORD_FILE: '/run/secrets/rater/REDIS_PASSWORD',
      });
      // A secret is a file, never a value in the environment.
      expect(env.STRIPE_API_KEY).toBeUndefined();
      expect(JSON.stringify(c.env)).not.toContain('s3cret');
      expect(c.livenessProbe.httpGet.path).toBe('/healthz');
      expect(c.readinessProbe.httpGet.path).toBe('/readyz');
      expect(c.volumeMounts).toContainEqual(
        expect.objectContaining({ name: 'secrets', mountPath: '/run/secrets/rater' }),
      );
    }
    const secret = objects.find((o) => o.kind === 'Secret')!;
    expect(secret.stringData).toEqual({ REDIS_PASSWORD: 's3cret', STRIPE_API_KEY: 'sk_test_chart' });
    expect(
      objects
        .filter((o) => o.kind === 'PodDisruptionBudget')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['rater-api', 'rater-consumer']);
    expect(objects.find((o) => o.kind === 'ServiceMonitor')!.spec).toMatchObject({
      endpoints: [{ port: 'http', path: '/metrics' }],
    });
    const alerts = parse(readFileSync(join(root, 'deploy', 'prometheus', 'alerts.yml'), 'utf8')) as {
      groups: unknown;
    };
    expect(objects.find((o) => o.kind === 'PrometheusRule')!.spec).toEqual({ groups: alerts.groups });
  });

  it("gives every role an environment the service's own configuration accepts", () => {
    const { objects } = template(
      `config.OPERATOR_TOKEN_SHA256=${OPERATOR_SHA}`,
      'secrets.values.STRIPE_API_KEY=sk_test_chart',
    );
    const secrets = join(dir, 'secrets');
    spawnSync('mkdir', ['-p', secrets]);
    writeFileSync(join(secrets, 'STRIPE_API_KEY'), 'sk_test_chart\n');
    for (const deployment of objects.filter((o) => o.kind === 'Deployment')) {
      const env = Object.fromEntries(
        container(deployment).env.map((e) => [e.name, e.value.replace('/run/secrets/rater', secrets)]),
      );
      expect(() => loadConfig(env)).not.toThrow();
    }
  });

  it('validates against the Kubernetes schemas (kubernetes-validate --strict)', () => {
    const { objects } = template(
      `config.OPERATOR_TOKEN_SHA256=${OPERATOR_SHA}`,
      'secrets.values.STRIPE_API_KEY=sk_test_chart',
    );
    // The Prometheus Operator's kinds are custom resources, outside the Kubernetes schemas.
    const core = objects.filter((o) => !o.apiVersion.startsWith('monitoring.coreos.com/'));
    expect(core.map((o) => o.kind).sort()).toEqual([
      ...Array(7).fill('Deployment'),
      'PodDisruptionBudget',
      'PodDisruptionBudget',
      'Secret',
      'Service',
      'Service',
    ]);
    const file = join(dir, 'rendered.yaml');
    writeFileSync(file, core.map((o) => JSON.stringify(o)).join('\n---\n'));
    const check = spawnSync(kubernetesValidate, ['--strict', '-k', '1.33.0', file], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    // A broken object is refused: the check can fail.
    writeFileSync(file, JSON.stringify({ ...core[0], spec: { ...core[0]!.spec, replicas: 'two' } }));
    expect(
      spawnSync(kubernetesValidate, ['--strict', '-k', '1.33.0', file], { encoding: 'utf8' }).status,
    ).not.toBe(0);
  });

  it('refuses more consumers than partitions, and a role the service does not have', () => {
    const tooMany = template('roles.consumer.replicas=7');
    expect(tooMany.status).not.toBe(0);
    expect(tooMany.stderr).toContain('roles.consumer.replicas (7) is more than kafkaPartitions (6)');
    const unknown = template('roles.billing.enabled=true');
    expect(unknown.stderr).toContain('roles.billing: not a role of the service');
  });
});

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const projectRoot = resolve(__dirname, '..', '..');
export const cacheDir = process.env.RATER_STACK_CACHE ?? join(projectRoot, '.cache', 'stack');

export const KAFKA_VERSION = '4.1.1';
export const APICURIO_VERSION = '3.3.3';
export const STRIPE_MOCK_VERSION = '0.203.0';

function javaMajor(java: string): number {
  const out = spawnSync(java, ['-version'], { encoding: 'utf8' });
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${out.stderr ?? ''}${out.stdout ?? ''}`);
  if (!match) return 0;
  const first = Number(match[1]);
  return first === 1 ? Number(match[2]) : first;
}

/**
 * A Java runtime of at least `minMajor`: $JAVA_HOME, then `java` on PATH, then the JDKs
 * under /usr/lib/jvm (Debian's and Temurin's), newest last so the default one wins ties.
 */
export function findJava(minMajor: number, purpose: string): string {
  const candidates: string[] = [];
  if (process.env.JAVA_HOME) candidates.push(join(process.env.JAVA_HOME, 'bin', 'java'));
  candidates.push('java');
  const jvmDir = '/usr/lib/jvm';
  if (existsSync(jvmDir)) {
    for (const entry of readdirSync(jvmDir).sort()) candidates.push(join(jvmDir, entry, 'bin', 'java'));
  }
  for (const java of candidates) {
    if (java !== 'java' && !existsSync(java)) continue;
    if (javaMajor(java) >= minMajor) return java;
  }
  throw new Error(
    `${purpose} needs Java ${minMajor} or newer; none found in $JAVA_HOME, on PATH or under ${jvmDir}`,
  );
}

function mvn(args: string[]): void {
  const result = spawnSync('mvn', ['-B', '-q', ...args], { cwd: projectRoot, encoding: 'utf8' });
  if (result.error) throw new Error(`could not run Maven (mvn): ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(
      `mvn ${args.join(' ')} failed with exit ${result.status}:\n${result.stdout}${result.stderr}`,
    );
  }
}

/** The Kafka broker's classpath directory, fetched from Maven Central on first use. */
export function kafkaLibs(): string {
  const libs = join(cacheDir, `kafka-${KAFKA_VERSION}`, 'libs');
  if (!existsSync(join(libs, `kafka_2.13-${KAFKA_VERSION}.jar`))) {
    console.error(`stack: fetching Apache Kafka ${KAFKA_VERSION} from Maven Central`);
    mvn([
      '-f',
      'stack/kafka/pom.xml',
      `-Dkafka.version=${KAFKA_VERSION}`,
      'dependency:copy-dependencies',
      `-DoutputDirectory=${libs}`,
    ]);
  }
  return libs;
}

/** Apicurio Registry's unpacked Quarkus application, fetched from Maven Central on first use. */
export function apicurioHome(): string {
  const home = join(cacheDir, `apicurio-${APICURIO_VERSION}`);
  if (!existsSync(join(home, 'quarkus-run.jar'))) {
    console.error(`stack: fetching Apicurio Registry ${APICURIO_VERSION} from Maven Central`);
    mvn([
      '-f',
      'stack/schema-registry/pom.xml',
      `-Dapicurio.version=${APICURIO_VERSION}`,
      `-Dapicurio.dir=${home}`,
      'dependency:unpack',
    ]);
  }
  return home;
}

/** redis-server from the system (Debian's package `redis-server`). */
export function redisServer(): string {
  const binary = process.env.REDIS_SERVER ?? 'redis-server';
  const out = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  if (out.error || out.status !== 0) {
    throw new Error(`redis-server not found (${binary}); install it with: apt-get install -y redis-server`);
  }
  return binary;
}

/**
 * stripe-mock (Stripe's mock of its API, a Go module), built on first use with the Go
 * toolchain from the Go module proxy into the cache.
 */
export function stripeMockBinary(): string {
  const bin = join(cacheDir, `stripe-mock-${STRIPE_MOCK_VERSION}`, 'bin');
  const binary = join(bin, 'stripe-mock');
  if (!existsSync(binary)) {
    console.error(`stack: building stripe-mock ${STRIPE_MOCK_VERSION} with the Go toolchain`);
    const result = spawnSync('go', ['install', `github.com/stripe/stripe-mock@v${STRIPE_MOCK_VERSION}`], {
      cwd: projectRoot,
      env: { ...process.env, GOBIN: bin, GOFLAGS: '-mod=mod' },
      encoding: 'utf8',
    });
    if (result.error) throw new Error(`stripe-mock needs the Go toolchain (go): ${result.error.message}`);
    if (result.status !== 0 || !existsSync(binary))
      throw new Error(
        `go install stripe-mock failed with exit ${result.status}:\n${result.stdout}${result.stderr}`,
      );
  }
  return binary;
}

/** Helm 4, for the chart's checks (deploy/helm/rater): built like stripe-mock, from the Go module proxy. */
export const HELM_VERSION = '4.3.2';

export function helmBinary(): string {
  const bin = join(cacheDir, `helm-${HELM_VERSION}`, 'bin');
  const binary = join(bin, 'helm');
  if (!existsSync(binary)) {
    console.error(`stack: building helm ${HELM_VERSION} with the Go toolchain`);
    const result = spawnSync('go', ['install', `helm.sh/helm/v4/cmd/helm@v${HELM_VERSION}`], {
      cwd: projectRoot,
      env: { ...process.env, GOBIN: bin, GOFLAGS: '-mod=mod' },
      encoding: 'utf8',
    });
    if (result.error) throw new Error(`helm needs the Go toolchain (go): ${result.error.message}`);
    if (result.status !== 0 || !existsSync(binary))
      throw new Error(`go install helm failed with exit ${result.status}:\n${result.stdout}${result.stderr}`);
  }
  return binary;
}

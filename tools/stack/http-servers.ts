/** The stack's HTTP services: the schema registry (Apicurio) and stripe-mock. */
import { mkdirSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { apicurioHome, findJava, stripeMockBinary } from './toolchain';
import { freePort, ManagedProcess, startDaemon, waitUntil } from './processes';

const READY_TIMEOUT_MS = 60_000;

export interface RegistryNode {
  proc: ManagedProcess;
  /** Base URL of the Confluent-compatible API. */
  url: string;
}

/**
 * Apicurio Registry with its schemas in an H2 file database in the stack directory, so a
 * restart keeps every schema id; the Confluent API is served under /apis/ccompat/v7.
 */
export async function startSchemaRegistry(dir: string): Promise<RegistryNode> {
  const home = join(dir, 'schema-registry');
  mkdirSync(home, { recursive: true });
  const [port, managementPort] = [await freePort(), await freePort()];
  const java = findJava(21, `Apicurio Registry`);
  const jar = join(apicurioHome(), 'quarkus-run.jar');
  const proc = startDaemon(
    'schema-registry',
    java,
    [
      '-Xmx384m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      `-Drater.stack=${dir}`,
      '-Dquarkus.http.host=127.0.0.1',
      `-Dquarkus.http.port=${port}`,
      // The management interface is built in; it gets a loopback port of its own.
      '-Dquarkus.management.host=127.0.0.1',
      `-Dquarkus.management.port=${managementPort}`,
      '-Dquarkus.log.console.color=false',
      '-Dapicurio.storage.kind=sql',
      '-Dapicurio.storage.sql.kind=h2',
      // The default is an in-memory database: a restart would forget every schema id, and the
      // records written with them would be undecodable.
      `-Dapicurio.datasource.url=jdbc:h2:file:${join(home, 'data', 'registry')}`,
      '-jar',
      jar,
    ],
    { cwd: home, log: join(home, 'registry.log'), marker: `-Drater.stack=${dir}` },
  );
  const url = `http://127.0.0.1:${port}/apis/ccompat/v7`;
  await waitForSchemaRegistry(url, proc);
  return { proc, url };
}

export async function waitForSchemaRegistry(url: string, proc?: ManagedProcess): Promise<void> {
  await waitUntil('schema registry', () => httpOk(`${url}/subjects`), { timeoutMs: READY_TIMEOUT_MS, proc });
}

export interface StripeMockNode {
  proc: ManagedProcess;
  /** Base URL of its Stripe API (plain HTTP on loopback). */
  url: string;
}

/**
 * stripe-mock on free loopback ports (the stack uses its HTTP one). It validates requests against Stripe's
 * OpenAPI document and answers its fixtures; it keeps no state (tools/stack/stripe-test-proxy.ts
 * adds what the tests need of Stripe's behaviour).
 */
export async function startStripeMock(dir: string): Promise<StripeMockNode> {
  const home = join(dir, 'stripe-mock');
  mkdirSync(home, { recursive: true });
  const [port, httpsPort] = [await freePort(), await freePort()];
  const address = `127.0.0.1:${port}`;
  // -http-addr alone still opens HTTPS on its fixed default port (12112), which a second stack
  // would find taken: it gets a free loopback port of its own.
  const args = ['-http-addr', address, '-https-addr', `127.0.0.1:${httpsPort}`];
  const proc = startDaemon('stripe-mock', stripeMockBinary(), args, {
    cwd: home,
    log: join(home, 'stripe-mock.log'),
    marker: address,
  });
  const url = `http://${address}`;
  await waitForStripeMock(url, proc);
  return { proc, url };
}

export async function waitForStripeMock(url: string, proc?: ManagedProcess): Promise<void> {
  // Any answer of its API (a 401 without a key) means it is serving.
  await waitUntil('stripe-mock', () => httpAnswers(`${url}/v1/customers`), {
    timeoutMs: READY_TIMEOUT_MS,
    proc,
  });
}

function httpAnswers(url: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent: false, timeout: 2000 }, (response) => {
      response.resume();
      resolve((response.statusCode ?? 0) > 0);
    });
    request.on('timeout', () => request.destroy(new Error(`${url}: no answer in 2000 ms`)));
    request.on('error', reject);
  });
}

/** A GET without keep-alive: a pooled socket would keep the caller's process alive for seconds. */
function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent: false, timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('timeout', () => request.destroy(new Error(`${url}: no answer in 2000 ms`)));
    request.on('error', reject);
  });
}

import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { findJava, kafkaLibs, redisServer } from './toolchain';
import { freePort, ManagedProcess, startDaemon, waitUntil } from './processes';

const READY_TIMEOUT_MS = 60_000;

export interface KafkaNode {
  proc: ManagedProcess;
  /** The PLAINTEXT listener (inter-broker, and the stack's own tools). */
  brokers: string[];
  /** With `secured`: the SASL_SSL listener. */
  securedBrokers?: string[];
}

/**
 * A user the secured listeners and servers know, the server certificate they present, and the
 * CA a client's certificate must be signed by.
 */
export interface StackSecurity {
  username: string;
  password: string;
  /** PEM of the CA: the secured listeners require a client certificate it signed. */
  caFile: string;
  /** PEM: the server's key and certificate (Redis), the two in one file (Kafka's PEM keystore). */
  certFile: string;
  keyFile: string;
  keystoreFile: string;
}

/**
 * Kafka's SASL_SSL listener: TLS with the stack's server certificate, a client certificate
 * signed by the stack's CA required (mutual TLS, before SASL), and the user known to
 * SCRAM-SHA-256 and SCRAM-SHA-512 (credentials written into the metadata log by the storage
 * format, Kafka's own tool) and to PLAIN (the listener's JAAS configuration).
 */
function saslSslListener(security: StackSecurity): string[] {
  const prefix = 'listener.name.sasl_ssl';
  const { username, password } = security;
  const scram = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
  return [
    'sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN',
    `${prefix}.sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN`,
    `${prefix}.scram-sha-256.sasl.jaas.config=${scram}`,
    `${prefix}.scram-sha-512.sasl.jaas.config=${scram}`,
    `${prefix}.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_${username}="${password}";`,
    `${prefix}.ssl.keystore.type=PEM`,
    `${prefix}.ssl.keystore.location=${security.keystoreFile}`,
    `${prefix}.ssl.client.auth=required`,
    `${prefix}.ssl.truststore.type=PEM`,
    `${prefix}.ssl.truststore.location=${security.caFile}`,
  ];
}

/**
 * One combined broker+controller KRaft node on loopback, storage formatted fresh; with
 * `security` also a SASL_SSL listener for clients.
 */
export async function startKafka(dir: string, security?: StackSecurity): Promise<KafkaNode> {
  const home = join(dir, 'kafka');
  mkdirSync(home, { recursive: true });
  const [port, controllerPort] = [await freePort(), await freePort()];
  const securedPort = security ? await freePort() : undefined;
  const secured = securedPort ? `,SASL_SSL://127.0.0.1:${securedPort}` : '';
  const java = findJava(17, 'Apache Kafka');
  const classpath = `${kafkaLibs()}/*`;
  const properties = join(home, 'server.properties');
  writeFileSync(
    properties,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.bootstrap.servers=127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port}${secured},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}${secured}`,
      'controller.listener.names=CONTROLLER',
      `listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${security ? ',SASL_SSL:SASL_SSL' : ''}`,
      ...(security ? saslSslListener(security) : []),
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${join(home, 'data')}`,
      // Topics are created on purpose by the service and the tests, never by a typo.
      'auto.create.topics.enable=false',
      'num.partitions=3',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=4',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=4',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      '',
    ].join('\n'),
  );
  const log4j = join(home, 'log4j2.properties');
  writeFileSync(
    log4j,
    [
      'rootLogger.level=WARN',
      'rootLogger.appenderRef.out.ref=out',
      'appender.out.type=Console',
      'appender.out.name=out',
      'appender.out.layout.type=PatternLayout',
      'appender.out.layout.pattern=[%d] %p %m (%c)%n',
      'logger.server.name=kafka.server.KafkaRaftServer',
      'logger.server.level=INFO',
      '',
    ].join('\n'),
  );
  const jvm = ['-Xms256m', '-Xmx768m', `-Dlog4j2.configurationFile=${log4j}`, `-Drater.stack=${dir}`];
  const format = spawnSync(
    java,
    [
      ...jvm,
      '-cp',
      classpath,
      'kafka.tools.StorageTool',
      'format',
      '--standalone',
      '--ignore-formatted',
      '-t',
      randomUUID(),
      '-c',
      properties,
      ...(security
        ? ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((mechanism) => [
            '--add-scram',
            `${mechanism}=[name=${security.username},password=${security.password}]`,
          ])
        : []),
    ],
    { encoding: 'utf8' },
  );
  if (format.status !== 0) {
    throw new Error(`Kafka storage format failed:\n${format.stderr}${format.stdout}`);
  }
  const proc = startDaemon('kafka', java, [...jvm, '-cp', classpath, 'kafka.Kafka', properties], {
    cwd: home,
    log: join(home, 'kafka.log'),
    marker: `-Drater.stack=${dir}`,
  });
  const brokers = [`127.0.0.1:${port}`];
  await waitForKafka(brokers, proc);
  return { proc, brokers, ...(securedPort ? { securedBrokers: [`127.0.0.1:${securedPort}`] } : {}) };
}

/** Ready means what a client needs: an admin client connects and lists topics. */
export async function waitForKafka(brokers: string[], proc?: ManagedProcess): Promise<void> {
  await waitUntil(
    'Kafka',
    async () => {
      const kafka = new Kafka({
        clientId: 'stack-probe',
        brokers,
        logLevel: logLevel.NOTHING,
        retry: { retries: 0 },
        connectionTimeout: 1000,
      });
      const admin = kafka.admin();
      try {
        await admin.connect();
        await admin.listTopics();
        // Asking for a group makes the broker create its offsets topic now, so the first
        // consumer group of a test or the demo does not wait for the coordinator.
        await admin.describeGroups(['stack-probe']);
        // And an idempotent producer's first InitProducerId, which waits for its coordinator.
        const producer = kafka.producer({ idempotent: true, retry: { retries: 5 } });
        await producer.connect();
        await producer.disconnect();
        return true;
      } finally {
        await admin.disconnect();
      }
    },
    { timeoutMs: READY_TIMEOUT_MS, proc },
  );
}

export interface RedisNode {
  proc: ManagedProcess;
  host: string;
  port: number;
  /** With `security`: the TLS port. */
  tlsPort?: number;
}

/** A Redis user (ACL) that a client logs in as. */
export interface RedisLogin {
  username: string;
  password: string;
  /** PEM file of the CA that signed the node's certificate: the node is reached over TLS. */
  tlsCaFile?: string;
  /** PEM files of the client certificate and key presented over TLS (the nodes require one). */
  tlsCertFile?: string;
  tlsKeyFile?: string;
}

/**
 * Redis with TLS on a port of its own (the server certificate; a client certificate signed by
 * the stack's CA required) and ACL: the default user off, the stack's user allowed everything.
 */
function redisSecurity(security: StackSecurity, tlsPort: number): string[] {
  return [
    `tls-port ${tlsPort}`,
    `tls-cert-file ${security.certFile}`,
    `tls-key-file ${security.keyFile}`,
    `tls-ca-cert-file ${security.caFile}`,
    'tls-auth-clients yes',
    'user default off',
    `user ${security.username} on >${security.password} ~* &* +@all`,
  ];
}

/**
 * A private redis-server: loopback only, append-only file on, data in the stack directory;
 * with `security` also TLS and an ACL user.
 */
export async function startRedis(dir: string, security?: StackSecurity): Promise<RedisNode> {
  const home = join(dir, 'redis');
  mkdirSync(join(home, 'data'), { recursive: true });
  const port = await freePort();
  const tlsPort = security ? await freePort() : undefined;
  const conf = join(home, 'redis.conf');
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      'protected-mode yes',
      `dir ${join(home, 'data')}`,
      'appendonly yes',
      'appendfsync always',
      'save ""',
      'daemonize no',
      'logfile ""',
      // The config path in the process title lets `down` recognise this server by PID.
      'proc-title-template "{title} {listen-addr} {config-file}"',
      ...(security ? redisSecurity(security, tlsPort!) : []),
      '',
    ].join('\n'),
  );
  const proc = startDaemon('redis', redisServer(), [conf], {
    cwd: home,
    log: join(home, 'redis.log'),
    marker: conf,
  });
  await waitForRedis('127.0.0.1', port, proc, security);
  return { proc, host: '127.0.0.1', port, ...(tlsPort ? { tlsPort } : {}) };
}

/** A short-lived client of one Redis node that gives up at once when it cannot connect. */
export async function withNode<T>(
  host: string,
  port: number,
  use: (client: Redis) => Promise<T>,
  login?: RedisLogin,
): Promise<T> {
  const client = new Redis({
    host,
    port,
    ...(login ? { username: login.username, password: login.password } : {}),
    ...(login?.tlsCaFile
      ? {
          tls: {
            ca: readFileSync(login.tlsCaFile, 'utf8'),
            ...(login.tlsCertFile
              ? {
                  cert: readFileSync(login.tlsCertFile, 'utf8'),
                  key: readFileSync(login.tlsKeyFile!, 'utf8'),
                }
              : {}),
          },
        }
      : {}),
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1_000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await use(client);
  } finally {
    client.disconnect();
  }
}

export async function waitForRedis(
  host: string,
  port: number,
  proc?: ManagedProcess,
  login?: RedisLogin,
): Promise<void> {
  await waitUntil(
    'Redis',
    () => withNode(host, port, async (client) => (await client.ping()) === 'PONG', login),
    { timeoutMs: READY_TIMEOUT_MS, proc },
  );
}

export * from './http-servers';

import { Kafka, KafkaConfig, logCreator, logLevel, SASLOptions } from 'kafkajs';

/** How the service reaches the brokers: the connection part of the configuration (KAFKA_*). */
export interface KafkaConnection {
  brokers: string[];
  clientId: string;
  /** TLS (the SSL or SASL_SSL protocol); without a CA the system's trusted roots. */
  ssl: boolean;
  sslCa?: string;
  sslCert?: string;
  sslKey?: string;
  saslMechanism?: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  saslUsername?: string;
  saslPassword?: string;
}

/** The kafkajs `ssl` and `sasl` options of a connection. */
export function kafkaSecurity(connection: KafkaConnection): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const { ssl, sslCa, sslCert, sslKey, saslMechanism, saslUsername, saslPassword } = connection;
  const tls = ssl ? { ssl: sslCa || sslCert ? { ca: sslCa, cert: sslCert, key: sslKey } : true } : {};
  if (!saslMechanism) return tls;
  const sasl = { mechanism: saslMechanism, username: saslUsername!, password: saslPassword! } as SASLOptions;
  return { ...tls, sasl };
}

/**
 * kafkajs gives a connection 1 s by default; a TLS handshake and a SASL exchange with a
 * managed broker across a network (or a JVM broker still warming up) can take longer.
 */
const TLS_CONNECTION_TIMEOUT_MS = 5_000;

/** What kafkajs's log lines go to: the service's own logger (pino's methods), not the console. */
export interface KafkaLogSink {
  error(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  info(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

/**
 * kafkajs's log entries as lines of the service's log (`logger: kafkajs` and the entry's own
 * fields), at their level: a refused connection is one warn or error line in the service's format,
 * and a logger that is off (the tests') keeps them off the console.
 */
export function kafkaLogCreator(sink: KafkaLogSink): logCreator {
  return () =>
    ({ level, log }) => {
      const { message, ...fields } = log;
      const line = { logger: 'kafkajs', ...fields };
      if (level === logLevel.ERROR) sink.error(line, message);
      else if (level === logLevel.WARN) sink.warn(line, message);
      else if (level === logLevel.INFO) sink.info(line, message);
      else sink.debug(line, message);
    };
}

/** A kafkajs client of the configured brokers, with their TLS and SASL settings. */
export function kafkaClient(
  connection: KafkaConnection,
  options: { clientId?: string; logLevel?: logLevel; logSink?: KafkaLogSink } = {},
): Kafka {
  return new Kafka({
    clientId: options.clientId ?? connection.clientId,
    brokers: connection.brokers,
    logLevel: options.logLevel ?? logLevel.WARN,
    ...(options.logSink ? { logCreator: kafkaLogCreator(options.logSink) } : {}),
    ...(connection.ssl ? { connectionTimeout: TLS_CONNECTION_TIMEOUT_MS } : {}),
    ...kafkaSecurity(connection),
  });
}

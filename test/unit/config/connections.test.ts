import {
  KafkaJSConnectionError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSSASLAuthenticationError,
} from 'kafkajs';
import { explainKafkaConnectError, explainRedisConnectError } from '../../../src/config/connection-errors';
import { kafkaSecurity } from '../../../src/kafka/kafka-client';

const plain = { brokers: ['b:9092'], clientId: 'rater', ssl: false };

describe('kafkaSecurity', () => {
  it('is plaintext by default, TLS with the system roots or the given CA, SASL when named', () => {
    expect(kafkaSecurity(plain)).toEqual({});
    expect(kafkaSecurity({ ...plain, ssl: true })).toEqual({ ssl: true });
    expect(kafkaSecurity({ ...plain, ssl: true, sslCa: 'CA', sslCert: 'C', sslKey: 'K' })).toEqual({
      ssl: { ca: 'CA', cert: 'C', key: 'K' },
    });
    expect(
      kafkaSecurity({
        ...plain,
        ssl: true,
        saslMechanism: 'scram-sha-256',
        saslUsername: 'u',
        saslPassword: 'p',
      }),
    ).toEqual({ ssl: true, sasl: { mechanism: 'scram-sha-256', username: 'u', password: 'p' } });
  });
});

describe('connection errors', () => {
  const tlsError = (code: string) =>
    Object.assign(new Error('self-signed certificate in certificate chain'), { code });

  it('names the Kafka settings behind a refused login or an untrusted certificate', () => {
    expect(
      explainKafkaConnectError(
        Reflect.construct(KafkaJSSASLAuthenticationError, ['SASL SCRAM SHA512 authentication failed']),
      )?.message,
    ).toMatch(
      /^Kafka refused the SASL credentials \(KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD\)/,
    );
    const retried = new KafkaJSNumberOfRetriesExceeded(
      new KafkaJSConnectionError('Connection error: self-signed certificate in certificate chain', {
        code: 'SELF_SIGNED_CERT_IN_CHAIN',
      }),
      { retryCount: 5, retryTime: 1000 },
    );
    expect(explainKafkaConnectError(retried)?.message).toMatch(
      /^Kafka's TLS certificate is not trusted \(KAFKA_SSL_CA_FILE\)/,
    );
    expect(
      explainKafkaConnectError(
        new KafkaJSConnectionError('Connection error: connect ECONNREFUSED', { code: 'ECONNREFUSED' }),
      ),
    ).toBeUndefined();
  });

  it('names the Redis settings behind a refused password or an untrusted certificate', () => {
    expect(
      explainRedisConnectError(new Error('WRONGPASS invalid username-password pair or user is disabled.'))
        ?.message,
    ).toMatch(/^Redis refused the credentials \(REDIS_USERNAME, REDIS_PASSWORD\)/);
    const allFailed = Object.assign(new Error('Failed to refresh slots cache.'), {
      lastNodeError: tlsError('UNABLE_TO_VERIFY_LEAF_SIGNATURE'),
    });
    expect(explainRedisConnectError(allFailed)?.message).toMatch(/REDIS_TLS_CA_FILE/);
    expect(
      explainRedisConnectError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    ).toBeUndefined();
    expect(explainRedisConnectError(undefined)).toBeUndefined();
  });

  it('names the client certificate settings when the server refuses the certificate or wants one', () => {
    const alert = (code: string, text: string) =>
      Object.assign(new Error(`error:0A00045C:SSL routines:ssl3_read_bytes:${text}`), { code });
    // Redis (OpenSSL) without a certificate over TLS 1.3, and with one of another CA.
    for (const error of [
      alert('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'tlsv13 alert certificate required'),
      alert('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'tlsv1 alert unknown ca'),
    ])
      expect(explainRedisConnectError(error)?.message).toMatch(
        /^Redis refused the TLS client certificate, or wants one \(REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE\): .*alert/,
      );
    // Kafka (Java), after kafkajs's retries.
    const retried = new KafkaJSNumberOfRetriesExceeded(
      new KafkaJSConnectionError('Connection error: ssl/tls alert bad certificate', {
        code: 'ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE',
      }),
      { retryCount: 5, retryTime: 1000 },
    );
    expect(explainKafkaConnectError(retried)?.message).toMatch(
      /^Kafka refused the TLS client certificate, or wants one \(KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE\)/,
    );
    // A reset alone says nothing about the certificate.
    expect(
      explainRedisConnectError(Object.assign(new Error('write ECONNRESET'), { code: 'ECONNRESET' })),
    ).toBeUndefined();
  });
});

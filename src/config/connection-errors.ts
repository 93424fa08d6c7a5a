/**
 * Failures to connect that the settings cause, turned into a message that names the settings
 * to look at. Any other failure (a server that is down) is an outage, not a setting: those
 * give undefined, and the start goes on as it always did.
 */

/** Node's codes for a certificate it does not trust, or one that does not name the host. */
const UNTRUSTED_CERTIFICATE_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * The TLS alerts a server sends when it refuses the client's certificate, or wants one and got
 * none, as Node names them (`ERR_SSL_` and OpenSSL's alert): OpenSSL servers (Redis) say
 * `certificate required` (TLS 1.3) or `unknown ca`; Java's (Kafka) say `bad certificate` or
 * `certificate unknown`.
 */
const REFUSED_CLIENT_CERTIFICATE =
  /^ERR_SSL_.*ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|UNSUPPORTED_CERTIFICATE)$/;

type Link = Error & { code?: string };

const isError = (value: unknown): value is Link =>
  typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string';

/** The error and what it wraps: `cause`, kafkajs's `originalError`, ioredis's `lastNodeError`. */
function errorChain(error: unknown): Link[] {
  const chain: Link[] = [];
  let current = error;
  // Not `instanceof Error`: an error made by Node's own modules (a TLS failure) may come from
  // another realm than the code that asks (Jest's, a vm's).
  while (isError(current) && chain.length < 8 && !chain.includes(current)) {
    chain.push(current);
    const wrapped = current as { originalError?: unknown; lastNodeError?: unknown };
    current = wrapped.originalError ?? wrapped.lastNodeError ?? current.cause;
  }
  return chain;
}

const untrusted = (link: Link) => link.code !== undefined && UNTRUSTED_CERTIFICATE_CODES.has(link.code);
const clientCertificateRefused = (link: Link) =>
  link.code !== undefined && REFUSED_CLIENT_CERTIFICATE.test(link.code);

export function explainKafkaConnectError(error: unknown): Error | undefined {
  for (const link of errorChain(error)) {
    if (link.name === 'KafkaJSSASLAuthenticationError')
      return new Error(
        `Kafka refused the SASL credentials (KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD): ${link.message}`,
        { cause: error },
      );
    if (untrusted(link))
      return new Error(`Kafka's TLS certificate is not trusted (KAFKA_SSL_CA_FILE): ${link.message}`, {
        cause: error,
      });
    if (clientCertificateRefused(link))
      return new Error(
        `Kafka refused the TLS client certificate, or wants one (KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE): ${link.message}`,
        { cause: error },
      );
    if (link.code === 'ERR_SSL_WRONG_VERSION_NUMBER')
      return new Error(`Kafka's listener does not speak TLS (KAFKA_SSL): ${link.message}`, { cause: error });
  }
  return undefined;
}

export function explainRedisConnectError(error: unknown): Error | undefined {
  for (const link of errorChain(error)) {
    if (/\b(WRONGPASS|NOAUTH)\b/.test(link.message))
      return new Error(`Redis refused the credentials (REDIS_USERNAME, REDIS_PASSWORD): ${link.message}`, {
        cause: error,
      });
    if (untrusted(link))
      return new Error(`Redis's TLS certificate is not trusted (REDIS_TLS_CA_FILE): ${link.message}`, {
        cause: error,
      });
    if (clientCertificateRefused(link))
      return new Error(
        `Redis refused the TLS client certificate, or wants one (REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE): ${link.message}`,
        { cause: error },
      );
    if (link.code === 'ERR_SSL_WRONG_VERSION_NUMBER')
      return new Error(`Redis does not speak TLS on that port (REDIS_URL rediss://): ${link.message}`, {
        cause: error,
      });
  }
  return undefined;
}

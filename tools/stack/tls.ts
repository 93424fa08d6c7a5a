import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A certificate authority of the local stack, one server certificate and one client
 * certificate it signed, as PEM files.
 */
export interface StackCertificates {
  /** The CA's certificate: what a client trusts (KAFKA_SSL_CA_FILE, REDIS_TLS_CA_FILE). */
  caFile: string;
  /** The server's certificate (for 127.0.0.1 and localhost) and its unencrypted PKCS#8 key. */
  certFile: string;
  keyFile: string;
  /** The key and then the certificate in one file: Kafka's PEM keystore. */
  keystoreFile: string;
  /**
   * A client certificate (clientAuth only) and its unencrypted PKCS#8 key: what the service
   * presents for mutual TLS (KAFKA_SSL_CERT_FILE and _KEY_FILE, REDIS_TLS_CERT_FILE and _KEY_FILE).
   */
  clientCertFile: string;
  clientKeyFile: string;
}

function openssl(args: string[], cwd: string): void {
  const run = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (run.error) throw new Error(`openssl: ${run.error.message} (is openssl installed?)`);
  if (run.status !== 0) throw new Error(`openssl ${args[0]} failed:\n${run.stderr}`);
}

/**
 * A fresh CA, valid two days, and a server and a client certificate signed by it, made by
 * openssl in `dir`: nothing is ever trusted beyond the stack that made it.
 */
export function makeCertificates(dir: string, name = 'rater-stack'): StackCertificates {
  mkdirSync(dir, { recursive: true });
  const key = ['-newkey', 'rsa:2048', '-nodes'];
  openssl(
    [
      'req',
      '-x509',
      ...key,
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      `/CN=${name} CA`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  const sign = (leaf: string, subject: string, extensions: string) => {
    openssl(['req', ...key, '-keyout', `${leaf}.key`, '-out', `${leaf}.csr`, '-subj', subject], dir);
    writeFileSync(join(dir, `${leaf}.ext`), extensions);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${leaf}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${leaf}.pem`,
        '-days',
        '2',
        '-extfile',
        `${leaf}.ext`,
      ],
      dir,
    );
  };
  // clientAuth too: the Redis Cluster's nodes present it to each other (bus, replication).
  sign(
    'server',
    '/CN=localhost',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  sign('client', `/CN=${name} client`, 'extendedKeyUsage=clientAuth\n');
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  const keystoreFile = join(dir, 'server-keystore.pem');
  writeFileSync(keystoreFile, read('server.key') + read('server.pem'));
  return {
    caFile: join(dir, 'ca.pem'),
    certFile: join(dir, 'server.pem'),
    keyFile: join(dir, 'server.key'),
    keystoreFile,
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client.key'),
  };
}

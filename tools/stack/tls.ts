import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A certificate authority of the local stack and one server certificate it signed, as PEM files. */
export interface StackCertificates {
  /** The CA's certificate: what a client trusts (KAFKA_SSL_CA_FILE, REDIS_TLS_CA_FILE). */
  caFile: string;
  /** The server's certificate (for 127.0.0.1 and localhost) and its unencrypted PKCS#8 key. */
  certFile: string;
  keyFile: string;
  /** The key and then the certificate in one file: Kafka's PEM keystore. */
  keystoreFile: string;
}

function openssl(args: string[], cwd: string): void {
  const run = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (run.error) throw new Error(`openssl: ${run.error.message} (is openssl installed?)`);
  if (run.status !== 0) throw new Error(`openssl ${args[0]} failed:\n${run.stderr}`);
}

/**
 * A fresh CA, valid two days, and a server certificate signed by it, made by openssl in
 * `dir`: nothing is ever trusted beyond the stack that made it.
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
  openssl(['req', ...key, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.pem',
      '-days',
      '2',
      '-extfile',
      'server.ext',
    ],
    dir,
  );
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  const keystoreFile = join(dir, 'server-keystore.pem');
  writeFileSync(keystoreFile, read('server.key') + read('server.pem'));
  return {
    caFile: join(dir, 'ca.pem'),
    certFile: join(dir, 'server.pem'),
    keyFile: join(dir, 'server.key'),
    keystoreFile,
  };
}

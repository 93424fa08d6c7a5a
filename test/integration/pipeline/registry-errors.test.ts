import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { decodeCdr, RegistryUnavailableError } from '../../../src/kafka/cdr-decoder';
import { freePort } from '../../../tools/stack/processes';

/** Confluent wire format: magic byte 0, schema id 7, then (here irrelevant) Avro bytes. */
const avro = Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), Buffer.from('payload')]);

/**
 * The decoder against the real registry client and a registry that answers what we tell it:
 * only "schema not found" dead-letters a record; anything that says the registry is away
 * (refused, an error status, a 404 from something that is not a registry) is retriable.
 */
describe('Avro decoding when the schema registry cannot answer', () => {
  let server: Server;
  let answer: { status: number; body: string; type: string };
  let url: string;
  beforeAll(async () => {
    server = createServer((request, response) => {
      response.writeHead(answer.status, { 'content-type': answer.type });
      response.end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const decode = (host: string) =>
    decodeCdr(avro, 'acme', new SchemaRegistry({ host, retry: { retries: 0 } }));
  const json = 'application/vnd.schemaregistry.v1+json';

  it('dead-letters a record whose schema id the registry says does not exist (40403)', async () => {
    answer = {
      status: 404,
      type: json,
      body: JSON.stringify({ error_code: 40403, message: 'Schema 7 not found' }),
    };
    expect(await decode(url)).toEqual({
      rejected: { code: 'avro_decode_failed', message: expect.stringContaining('Schema 7 not found') },
    });
  });

  it.each([
    [
      'a server error',
      { status: 503, type: json, body: JSON.stringify({ error_code: 50003, message: 'down' }) },
    ],
    [
      'a 404 that is not the registry (a wrong URL)',
      { status: 404, type: 'text/html', body: '<h1>Not Found</h1>' },
    ],
  ])('waits (retriable error) on %s', async (_what, reply) => {
    answer = reply;
    const result = decode(url);
    await expect(result).rejects.toBeInstanceOf(RegistryUnavailableError);
    await expect(result).rejects.toMatchObject({ retriable: true });
  });

  it('waits when the registry refuses connections', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    await expect(decode(closed)).rejects.toMatchObject({
      name: 'RegistryUnavailableError',
      message: expect.stringContaining('ECONNREFUSED'),
    });
  });
});

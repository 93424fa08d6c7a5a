import { KafkaJSNonRetriableError, KafkaJSProtocolError } from 'kafkajs';
import { sessionErrorIn } from '../../../src/kafka/session-errors';
import { isTransient } from '../../../src/settlement/retry';

/** The broker's answer as kafkajs decodes it. */
const protocolError = (type: string, retriable: boolean) =>
  new KafkaJSProtocolError(
    Object.assign(new Error('The coordinator is not aware of this member'), { type, code: 25, retriable }),
  );

describe('a lost group session', () => {
  it('is found in the broker error itself and inside kafkajs retrier wrapper', () => {
    const unknownMember = protocolError('UNKNOWN_MEMBER_ID', false);
    // What kafkajs' retrier throws for a non-retriable answer (src/retry/index.js); its typings
    // leave out the `cause` option that its code passes.
    const NonRetriable = KafkaJSNonRetriableError as unknown as new (e: Error, o: { cause: Error }) => Error;
    const wrapped = new NonRetriable(unknownMember, { cause: unknownMember });
    expect(sessionErrorIn(unknownMember)).toBe(unknownMember);
    expect(sessionErrorIn(wrapped)).toBe(unknownMember);
    expect(isTransient(wrapped)).toBe(false);
  });

  it('is not found in other errors', () => {
    expect(sessionErrorIn(protocolError('COORDINATOR_NOT_AVAILABLE', true))).toBeUndefined();
    expect(sessionErrorIn(new TypeError('x'))).toBeUndefined();
    expect(sessionErrorIn('UNKNOWN_MEMBER_ID')).toBeUndefined();
  });
});

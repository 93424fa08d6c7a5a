import { ReplyError } from 'ioredis';
import {
  interpret,
  isTransientRedisError,
  LedgerError,
  ledgerFailure,
  LedgerUnavailableError,
  ResultCode,
} from '../../../src/ledger/result-codes';

/** ioredis' MaxRetriesPerRequestError, by name and message as it builds them. */
class MaxRetriesPerRequestError extends Error {
  override readonly name = 'MaxRetriesPerRequestError';
}
const errno = (code: string, message = `connect ${code} 127.0.0.1:1`) =>
  Object.assign(new Error(message), { code, errno: -1, syscall: 'connect' });
const reply = (message: string): Error => new ReplyError(message) as Error;

describe('telling a transient Redis failure from a bug', () => {
  it.each([
    ['connection refused', errno('ECONNREFUSED')],
    ['connection reset', errno('ECONNRESET', 'read ECONNRESET')],
    ['broken pipe', errno('EPIPE', 'write EPIPE')],
    ['connection closed', new Error('Connection is closed.')],
    [
      'a pipelined command aborted by the connection closing',
      Object.assign(new Error('Command aborted due to connection close'), { name: 'AbortError' }),
    ],
    ['command timed out', new Error('Command timed out')],
    ['offline queue off', new Error("Stream isn't writeable and enableOfflineQueue options is false")],
    [
      'max retries per request',
      new MaxRetriesPerRequestError(
        'Reached the max retries per request limit (which is 3). Refer to "maxRetriesPerRequest" option for details.',
      ),
    ],
    ['LOADING', reply('LOADING Redis is loading the dataset in memory')],
    ['BUSY', reply('BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.')],
    ['TRYAGAIN', reply('TRYAGAIN Multiple keys request during rehashing of slot')],
    ['CLUSTERDOWN', reply('CLUSTERDOWN The cluster is down')],
    ['READONLY', reply("READONLY You can't write against a read only replica.")],
    ['MASTERDOWN', reply('MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no')],
    ['MOVED', reply('MOVED 3999 127.0.0.1:6381')],
    ['ASK', reply('ASK 3999 127.0.0.1:6381')],
    // The ledger's library missing (a Redis restarted empty): the client loads it again.
    ['a ledger function missing', reply('ERR Function not found')],
    [
      'OOM',
      reply("OOM command not allowed when used memory > 'maxmemory'. script: abc, on @user_script:12."),
    ],
  ])('%s is transient', (_, error) => {
    expect(isTransientRedisError(error)).toBe(true);
    const failure = ledgerFailure('applyUsage', error);
    expect(failure).toBeInstanceOf(LedgerUnavailableError);
    expect(failure).toMatchObject({ retriable: true, cause: error, operation: 'applyUsage' });
  });

  it.each([
    ['a script error', reply('ERR user_script:12: attempt to compare nil with number script: abc')],
    ['a function error', reply('ERR user_function:40: attempt to compare nil with number')],
    ['a wrong type', reply('WRONGTYPE Operation against a key holding the wrong kind of value')],
    ['a busy key (not a busy server)', reply('BUSYKEY Target key name already exists.')],
    ['no script', reply('NOSCRIPT No matching script. Please use EVAL.')],
    ['a bad argument', new LedgerError('applyUsage', ResultCode.BAD_ARGUMENT, 'at most 1000 usages a call')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'mode')")],
    ['a RangeError', new RangeError('Invalid time value')],
    ['a thrown string', 'ECONNREFUSED'],
  ])('%s is not', (_, error) => {
    expect(isTransientRedisError(error)).toBe(false);
    expect(ledgerFailure('applyUsage', error)).toBe(error);
  });

  it('marks a ledger error as not retriable, and leaves an unavailable one as it is', () => {
    expect(() => interpret('expireLots', [ResultCode.BAD_ARGUMENT, 'bad'])).toThrow(
      expect.objectContaining({ name: 'LedgerError', retriable: false }),
    );
    const unavailable = new LedgerUnavailableError('readAccount', errno('ECONNREFUSED'));
    expect(ledgerFailure('settle', unavailable)).toBe(unavailable);
    expect(unavailable).toMatchObject({
      operation: 'readAccount',
      message: 'connect ECONNREFUSED 127.0.0.1:1',
    });
  });
});

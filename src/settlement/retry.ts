/**
 * The one retrier (after kafkajs' src/retry): retries only what is retriable, with exponential
 * backoff and full jitter, and wraps the last error when it gives up. A bug (a `TypeError`, a
 * `LedgerError`, anything not marked retriable) is thrown at once, never retried.
 */
export interface RetryOptions {
  /** Attempts in all; `Infinity` retries a transient failure for as long as `keepGoing` says. */
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  isRetriable?: (error: unknown) => boolean;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Asked before each wait and after it: false gives up, throwing what `abandon` makes of the error. */
  keepGoing?: () => boolean;
  /** Run after each wait, before the next attempt (a heartbeat); its failure is ignored. */
  afterWait?: () => Promise<void>;
  /** What is thrown when `keepGoing` gives up (default: the last error itself). */
  abandon?: (error: unknown) => unknown;
}

export class RetriesExhaustedError extends Error {
  override readonly name = 'RetriesExhaustedError';
  readonly retriable = false;
  constructor(
    message: string,
    override readonly cause: unknown,
  ) {
    super(message);
  }
}

export async function retry<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const retriable = options.isRetriable ?? isRetriable;
  const abandon = options.abandon ?? ((error: unknown) => error);
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (!retriable(error)) throw error;
      if (attempt >= options.attempts) {
        throw new RetriesExhaustedError(`gave up after ${attempt} attempts: ${errorMessage(error)}`, error);
      }
      const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** Math.min(attempt - 1, 30));
      const delayMs = Math.round(Math.random() * ceiling);
      options.onRetry?.(error, attempt, delayMs);
      if (options.keepGoing && !options.keepGoing()) throw abandon(error);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      await options.afterWait?.().catch(() => undefined);
      if (options.keepGoing && !options.keepGoing()) throw abandon(error);
    }
  }
}

/** Marked retriable by whoever threw it. */
export const isRetriable = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { retriable?: unknown }).retriable === true;

/**
 * Transient: the error, or an error it was caused by, is marked retriable. kafkajs gives up
 * on a broker that stays away with a non-retriable `KafkaJSNumberOfRetriesExceeded` caused by
 * the retriable connection error; that is still an outage, not a bug.
 */
export function isTransient(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (
    let e = error;
    typeof e === 'object' && e !== null && !seen.has(e);
    e = (e as { cause?: unknown }).cause
  ) {
    seen.add(e);
    if (isRetriable(e)) return true;
  }
  return false;
}

export const errorMessage = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/** What a ledger's `awaitReplicas` throws when the replicas lag (ports.ts, ReplicaBarrier). */
export const REPLICAS_LAGGING = 'redis_replicas_lagging';

/** The replicas did not acknowledge the writes in time: transient, and the writes are made again. */
export const isReplicaLag = (error: unknown): boolean =>
  typeof error === 'object' &&
  error !== null &&
  (error as { reason?: unknown }).reason === REPLICAS_LAGGING &&
  isRetriable(error);

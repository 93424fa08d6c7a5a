/** Retries what is retriable, with exponential backoff and full jitter; wraps the last error. */
export interface RetryOptions {
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  isRetriable: (error: unknown) => boolean;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

export class RetriesExhaustedError extends Error {
  override readonly name = 'RetriesExhaustedError';
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
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (!options.isRetriable(error)) throw error;
      if (attempt >= options.attempts) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new RetriesExhaustedError(`gave up after ${attempt} attempts: ${reason}`, error);
      }
      const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** (attempt - 1));
      const delayMs = Math.round(Math.random() * ceiling);
      options.onRetry?.(error, attempt, delayMs);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

export const isRetriable = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { retriable?: unknown }).retriable === true;

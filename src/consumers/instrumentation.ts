import { EventEmitter } from 'node:events';

/**
 * The pipeline's named events. Metrics and logs subscribe here; the pipeline never imports
 * a metrics library.
 */
export interface PipelineEvents {
  /** One Kafka batch done: how many records, and how long each stage took. */
  batch: [{ partition: number; records: number; rated: number; deadLettered: number; seconds: number }];
  /** One input record's result. */
  record: [{ result: 'rated' | 'duplicate' | 'dead_letter'; source?: string }];
  deadLetter: [{ reason: string; message: string; tenantId: string | undefined; origin: string }];
  /** Time spent rating, and in the ledger, for one tenant group. */
  rating: [{ seconds: number; records: number }];
  ledger: [{ seconds: number; usages: number }];
  /** From the end of the call to its debit (or accrual). */
  debitLag: [{ seconds: number }];
  /** A transient failure, retried. */
  retry: [{ stage: 'ledger' | 'produce' | 'commit'; error: unknown }];
  /** A ledger script call that threw. */
  scriptError: [{ operation: string; error: unknown }];
  consumerLag: [{ topic: string; partition: number; lag: number }];
  eventsPublished: [{ type: string; count: number }];
  recharge: [{ outcome: 'succeeded' | 'failed' }];
}

export class PipelineInstrumentation extends EventEmitter<PipelineEvents> {}

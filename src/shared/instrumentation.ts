import { EventEmitter } from 'node:events';

/**
 * The pipeline's named events. Metrics and logs subscribe here; the pipeline never imports
 * a metrics library.
 */
export interface PipelineEvents {
  /** One Kafka batch done: how many records, and how long it took, commit included. */
  batch: [
    {
      topic: string;
      partition: number;
      firstOffset: string;
      lastOffset: string;
      records: number;
      /** Rated records produced, duplicates included. */
      rated: number;
      duplicates: number;
      deadLettered: number;
      seconds: number;
    },
  ];
  /** One input record's result; a rejected one is told by `deadLetter` as well. */
  record: [RecordResult];
  /**
   * A record sent to the dead-letter topic: why, at which stage, and whatever ids it gave
   * (a record that could not be decoded has none; the tenant may then be the message key).
   */
  deadLetter: [
    {
      reason: string;
      message: string;
      stage: 'decode' | 'rating' | 'ledger' | 'produce';
      /** The usage was applied in the ledger before it was set aside: its debit stands. */
      charged: boolean;
      tenantId: string | undefined;
      usageId: string | undefined;
      /** `<topic>/<partition>/<offset>` of the record. */
      origin: string;
    },
  ];
  /**
   * The dead letters of a batch, sent, could not be written to the dead-letter log (best
   * effort: the batch went on).
   */
  deadLetterLogFailed: [{ error: unknown; deadLetters: number }];
  /** Time spent rating, and in the ledger, for one tenant group. */
  rating: [{ seconds: number; records: number }];
  ledger: [{ seconds: number; usages: number }];
  /** From the end of the call to its debit (or accrual). */
  debitLag: [{ seconds: number }];
  /** A transient failure, retried; the ledger's for one tenant. */
  retry: [
    { stage: 'ledger' | 'produce' | 'commit' | 'registry' | 'replicas'; error: unknown; tenantId?: string },
  ];
  /**
   * Settling usages failed with what is not transient (a bug, or a record that makes the
   * code fail): they are settled again one by one, and those that fail alone are set aside
   * with `internal_error`.
   */
  settlementFailed: [{ error: unknown; tenantId: string; usageIds: string[] }];
  /** A ledger script call that threw. */
  scriptError: [{ operation: string; error: unknown; tenantId?: string }];
  consumerLag: [{ topic: string; partition: number; lag: number }];
  /** A request the service's producer or the CDR consumer sent the broker (`Produce`, `OffsetCommit`, `Fetch`...). */
  kafkaRequest: [KafkaRequest];
  eventsPublished: [{ type: string; count: number }];
  recharge: [{ outcome: 'succeeded' | 'failed' }];
  /** A pending payment the reconciler looked at (or a webhook settled), and what became of it. */
  paymentSettled: [
    { outcome: 'succeeded' | 'failed' | 'already_settled' | 'pending' | 'mismatch' | 'ignored' },
  ];
  /** A call session's start or renewal answered (allowed or not, why). */
  sessionAnswer: [{ request: 'start' | 'update'; reason: string }];
  /** Call sessions the sweeper expired (not renewed, no end) and dropped (no CDR in time). */
  sessionsSwept: [{ expired: number; dropped: number }];
}

export type RecordResult =
  | { result: 'dead_letter' }
  | {
      result: 'rated' | 'duplicate';
      tenantId: string;
      usageId: string;
      /** Where the money came from: credits, postpaid, bundle or free. */
      source: string;
      /** Decimal string in `currency` (the stored outcome's, for a duplicate). */
      charge: string;
      currency: string;
      poolSeconds: number;
    };

export class PipelineInstrumentation extends EventEmitter<PipelineEvents> {}

/** One partition the consumer was assigned, as the readiness check and the metrics read it. */
export interface PartitionState {
  topic: string;
  partition: number;
  /** A batch in hand, or records behind it after the last batch. */
  waiting: boolean;
  /** Since the last completed batch, or since the partition was assigned. */
  secondsSinceProgress: number;
  /** The stage a batch in hand is retrying (`ledger`, `produce`, `commit`, `registry`, `replicas`). */
  stage?: string;
  lastError?: string;
  /** Seconds since that stage's first failure of this batch. */
  retryingSeconds?: number;
}

/** The consumer's partitions, read on each scrape (src/kafka/partition-progress.ts keeps them). */
export interface PartitionsReport {
  states(): PartitionState[];
  /** The partitions with work waiting and no progress for too long, and why. */
  stuck(): { partition: PartitionState; reason: string }[];
}

/** One request a Kafka client sent: which client, and the protocol API (`Produce`, `OffsetCommit`, `Fetch`...). */
export interface KafkaRequest {
  client: 'producer' | 'consumer';
  api: string;
}

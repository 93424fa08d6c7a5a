import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Consumer, EachBatchPayload, Kafka, Producer, TopicPartitionOffsetAndMetadata } from 'kafkajs';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { UsagePricer } from '../settlement/ports';
import { isReplicaLag, isTransient, retry } from '../settlement/retry';
import { BatchLedger, BatchWaits, SettleBatch } from '../settlement/settle-batch';
import type { Settlement } from '../settlement/settle-outcomes';
import { TenantMemory } from '../settlement/tenant-memory';
import { decodeBatch } from './batch-input';
import { CdrRules, defaultCdrRules, RegistryUnavailableError } from './cdr-decoder';
import { BatchOutput, Outgoing, tellOutcomes } from './batch-output';
import { DeadLetterLogPort, DeadLetterRecorder } from './dead-letter-recorder';
import type { Grouped } from './grouped';
import {
  countRequests,
  offsetCommits,
  PARTITIONS_CONSUMED_CONCURRENTLY,
  usageConsumerConfig,
} from './consumer-settings';
import { DEFAULT_MAX_MESSAGE_BYTES, GroupedSender, MAX_PRODUCE_BYTES } from './grouped-sender';
import type { PipelineInstrumentation } from '../shared/instrumentation';
import { PartitionProgress } from './partition-progress';
import { sessionErrorIn } from './session-errors';
import { Incoming, RecordMessages, Settling } from './record-messages';

export interface UsageConsumerOptions {
  kafka: Kafka;
  producer: Producer;
  /** What the use case "settle a batch" (src/settlement) settles with. */
  ledger: BatchLedger;
  pricer: UsagePricer;
  registry?: SchemaRegistry;
  groupId: string;
  sessionTimeoutMs?: number;
  topics: { usageIn: string; ratedOut: string; deadLetter: string };
  instrumentation: PipelineInstrumentation;
  /**
   * Where the dead letters sent are counted by reason for an operator (DeadLetterLog): after
   * each batch's are sent, without waiting; a failure is told (`deadLetterLogFailed`), never
   * held against the batch.
   */
  deadLetterLog?: DeadLetterLogPort;
  /** Tenants whose outbox got events (the relay is poked with them). */
  onTenantsChanged?: (tenants: string[]) => void;
  retryDelayMs?: { initial: number; max: number };
  partitionsConsumedConcurrently?: number;
  clock?: () => Date;
  /** The broker's message.max.bytes (KAFKA_MAX_MESSAGE_BYTES): no message out is larger. */
  maxMessageBytes?: number;
  /**
   * Limits on input (docs/pipeline.md, "Records set aside"); the largest record defaults to
   * `maxMessageBytes`, the time window is read on `clock`.
   */
  cdrRules?: Partial<Omit<CdrRules, 'now'>>;
  /** A partition with records waiting and no batch committed this long is stuck (not ready). */
  stuckPartitionMs?: number;
  /**
   * Tenants remembered between batches, so that most batches cost one ledger call instead of
   * a read and a call (default 20,000; 0: read before every call).
   */
  rememberedTenants?: number;
}

const seconds = (startNs: bigint) => Number(process.hrtime.bigint() - startNs) / 1e9;

/** The batch a callback runs for: its partition and the session generation it came in. */
interface BatchContext {
  topic: string;
  partition: number;
  generation: number;
}

/**
 * The CDR consumer: a consumer group on the usage topic, a batch at a time. Each batch is
 * decoded and validated (rejects go to the dead-letter topic with their reason and origin),
 * rated, applied to the ledger in per-tenant batches, and the rated records produced; only
 * then are the offsets committed. A crash anywhere redelivers the batch, and the ledger's
 * idempotency turns the repeat into the stored outcomes: each usage is charged once.
 * Transient failures (Redis or the broker away) are retried with backoff while consumption
 * of that partition pauses; nothing is skipped. What is wrong with a record itself (content
 * or size) is permanent: it goes to the dead-letter topic at whatever stage it shows, and
 * every record ends in exactly one message, its rated record or its dead letter.
 */
export class UsageConsumer {
  private consumer: Consumer | undefined;
  private readonly events: PipelineInstrumentation;
  private readonly sender: GroupedSender;
  private joined = false;
  private readonly clock: () => Date;
  private readonly maxMessageBytes: number;
  private readonly rules: CdrRules;
  private crashed: Error | undefined;
  /** Counts the group joins: a batch of an earlier generation is not committed. */
  private generation = 0;
  /** The session a heartbeat or commit found gone: its generation, and the broker's error. */
  private sessionLost: { generation: number; error: Error } | undefined;
  private readonly progress: PartitionProgress;
  private readonly batches = new AsyncLocalStorage<BatchContext>();
  private readonly settlement: SettleBatch<Settling>;
  private readonly messages: RecordMessages;
  private readonly deadLetters: DeadLetterRecorder;
  private readonly output: BatchOutput;

  constructor(private readonly options: UsageConsumerOptions) {
    this.events = options.instrumentation;
    this.clock = options.clock ?? (() => new Date());
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.rules = defaultCdrRules({
      maxRecordBytes: this.maxMessageBytes,
      ...options.cdrRules,
      now: this.clock,
    });
    this.sender = new GroupedSender(
      options.producer,
      Math.min(MAX_PRODUCE_BYTES, Math.floor(this.maxMessageBytes / 2)),
      this.maxMessageBytes,
    );
    this.progress = new PartitionProgress(options.stuckPartitionMs ?? 60_000);
    this.messages = new RecordMessages(this.maxMessageBytes);
    this.settlement = new SettleBatch<Settling>({
      ledger: options.ledger,
      pricer: options.pricer,
      // Asked before each debit whether the rated record would go out (the wire format is here).
      records: this.messages,
      clock: this.clock,
      ...(options.rememberedTenants === 0 ? {} : { memory: new TenantMemory(options.rememberedTenants) }),
      observer: {
        rated: (seconds, records) => this.events.emit('rating', { seconds, records }),
        applied: (seconds, usages) => this.events.emit('ledger', { seconds, usages }),
        debitLag: (seconds) => this.events.emit('debitLag', { seconds }),
        failed: (error, tenantId, usageIds) => {
          this.events.emit('scriptError', { operation: 'applyUsage', error, tenantId });
          this.events.emit('settlementFailed', { error, tenantId, usageIds });
        },
      },
    });
    this.output = new BatchOutput(this.sender, this.messages, options.topics);
    this.deadLetters = new DeadLetterRecorder(options.deadLetterLog, this.clock, (error, deadLetters) =>
      this.events.emit('deadLetterLogFailed', { error, deadLetters }),
    );
  }

  async start(): Promise<void> {
    const { kafka, groupId, topics } = this.options;
    const settings = usageConsumerConfig(groupId, this.options.sessionTimeoutMs);
    const { heartbeatInterval } = settings;
    const consumer = kafka.consumer(settings);
    countRequests(consumer, 'consumer', (request) => this.events.emit('kafkaRequest', request));
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.joined = true;
      this.generation += 1;
      this.progress.assigned(payload.memberAssignment);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.joined = false;
      if (!payload.restart) this.crashed = payload.error;
    });
    consumer.on(consumer.events.STOP, () => (this.joined = false));
    // The batches of many partitions end at about the same time: their offsets go to the
    // group coordinator in one commit.
    const commits = offsetCommits(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic: topics.usageIn, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently:
        this.options.partitionsConsumedConcurrently ?? PARTITIONS_CONSUMED_CONCURRENTLY,
      eachBatch: (payload) => this.consumeBatch(payload, heartbeatInterval, commits),
    });
  }

  /**
   * One fetched batch of a partition: settled and produced (processBatch), then its offset
   * committed; heartbeats go on meanwhile, and the partition's progress and lag are told.
   */
  private async consumeBatch(
    { batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload,
    heartbeatInterval: number,
    commits: Grouped<TopicPartitionOffsetAndMetadata>,
  ): Promise<void> {
    if (batch.messages.length === 0) return;
    const started = process.hrtime.bigint();
    const { topic, partition } = batch;
    const incoming = batch.messages.map((message) => ({ topic, partition, message }));
    const context: BatchContext = { topic, partition, generation: this.generation };
    const waiting = Number(BigInt(batch.highWatermark) - BigInt(batch.firstOffset() ?? batch.lastOffset()));
    this.progress.batchStarted(topic, partition, waiting);
    // The lag is told as the batch starts too: a partition stuck on its batch shows it.
    this.events.emit('consumerLag', { topic, partition, lag: Math.max(0, waiting) });
    const keepGoing = () =>
      isRunning() && !isStale() && this.generation === context.generation && !this.lostSession(context);
    // Heartbeats go out while the batch waits for Redis, the registry or the broker, so
    // the group keeps this member; a heartbeat that finds the session gone ends the wait.
    const guardedHeartbeat = () =>
      heartbeat().catch((error: unknown) => {
        const lost = sessionErrorIn(error);
        if (lost) this.sessionLost = { generation: context.generation, error: lost };
        throw error;
      });
    const ticker = setInterval(() => void guardedHeartbeat().catch(() => undefined), heartbeatInterval);
    try {
      await this.batches.run(context, async () => {
        // A record whose schema the registry could not be asked for fails the whole
        // decode before anything else happened: the batch waits and decodes again. Replicas
        // that did not acknowledge the batch's writes make it settle again (what a failover
        // lost is applied anew, the rest replays) and wait again.
        const { rated, duplicates, deadLettered, tenants } = await this.untilDone(
          'registry',
          guardedHeartbeat,
          keepGoing,
          () => this.processBatch(incoming, guardedHeartbeat, keepGoing),
          undefined,
          (error) => error instanceof RegistryUnavailableError || isReplicaLag(error),
        );
        resolveOffset(batch.lastOffset());
        const next = (BigInt(batch.lastOffset()) + 1n).toString();
        await this.untilDone('commit', guardedHeartbeat, keepGoing, () =>
          commits.add({ topic, partition, offset: next }),
        );
        this.options.onTenantsChanged?.(tenants);
        const lag = Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(next)));
        this.progress.progressed(topic, partition, lag);
        this.events.emit('consumerLag', { topic, partition, lag });
        this.events.emit('batch', {
          topic,
          partition,
          firstOffset: batch.firstOffset() ?? batch.lastOffset(),
          lastOffset: batch.lastOffset(),
          records: incoming.length,
          rated,
          duplicates,
          deadLettered,
          seconds: seconds(started),
        });
      });
    } catch (error) {
      this.progress.abandoned(topic, partition, error);
      throw error;
    } finally {
      clearInterval(ticker);
    }
  }

  /** Consuming: a member of its group with partitions assigned (or waiting for them). */
  isConsuming(): boolean {
    return this.joined;
  }

  /** Why the consumer stopped for good (a crash kafkajs does not restart from), if it did. */
  crashReason(): Error | undefined {
    return this.crashed;
  }

  /** Each assigned partition's progress; `stuck()` names those with work waiting and none made. */
  partitions(): PartitionProgress {
    return this.progress;
  }

  /** Finishes the batch in hand, commits it, and leaves the group. */
  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }

  private lostSession(context: BatchContext): boolean {
    return this.sessionLost?.generation === context.generation;
  }

  /**
   * Decodes, settles, produces one batch; everything before the offset commit. The bytes are
   * decoded (and each valid record serialised) here, the decoded records settled by the use
   * case "settle a batch", and what comes back written and sent: the records go one way.
   */
  async processBatch(
    incoming: Incoming[],
    heartbeat: () => Promise<void> = async () => undefined,
    keepGoing: () => boolean = () => true,
  ): Promise<{ rated: number; duplicates: number; deadLettered: number; tenants: string[] }> {
    // What settling held (the records' bodies, the settlements) is garbage before the batch
    // waits for the broker: only each record's message and outcome are kept while it sends.
    const { out, tenants } = await this.settledMessages(incoming, heartbeat, keepGoing);
    await this.output.send(out, (send) => this.untilDone('produce', heartbeat, keepGoing, send));
    this.deadLetters.record(out);
    const { rated, duplicates } = tellOutcomes(this.events, out);
    return { rated, duplicates, deadLettered: out.length - rated, tenants };
  }

  /** Decodes and settles a batch: each record's one message, and the tenants whose balance changed. */
  private async settledMessages(
    incoming: Incoming[],
    heartbeat: () => Promise<void>,
    keepGoing: () => boolean,
  ): Promise<{ out: Outgoing[]; tenants: string[] }> {
    const { outcomes, settling } = await decodeBatch(incoming, this.options.registry, this.rules);
    const settled = await this.settlement.settle(settling, this.waits(heartbeat, keepGoing));
    // A record waiting on a transient cause (Redis, its replicas): nothing of the batch goes
    // out and no offset is committed; the batch is settled again (what was applied repeats).
    for (const result of settled) if (result.kind === 'waiting') throw result.cause;
    settling.forEach((s, i) => outcomes.set(s.item, this.messages.outcomeOf(s, settled[i] as Settlement)));

    // Every record ends in one message: its rated record, or its dead letter. What cannot be
    // written or sent after the debit is dead-lettered too (x-charged: true), alone.
    const changedTenants = new Set<string>();
    const out = incoming.map((item) => {
      const outcome = outcomes.get(item)!;
      if (outcome.kind === 'rated' && !outcome.duplicate) changedTenants.add(outcome.record.tenantId);
      return this.messages.messageFor(item, outcome);
    });
    return { out, tenants: [...changedTenants] };
  }

  /** How the use case waits for the ledger: with the one retrier, heartbeating, while the batch is ours. */
  private waits(heartbeat: () => Promise<void>, keepGoing: () => boolean): BatchWaits {
    return {
      until: (step, tenantId) => this.untilDone('ledger', heartbeat, keepGoing, step, tenantId),
      // A wait given up (stopping, the session lost) is no verdict on the records.
      isPermanent: (error) => !isTransient(error) && !sessionErrorIn(error) && keepGoing(),
    };
  }

  /**
   * Runs `step` with the one retrier (src/settlement/retry.ts): a transient failure (Redis,
   * the registry or the broker away) is retried with backoff while consumption of the
   * partition waits, heartbeating. It gives up when the consumer stops, loses the partition or
   * its group session (then the batch is redelivered, to this or another instance), and at
   * once on what is not transient (a bug fails loudly instead of looping).
   */
  private untilDone<T>(
    stage: 'ledger' | 'produce' | 'commit' | 'registry',
    heartbeat: () => Promise<void>,
    keepGoing: () => boolean,
    step: () => Promise<T>,
    tenantId?: string,
    transient: (error: unknown) => boolean = isTransient,
  ): Promise<T> {
    const { initial, max } = this.options.retryDelayMs ?? { initial: 100, max: 5_000 };
    const context = this.batches.getStore();
    return retry(step, {
      attempts: Infinity,
      initialDelayMs: initial,
      maxDelayMs: max,
      isRetriable: (error) => {
        const lost = sessionErrorIn(error);
        if (lost) {
          // A commit (or a heartbeat) refused: retrying with this member id never succeeds.
          if (context) this.sessionLost = { generation: context.generation, error: lost };
          return false;
        }
        return transient(error);
      },
      onRetry: (error) => {
        if (stage === 'ledger') this.events.emit('scriptError', { operation: 'applyUsage', error, tenantId });
        const at = isReplicaLag(error) ? 'replicas' : stage;
        this.events.emit('retry', { stage: at, error, tenantId });
        if (context) this.progress.retrying(context.topic, context.partition, at, error);
      },
      keepGoing,
      afterWait: heartbeat,
      abandon: (error) => this.abandonReason(context, error),
    }).catch((error: unknown) => {
      // A lost session is given up with the broker's own error, which kafkajs rejoins for.
      throw this.abandonReason(context, error);
    });
  }

  /**
   * What a wait that gives up throws: when a heartbeat found the session gone, the broker's
   * error, which kafkajs rejoins the group for (forgetting a member id the coordinator no
   * longer knows); otherwise the step's.
   */
  private abandonReason(context: BatchContext | undefined, error: unknown): unknown {
    if (context && this.sessionLost?.generation === context.generation) return this.sessionLost.error;
    return error;
  }
}

import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { AsyncLocalStorage } from 'node:async_hooks';
import { formatMoney } from '../credits/money';
import type { DeadLetterEntry } from '../ledger/dead-letter-log';
import type { CreditLedger } from '../ledger/ledger';
import { MAX_BATCH } from '../ledger/ledger';
import type { UsagePricer } from '../settlement/ports';
import { fingerprint, serialiseRecord } from '../settlement/rated-record';
import { errorMessage, isReplicaLag, isTransient, retry } from '../settlement/retry';
import { TenantSettlement } from '../settlement/settle-tenant';
import { TenantMemory } from '../settlement/tenant-memory';
import { CdrRules, decodeCdrs, defaultCdrRules, RegistryUnavailableError } from './cdr-decoder';
import {
  countRequests,
  offsetCommits,
  PARTITIONS_CONSUMED_CONCURRENTLY,
  usageConsumerConfig,
} from './consumer-settings';
import { DEFAULT_MAX_MESSAGE_BYTES, GroupedSender, MAX_PRODUCE_BYTES, messageBytes } from './grouped-sender';
import type { PipelineInstrumentation } from './instrumentation';
import { PartitionProgress } from './partition-progress';
import { sessionErrorIn } from './session-errors';
import { Incoming, MINIMAL_DEAD_LETTER_BYTES, Outcome, RecordMessages, Settling } from './record-messages';

export interface UsageConsumerOptions {
  kafka: Kafka;
  producer: Producer;
  /** What the use case "settle a tenant's batch" (src/settlement) settles with. */
  ledger: CreditLedger;
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
  deadLetterLog?: { record(entries: DeadLetterEntry[]): Promise<void> };
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

/** Dead-letter log writes that may wait for Redis at once (best effort: more are given up). */
const DEAD_LETTER_LOGS_IN_FLIGHT = 64;

/** Tenant groups of one batch settled at once (each is one or two Redis round trips). */
const TENANTS_IN_FLIGHT = 32;

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
  private readonly settlement: TenantSettlement;
  private readonly messages: RecordMessages;
  private deadLetterLogsInFlight = 0;

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
    this.settlement = new TenantSettlement({
      ledger: options.ledger,
      pricer: options.pricer,
      maxUsagesPerApply: MAX_BATCH,
      clock: this.clock,
      ...(options.rememberedTenants === 0 ? {} : { memory: new TenantMemory(options.rememberedTenants) }),
      observer: {
        rated: (seconds, records) => this.events.emit('rating', { seconds, records }),
        applied: (seconds, usages) => this.events.emit('ledger', { seconds, usages }),
        debitLag: (seconds) => this.events.emit('debitLag', { seconds }),
      },
    });
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
      eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
        if (batch.messages.length === 0) return;
        const started = process.hrtime.bigint();
        const { topic, partition } = batch;
        const incoming = batch.messages.map((message) => ({ topic, partition, message }));
        const context: BatchContext = { topic, partition, generation: this.generation };
        const waiting = Number(
          BigInt(batch.highWatermark) - BigInt(batch.firstOffset() ?? batch.lastOffset()),
        );
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
      },
    });
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

  /** Rates, applies and produces one batch; everything before the offset commit. */
  async processBatch(
    incoming: Incoming[],
    heartbeat: () => Promise<void> = async () => undefined,
    keepGoing: () => boolean = () => true,
  ): Promise<{ rated: number; duplicates: number; deadLettered: number; tenants: string[] }> {
    // JSON values decode without a promise each; only Avro values wait for the registry.
    const decoded = await decodeCdrs(
      incoming.map(({ message }) => ({ value: message.value, key: message.key?.toString() })),
      this.options.registry,
      this.rules,
    );
    const outcomes = new Map<Incoming, Outcome>();
    const byTenant = new Map<string, Settling[]>();
    decoded.forEach((result, i) => {
      const item = incoming[i]!;
      if ('rejected' in result) {
        outcomes.set(item, {
          kind: 'rejected',
          rejection: result.rejected,
          stage: 'decode',
          usageId: result.usageId,
          tenantId: result.tenantId,
          charged: false,
        });
        return;
      }
      const { record } = result;
      let body: string;
      try {
        // Before the debit: a record whose rated record cannot be written is never charged.
        body = serialiseRecord(record);
      } catch (error) {
        outcomes.set(item, {
          kind: 'rejected',
          rejection: { code: 'unserializable', message: errorMessage(error) },
          stage: 'decode',
          usageId: record.id,
          tenantId: record.tenantId,
          charged: false,
        });
        return;
      }
      const group = byTenant.get(record.tenantId) ?? [];
      group.push({ item, record, body, fingerprint: fingerprint(record) });
      byTenant.set(record.tenantId, group);
    });

    // Tenants are independent (each script touches one tenant's keys), so their groups settle
    // concurrently; one tenant's slices go in order, each rated against the pool use the
    // previous one left.
    const tenants = [...byTenant];
    await Promise.all(
      Array.from({ length: Math.min(TENANTS_IN_FLIGHT, tenants.length) }, async () => {
        for (let next = tenants.shift(); next; next = tenants.shift()) {
          const [tenant, group] = next;
          const limit = this.settlement.maxUsagesPerApply;
          for (let start = 0; start < group.length; start += limit) {
            const slice = group.slice(start, start + limit);
            const results = await this.settlement.settleIsolating(
              tenant,
              slice,
              (step) => this.untilDone('ledger', heartbeat, keepGoing, step, tenant),
              (usage, details, applied) => this.messages.unsendable(usage, details, applied),
              (error, usageIds) => {
                this.events.emit('scriptError', { operation: 'applyUsage', error, tenantId: tenant });
                this.events.emit('settlementFailed', { error, tenantId: tenant, usageIds });
              },
              // A wait given up (stopping, the session lost) is no verdict on the records.
              (error) => !isTransient(error) && !sessionErrorIn(error) && keepGoing(),
            );
            slice.forEach((settling, i) =>
              outcomes.set(settling.item, this.messages.outcomeOf(settling, results[i]!)),
            );
          }
        }
      }),
    );

    // Nothing goes out and no offset is committed before the replicas hold the batch's writes
    // (REDIS_WAIT_REPLICAS; at once when off): a lag throws, and the batch is settled again.
    if (byTenant.size > 0) await this.options.ledger.awaitReplicas(byTenant.keys());

    // Every record ends in one message: its rated record, or its dead letter. What cannot be
    // written or sent after the debit is dead-lettered too (x-charged: true), alone.
    const changedTenants = new Set<string>();
    const out = incoming.map((item) => {
      const outcome = outcomes.get(item)!;
      if (outcome.kind === 'rated' && !outcome.duplicate) changedTenants.add(outcome.record.tenantId);
      return this.messages.messageFor(item, outcome);
    });
    // Sent with the other partitions' batches in as few requests as possible, each well under
    // the broker's message size limit (GroupedSender); what the broker refuses as too large
    // comes back, and goes again as a dead letter (truncated, then without its extras).
    let pending = out;
    for (let round = 1; pending.length > 0; round++) {
      const sending = pending;
      const refused = new Set(
        await this.untilDone('produce', heartbeat, keepGoing, () =>
          this.sender.send([
            {
              topic: this.options.topics.ratedOut,
              messages: sending.filter((o) => o.outcome.kind === 'rated').map((o) => o.message),
            },
            {
              topic: this.options.topics.deadLetter,
              messages: sending.filter((o) => o.outcome.kind === 'rejected').map((o) => o.message),
            },
          ]),
        ),
      );
      pending = sending.filter((o) => refused.has(o.message));
      if (pending.length > 0 && round === 3) {
        throw new Error(`the broker refused ${pending.length} minimal dead letters as too large`);
      }
      for (const entry of pending) {
        if (entry.outcome.kind === 'rated') {
          const { record } = entry.outcome;
          entry.outcome = {
            kind: 'rejected',
            rejection: {
              code: 'too_large',
              message: `the broker refused the rated record (${messageBytes(entry.message)} bytes) as too large`,
            },
            stage: 'produce',
            usageId: record.id,
            tenantId: record.tenantId,
            charged: true,
          };
          entry.message = this.messages.deadLetter(entry.item, entry.outcome);
        } else {
          entry.message = this.messages.deadLetter(entry.item, entry.outcome, MINIMAL_DEAD_LETTER_BYTES);
        }
      }
    }

    this.logDeadLetters(out);

    let rated = 0;
    let duplicates = 0;
    // Each record is told to those who listen (the debug log, tests); the metrics count batches.
    const tellRecords = this.events.listenerCount('record') > 0;
    for (const { item, outcome } of out) {
      if (outcome.kind === 'rejected') {
        this.events.emit('deadLetter', {
          reason: outcome.rejection.code,
          message: outcome.rejection.message,
          stage: outcome.stage,
          charged: outcome.charged,
          tenantId: outcome.tenantId ?? item.message.key?.toString(),
          usageId: outcome.usageId,
          origin: `${item.topic}/${item.partition}/${item.message.offset}`,
        });
        if (tellRecords) this.events.emit('record', { result: 'dead_letter' });
      } else {
        rated += 1;
        if (outcome.duplicate) duplicates += 1;
        if (!tellRecords) continue;
        this.events.emit('record', {
          result: outcome.duplicate ? 'duplicate' : 'rated',
          tenantId: outcome.record.tenantId,
          usageId: outcome.record.id,
          source: outcome.applied.source,
          charge: formatMoney({ minor: outcome.applied.charge, currency: outcome.details.currency }),
          currency: outcome.details.currency,
          poolSeconds: outcome.applied.poolSeconds,
        });
      }
    }
    return { rated, duplicates, deadLettered: out.length - rated, tenants: [...changedTenants] };
  }

  /** Records the batch's dead letters, all sent by now, in the dead-letter log: best effort. */
  private logDeadLetters(out: { item: Incoming; outcome: Outcome }[]): void {
    const log = this.options.deadLetterLog;
    if (!log) return;
    const at = this.clock();
    const entries: DeadLetterEntry[] = [];
    for (const { item, outcome } of out) {
      if (outcome.kind !== 'rejected') continue;
      entries.push({
        reason: outcome.rejection.code,
        message: outcome.rejection.message,
        topic: item.topic,
        partition: item.partition,
        offset: item.message.offset,
        ...(outcome.tenantId === undefined ? {} : { tenantId: outcome.tenantId }),
        at,
      });
    }
    if (entries.length === 0) return;
    const failed = (error: unknown) =>
      this.events.emit('deadLetterLogFailed', { error, deadLetters: entries.length });
    // Not awaited: with Redis away, writes wait in the client; past a few batches' worth,
    // the next are given up rather than held in memory.
    if (this.deadLetterLogsInFlight >= DEAD_LETTER_LOGS_IN_FLIGHT) {
      failed(new Error(`${DEAD_LETTER_LOGS_IN_FLIGHT} dead-letter log writes are waiting already`));
      return;
    }
    this.deadLetterLogsInFlight += 1;
    let recording: Promise<void>;
    try {
      recording = log.record(entries);
    } catch (error) {
      recording = Promise.reject(error);
    }
    void recording.catch(failed).finally(() => (this.deadLetterLogsInFlight -= 1));
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

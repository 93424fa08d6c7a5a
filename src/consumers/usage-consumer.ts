import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type {
  Consumer,
  IHeaders,
  Kafka,
  KafkaMessage,
  Message,
  Producer,
  TopicPartitionOffsetAndMetadata,
} from 'kafkajs';
import type { AppliedUsage, CreditLedger, LedgerUsage, UsageOutcome, UsageState } from '../ledger/ledger';
import { MAX_BATCH } from '../ledger/ledger';
import { AsyncLocalStorage } from 'node:async_hooks';
import { Grouped } from './grouped';
import { GroupedSender } from './grouped-sender';
import { decodeCdr, DecodedUsageRecord, Rejection, RegistryUnavailableError } from './cdr-decoder';
import { minorToDecimal } from './cloudevents';
import type { PipelineInstrumentation } from './instrumentation';
import { PartitionProgress } from './partition-progress';
import type { PricedUsage, UsagePricer } from './pricing-port';

export interface UsageConsumerOptions {
  kafka: Kafka;
  producer: Producer;
  ledger: CreditLedger;
  pricer: UsagePricer;
  registry?: SchemaRegistry;
  groupId: string;
  sessionTimeoutMs?: number;
  topics: { usageIn: string; ratedOut: string; deadLetter: string };
  instrumentation: PipelineInstrumentation;
  /** Tenants whose outbox got events (the relay is poked with them). */
  onTenantsChanged?: (tenants: string[]) => void;
  retryDelayMs?: { initial: number; max: number };
  partitionsConsumedConcurrently?: number;
  clock?: () => Date;
  /** A partition with records waiting and no batch committed this long is stuck (not ready). */
  stuckPartitionMs?: number;
}

interface Incoming {
  topic: string;
  partition: number;
  message: KafkaMessage;
}

type Outcome =
  | {
      kind: 'rated';
      record: DecodedUsageRecord;
      priced: PricedUsage;
      applied: UsageOutcome;
      duplicate: boolean;
    }
  | {
      kind: 'rejected';
      rejection: Rejection;
      stage: 'decode' | 'rating' | 'ledger';
      usageId?: string;
      tenantId?: string;
    };

/** Tenant groups of one batch settled at once (each is one or two Redis round trips). */
const TENANTS_IN_FLIGHT = 32;

const seconds = (startNs: bigint) => Number(process.hrtime.bigint() - startNs) / 1e9;

/**
 * The group session this member had is gone (the coordinator no longer knows it, or moved
 * on to another generation) or is being rebalanced: a batch in hand is given up, not
 * committed, so kafkajs rejoins and the batch is delivered again (safe: the ledger turns a
 * repeat into its stored outcome).
 */
const SESSION_ERRORS = new Set([
  'UNKNOWN_MEMBER_ID',
  'ILLEGAL_GENERATION',
  'REBALANCE_IN_PROGRESS',
  'FENCED_INSTANCE_ID',
  'NOT_COORDINATOR_FOR_GROUP',
]);
const isSessionError = (error: unknown): error is Error =>
  error instanceof Error && SESSION_ERRORS.has(String((error as { type?: unknown }).type));

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
 * of that partition pauses; nothing is skipped.
 */
export class UsageConsumer {
  private consumer: Consumer | undefined;
  private readonly events: PipelineInstrumentation;
  private readonly sender: GroupedSender;
  private joined = false;
  private crashed: Error | undefined;
  /** Counts the group joins: a batch of an earlier generation is not committed. */
  private generation = 0;
  /** The session a heartbeat or commit found gone: its generation, and the broker's error. */
  private sessionLost: { generation: number; error: Error } | undefined;
  private readonly progress: PartitionProgress;
  private readonly batches = new AsyncLocalStorage<BatchContext>();

  constructor(private readonly options: UsageConsumerOptions) {
    this.events = options.instrumentation;
    this.sender = new GroupedSender(options.producer);
    this.progress = new PartitionProgress(options.stuckPartitionMs ?? 60_000);
  }

  async start(): Promise<void> {
    const { kafka, groupId, topics } = this.options;
    const sessionTimeout = this.options.sessionTimeoutMs ?? 30_000;
    const heartbeatInterval = Math.max(500, Math.floor(sessionTimeout / 10));
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout,
      heartbeatInterval,
      // kafkajs heartbeats between fetches: an idle fetch held by the broker for its default
      // 5 s left a 6 s session one slow turn from expiring. A fifth of the session at most.
      maxWaitTimeInMs: Math.min(5_000, Math.max(500, Math.floor(sessionTimeout / 5))),
      maxBytesPerPartition: 1024 * 1024,
      maxBytes: 2 * 1024 * 1024,
      // kafkajs restarts the consumer after a crash with a retriable cause (the broker away
      // longer than these retries); a crash it does not restart from (a bug) leaves the
      // process not alive (/healthz), so that it is restarted from outside.
      retry: { retries: 10 },
    });
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
    const commits = new Grouped<TopicPartitionOffsetAndMetadata>((offsets) =>
      consumer.commitOffsets(offsets),
    );
    await consumer.connect();
    await consumer.subscribe({ topic: topics.usageIn, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 16,
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
            if (isSessionError(error)) this.sessionLost = { generation: context.generation, error };
            throw error;
          });
        const ticker = setInterval(() => void guardedHeartbeat().catch(() => undefined), heartbeatInterval);
        try {
          await this.batches.run(context, async () => {
            // A record whose schema the registry could not be asked for fails the whole
            // decode before anything else happened: the batch waits and decodes again.
            const { rated, duplicates, deadLettered, tenants } = await this.untilDone(
              'registry',
              guardedHeartbeat,
              keepGoing,
              () => this.processBatch(incoming, guardedHeartbeat, keepGoing),
              undefined,
              (error) => error instanceof RegistryUnavailableError,
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
    const decoded = await Promise.all(
      incoming.map(({ message }) => decodeCdr(message.value, message.key?.toString(), this.options.registry)),
    );
    const outcomes = new Map<Incoming, Outcome>();
    const byTenant = new Map<string, { item: Incoming; record: DecodedUsageRecord }[]>();
    decoded.forEach((result, i) => {
      const item = incoming[i]!;
      if ('rejected' in result) {
        outcomes.set(item, {
          kind: 'rejected',
          rejection: result.rejected,
          stage: 'decode',
          usageId: result.usageId,
          tenantId: result.tenantId,
        });
        return;
      }
      const group = byTenant.get(result.record.tenantId) ?? [];
      group.push({ item, record: result.record });
      byTenant.set(result.record.tenantId, group);
    });

    // Tenants are independent (each script touches one tenant's keys), so their groups settle
    // concurrently; one tenant's slices go in order, each rated against the pool use the
    // previous one left.
    const tenants = [...byTenant];
    await Promise.all(
      Array.from({ length: Math.min(TENANTS_IN_FLIGHT, tenants.length) }, async () => {
        for (let next = tenants.shift(); next; next = tenants.shift()) {
          const [tenant, group] = next;
          for (let start = 0; start < group.length; start += MAX_BATCH) {
            const slice = group.slice(start, start + MAX_BATCH);
            const results = await this.untilDone(
              'ledger',
              heartbeat,
              keepGoing,
              () => this.settleTenant(tenant, slice),
              tenant,
            );
            slice.forEach(({ item }, i) => outcomes.set(item, results[i]!));
          }
        }
      }),
    );

    const rated: Message[] = [];
    const dead: Message[] = [];
    let duplicates = 0;
    const changedTenants = new Set<string>();
    for (const item of incoming) {
      const outcome = outcomes.get(item)!;
      if (outcome.kind === 'rejected') {
        dead.push(this.deadLetter(item, outcome.rejection));
        this.events.emit('deadLetter', {
          reason: outcome.rejection.code,
          message: outcome.rejection.message,
          stage: outcome.stage,
          tenantId: outcome.tenantId ?? item.message.key?.toString(),
          usageId: outcome.usageId,
          origin: `${item.topic}/${item.partition}/${item.message.offset}`,
        });
        this.events.emit('record', { result: 'dead_letter' });
      } else {
        const message = this.ratedMessage(outcome);
        rated.push(message);
        if (outcome.duplicate) duplicates += 1;
        else changedTenants.add(outcome.record.tenantId);
        this.events.emit('record', {
          result: outcome.duplicate ? 'duplicate' : 'rated',
          tenantId: outcome.record.tenantId,
          usageId: outcome.record.id,
          source: outcome.applied.source,
          charge: minorToDecimal(outcome.applied.charge.toString(), outcome.priced.currency),
          currency: outcome.priced.currency,
          poolSeconds: outcome.applied.poolSeconds,
        });
      }
    }
    // Sent with the other partitions' batches in as few requests as possible, each well under
    // the broker's message size limit (GroupedSender).
    await this.untilDone('produce', heartbeat, keepGoing, () =>
      this.sender.send([
        { topic: this.options.topics.ratedOut, messages: rated },
        { topic: this.options.topics.deadLetter, messages: dead },
      ]),
    );
    return { rated: rated.length, duplicates, deadLettered: dead.length, tenants: [...changedTenants] };
  }

  /** Prices one tenant's records against its pool state and applies them in one script call. */
  private async settleTenant(
    tenant: string,
    group: { item: Incoming; record: DecodedUsageRecord }[],
  ): Promise<Outcome[]> {
    const { ledger, pricer } = this.options;
    const poolOf = new Map(group.map(({ record }) => [record, pricer.poolFor(record)]));
    const poolMonths = [
      ...new Set([...poolOf.values()].flatMap((p) => (p ? [`${p.pool}:${p.period}`] : []))),
    ];
    const ids = [...new Set(group.map(({ record }) => record.id))];
    let state: UsageState | undefined;
    const priced = new Map<string, PricedUsage | { kind: 'unrated'; reason: string }>();

    const ratingStarted = process.hrtime.bigint();
    let ledgerStarted = ratingStarted;
    const result = await ledger.settle(tenant, ids, poolMonths, (current) => {
      state = current;
      priced.clear();
      const poolLeft = new Map(
        poolMonths.map((key) => [
          key,
          (current.poolCapacity[key.slice(0, key.lastIndexOf(':'))] ?? 0) - (current.poolUsed[key] ?? 0),
        ]),
      );
      const usages: LedgerUsage[] = [];
      for (const { record } of group) {
        if (current.applied.has(record.id) || priced.has(record.id)) continue;
        const pool = poolOf.get(record);
        const key = pool ? `${pool.pool}:${pool.period}` : '';
        const price = pricer.price(record, current.currency, pool ? Math.max(0, poolLeft.get(key) ?? 0) : 0);
        priced.set(record.id, price);
        if (price.kind === 'unrated') continue;
        if (pool && price.poolSeconds > 0) poolLeft.set(key, poolLeft.get(key)! - price.poolSeconds);
        usages.push({
          id: record.id,
          source:
            price.payment === 'paid' ? (current.mode === 'prepaid' ? 'credits' : 'postpaid') : price.payment,
          charge: price.charge,
          pool: pool && price.poolSeconds > 0 ? pool.pool : '',
          poolSeconds: price.poolSeconds,
          period: pricer.periodOf(record),
        });
      }
      this.events.emit('rating', { seconds: seconds(ratingStarted), records: group.length });
      ledgerStarted = process.hrtime.bigint();
      return {
        currency: current.currency,
        usages,
        poolUse: Object.fromEntries(poolMonths.map((key) => [key, current.poolUsed[key] ?? 0])),
      };
    });
    this.events.emit('ledger', { seconds: seconds(ledgerStarted), usages: group.length });

    if ('refused' in result) {
      const rejection: Rejection =
        result.refused === 'no_account'
          ? { code: 'unknown_tenant', message: `no account for tenant ${tenant}` }
          : {
              code: 'invalid_field',
              message: `the ledger refused the usage: ${result.refused} ${result.detail}`,
            };
      return group.map(({ record }) => ({
        kind: 'rejected',
        rejection,
        stage: 'ledger',
        usageId: record.id,
        tenantId: tenant,
      }));
    }
    const applied = new Map<string, AppliedUsage>(result.applied.map((a) => [a.usageId, a]));
    const now = (this.options.clock ?? (() => new Date()))();
    const seen = new Set<string>();
    return group.map(({ record }) => {
      const repeat = seen.has(record.id);
      seen.add(record.id);
      const fresh = applied.get(record.id);
      const stored = fresh?.outcome ?? state!.applied.get(record.id);
      if (!stored) {
        const price = priced.get(record.id);
        const reason = price?.kind === 'unrated' ? price.reason : 'not priced';
        return {
          kind: 'rejected',
          rejection: {
            code: reason.startsWith('unsupported_currency') ? 'unsupported_currency' : 'unrated_destination',
            message: reason,
          },
          stage: 'rating',
          usageId: record.id,
          tenantId: tenant,
        };
      }
      const duplicate = repeat || !fresh || fresh.duplicate;
      if (!duplicate && record.endDateTime) {
        this.events.emit('debitLag', {
          seconds: Math.max(0, (now.getTime() - Date.parse(record.endDateTime)) / 1000),
        });
      }
      // The rated record repeats the stored outcome: details come from pricing again with the
      // pool seconds it drew, which is deterministic, and the money from the ledger.
      let price = priced.get(record.id);
      if (!price || price.kind === 'unrated' || duplicate) {
        price = this.options.pricer.price(record, state!.currency, stored.poolSeconds);
      }
      if (price.kind === 'unrated') {
        price = {
          kind: 'priced',
          payment: 'free',
          charge: 0n,
          connectionCharge: 0n,
          currency: state!.currency,
          billedSeconds: 0,
          poolSeconds: 0,
          destinationName: '',
          rate: null,
        };
      }
      return { kind: 'rated', record, priced: price, applied: stored, duplicate };
    });
  }

  private ratedMessage(outcome: Extract<Outcome, { kind: 'rated' }>): Message {
    const { record, priced, applied } = outcome;
    const currency = priced.currency;
    const value = {
      ...record,
      charge: minorToDecimal(applied.charge.toString(), currency),
      connectionCharge: minorToDecimal(priced.connectionCharge.toString(), currency),
      currency,
      billedSeconds: priced.billedSeconds,
      poolSeconds: applied.poolSeconds,
      source: applied.source,
      destinationName: priced.destinationName,
      rate: priced.rate,
      ratedAt: applied.appliedAt.toISOString(),
    };
    const headers: IHeaders = { 'content-type': 'application/json' };
    if (outcome.duplicate) headers['x-duplicate'] = 'true';
    return { key: record.tenantId, value: JSON.stringify(value), headers };
  }

  private deadLetter(item: Incoming, rejection: Rejection): Message {
    return {
      key: item.message.key,
      value: item.message.value,
      headers: {
        ...(item.message.headers ?? {}),
        'x-error-code': rejection.code,
        'x-error-message': rejection.message,
        'x-origin-topic': item.topic,
        'x-origin-partition': String(item.partition),
        'x-origin-offset': item.message.offset,
        'x-origin-timestamp': item.message.timestamp,
      },
    };
  }

  /**
   * Runs `step` until it succeeds: a failure is retried with backoff and consumption of the
   * partition waits, heartbeating. Gives up when the consumer stops, loses the partition or
   * its group session (then the batch is redelivered, to this or another instance), and at
   * once on an error `retriable` refuses (a bug fails loudly instead of looping).
   */
  private async untilDone<T>(
    stage: 'ledger' | 'produce' | 'commit' | 'registry',
    heartbeat: () => Promise<void>,
    keepGoing: () => boolean,
    step: () => Promise<T>,
    tenantId?: string,
    retriable: (error: unknown) => boolean = () => true,
  ): Promise<T> {
    const { initial, max } = this.options.retryDelayMs ?? { initial: 100, max: 5_000 };
    const context = this.batches.getStore();
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch (error) {
        if (!retriable(error)) throw error;
        if (isSessionError(error)) {
          // A commit (or a heartbeat) refused: retrying with this member id never succeeds.
          if (context) this.sessionLost = { generation: context.generation, error };
          throw error;
        }
        if (stage === 'ledger') this.events.emit('scriptError', { operation: 'applyUsage', error, tenantId });
        this.events.emit('retry', { stage, error, tenantId });
        if (context) this.progress.retrying(context.topic, context.partition, stage, error);
        if (!keepGoing()) throw this.abandonReason(context, error);
        const delay = Math.round(Math.random() * Math.min(max, initial * 2 ** Math.min(attempt - 1, 16)));
        await new Promise((resolve) => setTimeout(resolve, delay));
        await heartbeat().catch(() => undefined);
        if (!keepGoing()) throw this.abandonReason(context, error);
      }
    }
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

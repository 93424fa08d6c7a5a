import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import type { Rejection } from '../credits/codes';
import { formatMoney } from '../credits/money';
import type { RatedDetails } from '../credits/usage-details';
import { errorMessage } from '../settlement/retry';
import type { RatedRecordFit } from '../settlement/settle-batch';
import type { AppliedCharge, ConflictingCharge, Settlement } from '../settlement/settle-outcomes';
import type { DecodedUsageRecord } from './cdr-decoder';
import { fitsMessageLimit, messageBytes } from './grouped-sender';
import { ratedValue, ratedValueBound } from './rated-record-format';

/**
 * The messages a usage record ends in (CONTRACTS.md section 2 and the dead-letter headers of
 * docs/pipeline.md): its rated record on the rated topic, or its dead letter, each within the
 * broker's message size limit.
 */

export interface Incoming {
  topic: string;
  partition: number;
  message: KafkaMessage;
}

export interface Rated {
  kind: 'rated';
  record: DecodedUsageRecord;
  /**
   * The record serialised before its debit (serialiseRecord); emptied once its message is
   * built (messageFor), which holds it, so that the batch does not keep it twice while it sends.
   */
  body: string;
  details: RatedDetails;
  applied: AppliedCharge;
  duplicate: boolean;
}

export interface Rejected {
  kind: 'rejected';
  rejection: Rejection;
  stage: 'decode' | 'rating' | 'ledger' | 'produce';
  usageId?: string;
  tenantId?: string;
  /** The usage was applied in the ledger: its debit stands (x-charged). */
  charged: boolean;
  /** Headers the dead letter carries besides the usual ones. */
  headers?: IHeaders;
}

export type Outcome = Rated | Rejected;

/** A valid record on its way to the ledger (its fingerprint set by the use case). */
export interface Settling {
  item: Incoming;
  record: DecodedUsageRecord;
  /** The record serialised before its debit (serialiseRecord). */
  body: string;
  fingerprint?: string;
}

/** The headers a conflicting duplicate's dead letter carries: the first charge of its id. */
export function conflictHeaders(conflict: ConflictingCharge): IHeaders {
  return {
    'x-conflict-first-fingerprint': conflict.firstFingerprint,
    'x-conflict-fingerprint': conflict.fingerprint,
    'x-conflict-first-charge': formatMoney({ minor: conflict.firstCharge, currency: conflict.firstCurrency }),
    'x-conflict-first-currency': conflict.firstCurrency,
    'x-conflict-first-source': conflict.firstSource,
    'x-conflict-first-applied-at': conflict.firstAppliedAt.toISOString(),
  };
}

/** What the last-resort dead letter (original headers dropped) may weigh. */
export const MINIMAL_DEAD_LETTER_BYTES = 4096;
/** Room left under the limit when a dead letter's value is cut (the header values' varints). */
const TRUNCATION_SLACK_BYTES = 64;

/** The headers of a rated record that is not a duplicate (ratedMessage). */
const RATED_HEADERS: IHeaders = { 'content-type': 'application/json' };

/**
 * A usage's rated record (CONTRACTS.md section 2), keyed by its tenant. The value is encoded to
 * UTF-8 once, here: its size checks and the producer then read a length and copy bytes, where a
 * string is measured and encoded again by each.
 */
export function ratedMessage({ record, body, details, applied, duplicate }: Omit<Rated, 'kind'>): Message {
  const headers: IHeaders = { 'content-type': 'application/json' };
  if (duplicate) headers['x-duplicate'] = 'true';
  return { key: record.tenantId, value: Buffer.from(ratedValue(body, details, applied)), headers };
}

/** Builds each record's one message, none larger than `maxMessageBytes`. */
export class RecordMessages implements RatedRecordFit<Settling> {
  constructor(readonly maxMessageBytes: number) {}

  /** The one message a record ends in; a rated record that cannot be sent becomes a dead letter. */
  messageFor(item: Incoming, outcome: Outcome): { item: Incoming; outcome: Outcome; message: Message } {
    if (outcome.kind === 'rated') {
      let rejection: Rejection;
      try {
        const message = ratedMessage(outcome);
        if (fitsMessageLimit(message, this.maxMessageBytes)) {
          outcome.body = '';
          return { item, outcome, message };
        }
        rejection = {
          code: 'too_large',
          message: `the rated record would be ${messageBytes(message)} bytes, more than the broker's ${this.maxMessageBytes}`,
        };
      } catch (error) {
        rejection = { code: 'unserializable', message: errorMessage(error) };
      }
      outcome = {
        kind: 'rejected',
        rejection,
        stage: 'produce',
        usageId: outcome.record.id,
        tenantId: outcome.record.tenantId,
        charged: true,
      };
    }
    return { item, outcome, message: this.deadLetter(item, outcome) };
  }

  /** A settlement as the consumer carries it to its message. */
  outcomeOf({ record, body }: Settling, settled: Settlement): Outcome {
    if (settled.kind === 'rated') return { ...settled, body };
    const { rejection, stage, charged, conflict } = settled;
    return {
      kind: 'rejected',
      rejection,
      stage,
      charged,
      usageId: record.id,
      tenantId: record.tenantId,
      ...(conflict ? { headers: conflictHeaders(conflict) } : {}),
    };
  }

  /** Why the rated record of a usage could not go out (asked before it is charged), if it could not. */
  check({ record, body }: Settling, details: RatedDetails, applied: AppliedCharge): Rejection | undefined {
    try {
      // Most records are far below the limit: a bound of the message's size says so without
      // building it; only a record the bound puts over the limit is measured exactly.
      const bound = ratedValueBound(body, details, applied);
      const withoutValue: Message = { key: record.tenantId, value: null, headers: RATED_HEADERS };
      if (fitsMessageLimit(withoutValue, this.maxMessageBytes - bound)) return undefined;
      const probe = ratedMessage({ record, body, details, applied, duplicate: false });
      if (fitsMessageLimit(probe, this.maxMessageBytes)) return undefined;
      return {
        code: 'too_large',
        message: `the rated record would be ${messageBytes(probe)} bytes, more than the broker's ${this.maxMessageBytes}`,
      };
    } catch (error) {
      return { code: 'unserializable', message: errorMessage(error) };
    }
  }

  /**
   * The original bytes with why and where from. A dead letter over `limit` keeps the first
   * bytes of the value that fit, with `x-truncated` and `x-original-size`; the minimal one
   * (when the broker refused even that) drops the original headers too.
   */
  deadLetter(item: Incoming, outcome: Rejected, limit = this.maxMessageBytes): Message {
    const minimal = limit < this.maxMessageBytes;
    const headers: IHeaders = {
      ...(minimal ? {} : (item.message.headers ?? {})),
      'x-error-code': outcome.rejection.code,
      'x-error-message': outcome.rejection.message,
      'x-origin-topic': item.topic,
      'x-origin-partition': String(item.partition),
      'x-origin-offset': item.message.offset,
      'x-origin-timestamp': item.message.timestamp,
      'x-charged': String(outcome.charged),
      ...outcome.headers,
    };
    const key = minimal && item.message.key ? item.message.key.subarray(0, 256) : item.message.key;
    const message: Message = { key, value: item.message.value, headers };
    if (fitsMessageLimit(message, limit)) return message;
    const value = item.message.value ?? Buffer.alloc(0);
    headers['x-truncated'] = 'true';
    headers['x-original-size'] = String(value.length);
    const room = limit - messageBytes({ key, value: null, headers }) - TRUNCATION_SLACK_BYTES;
    return { key, value: value.subarray(0, Math.max(0, room)), headers };
  }
}

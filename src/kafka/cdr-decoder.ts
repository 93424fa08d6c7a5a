import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { z } from 'zod';
import type { Rejection } from '../credits/codes';
import { TENANT_ID_PATTERN } from '../credits/tenant';
import { CALL_TYPES, E164_NUMBER as E164, parseInstant, UsageRecord } from '../rating';
import { DEFAULT_MAX_MESSAGE_BYTES } from './grouped-sender';

export { CALL_TYPES };

const COUNTRY_CODE = /^[A-Z]{2}$/;
/** The very pattern `z.iso.datetime({ offset: true })` checks (zod's own regex, not a copy). */
const ISO_WITH_OFFSET = z.regexes.datetime({ offset: true });
const MAX_DURATION_SECONDS = 7 * 24 * 3600;
const NUMBER_TYPES = ['subscriber', 'service', 'tollFree'] as const;
const DESTINATION_CONTEXTS = ['Domestic', 'International'] as const;

const e164 = z.string().regex(E164, 'must be E.164: + and 2 to 15 digits');
const isoWithOffset = z.iso.datetime({
  offset: true,
  error: 'must be ISO 8601 with a time zone offset or Z',
});
const countryCode = z.string().regex(COUNTRY_CODE, 'must be ISO 3166-1 alpha-2');
const optional = <T extends z.ZodType>(schema: T) => schema.nullish().transform((v) => v ?? undefined);

/**
 * The usage record of CONTRACTS.md section 1; unknown fields pass through untouched. It judges
 * every record the fast check (`contractRecord`) does not accept, and words the rejections.
 */
export const usageRecordSchema = z.looseObject({
  id: z.string().min(1).max(128),
  tenantId: z.string().regex(TENANT_ID_PATTERN, 'must be 1-64 characters of A-Z a-z 0-9 . _ -'),
  callType: z.enum(CALL_TYPES),
  startDateTime: isoWithOffset,
  duration: z.number().int('must be a whole number of seconds').min(0).max(MAX_DURATION_SECONDS),
  calleeNumber: optional(e164),
  callerNumber: optional(e164),
  endDateTime: optional(isoWithOffset),
  numberType: optional(z.enum(NUMBER_TYPES)),
  licenseCapability: optional(z.string().min(1).max(64)),
  usageCountryCode: optional(countryCode),
  tenantCountryCode: optional(countryCode),
  destinationContext: optional(z.enum(DESTINATION_CONTEXTS)),
});

/** The contract's fields in the schema's order: the order zod writes them in its output. */
const CONTRACT_FIELDS = Object.keys(usageRecordSchema.shape);
const CONTRACT_FIELD_SET = new Set(CONTRACT_FIELDS);
const CALL_TYPE_SET = new Set<unknown>(CALL_TYPES);
const NUMBER_TYPE_SET = new Set<unknown>(NUMBER_TYPES);
const DESTINATION_CONTEXT_SET = new Set<unknown>(DESTINATION_CONTEXTS);

/**
 * A string of 1 to `max` characters. zod counts code points; a string within `max` UTF-16
 * units is within `max` code points too, and one longer is left to zod.
 */
const shortString = (value: unknown, max: number) =>
  typeof value === 'string' && value.length >= 1 && value.length <= max;
const matches = (value: unknown, pattern: RegExp) => typeof value === 'string' && pattern.test(value);
/** What `optional()` lets through: absent, null, or a value the field's check accepts. */
const absentOr = (value: unknown, accepted: boolean) => value === undefined || value === null || accepted;

/**
 * The record exactly as `usageRecordSchema.parse(raw)` makes it, when the schema would accept
 * it; undefined when it might not (zod then decides, and words the rejection). Hand-written
 * because the schema is the rater's costliest step per record; test/unit/kafka/cdr-decoder
 * compares the two on generated records. zod's output: the contract's fields in the schema's
 * order, those present and null as undefined, then the other fields as they came, but
 * `__proto__`, which zod does not copy.
 */
export function contractRecord(raw: Record<string, unknown>): Record<string, unknown> | undefined {
  const { duration } = raw;
  const valid =
    shortString(raw.id, 128) &&
    matches(raw.tenantId, TENANT_ID_PATTERN) &&
    CALL_TYPE_SET.has(raw.callType) &&
    matches(raw.startDateTime, ISO_WITH_OFFSET) &&
    typeof duration === 'number' &&
    Number.isInteger(duration) &&
    duration >= 0 &&
    duration <= MAX_DURATION_SECONDS &&
    absentOr(raw.calleeNumber, matches(raw.calleeNumber, E164)) &&
    absentOr(raw.callerNumber, matches(raw.callerNumber, E164)) &&
    absentOr(raw.endDateTime, matches(raw.endDateTime, ISO_WITH_OFFSET)) &&
    absentOr(raw.numberType, NUMBER_TYPE_SET.has(raw.numberType)) &&
    absentOr(raw.licenseCapability, shortString(raw.licenseCapability, 64)) &&
    absentOr(raw.usageCountryCode, matches(raw.usageCountryCode, COUNTRY_CODE)) &&
    absentOr(raw.tenantCountryCode, matches(raw.tenantCountryCode, COUNTRY_CODE)) &&
    absentOr(raw.destinationContext, DESTINATION_CONTEXT_SET.has(raw.destinationContext));
  if (!valid) return undefined;
  const record: Record<string, unknown> = {};
  for (const name of CONTRACT_FIELDS) if (name in raw) record[name] = raw[name] ?? undefined;
  for (const name in raw) {
    if (!CONTRACT_FIELD_SET.has(name) && name !== '__proto__') record[name] = raw[name];
  }
  return record;
}

/** A valid usage record; fields beyond the contract's are kept as they came. */
export type DecodedUsageRecord = UsageRecord;

/**
 * A rejection, with the usage and tenant ids the record gave as far as it could be read
 * (a record that fails validation may still name them), so that logs can name them too.
 */
export interface RejectedRecord {
  rejected: Rejection;
  usageId?: string;
  tenantId?: string;
}

/** A string id of sensible length, or nothing: what a rejected record says is not trusted. */
const readableId = (value: unknown) =>
  typeof value === 'string' && value.length > 0 && value.length <= 128 ? value : undefined;

function rejectedWithIds(raw: Record<string, unknown>, rejected: Rejection): RejectedRecord {
  const usageId = readableId(raw.id);
  const tenantId = readableId(raw.tenantId);
  return { rejected, ...(usageId ? { usageId } : {}), ...(tenantId ? { tenantId } : {}) };
}

/** The limits a record must keep to be charged (docs/pipeline.md, "Records set aside"). */
export interface CdrRules {
  /** Largest value accepted, in bytes (`record_too_large`). */
  maxRecordBytes: number;
  /** Deepest nesting of the decoded value, the record itself being 1 (`too_deep`). */
  maxDepth: number;
  /** The clock the time window is read against. */
  now: () => Date;
  /** How far after now a call may end and still be charged (`future_start`). */
  futureSkewMs: number;
  /** How far before now a call may start and still be charged (`too_late`). */
  maxAgeMs: number;
}

export const DEFAULT_MAX_DEPTH = 32;
export const DEFAULT_FUTURE_SKEW_MS = 5 * 60 * 1000;
/** The idempotency retention (35 days) less a day's margin. */
export const DEFAULT_MAX_AGE_MS = 34 * 24 * 3600 * 1000;

export const defaultCdrRules = (overrides: Partial<CdrRules> = {}): CdrRules => ({
  maxRecordBytes: DEFAULT_MAX_MESSAGE_BYTES,
  maxDepth: DEFAULT_MAX_DEPTH,
  now: () => new Date(),
  futureSkewMs: DEFAULT_FUTURE_SKEW_MS,
  maxAgeMs: DEFAULT_MAX_AGE_MS,
  ...overrides,
});

/**
 * Whether `value` nests deeper than `limit` (a scalar is 0 deep, `{}` 1). Iterative, so that
 * a hostile value cannot exhaust the stack here, and it stops at the first path too deep.
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [node, depth] = next;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** A record decoded and valid, or why not. */
export type DecodedCdr = { record: DecodedUsageRecord } | RejectedRecord;

/** What `decodeCdrSync` answers for an Avro value: only the (asynchronous) registry can read it. */
export const NEEDS_REGISTRY = Symbol('needs the schema registry');

/** Decodes one message value: JSON, or Avro in the Confluent wire format through the registry. */
export async function decodeCdr(
  value: Buffer | null,
  key: string | undefined,
  registry: SchemaRegistry | undefined,
  rules: CdrRules = defaultCdrRules(),
): Promise<DecodedCdr> {
  const decoded = decodeCdrSync(value, key, registry, rules);
  if (decoded !== NEEDS_REGISTRY) return decoded;
  let raw: unknown;
  try {
    raw = await registry!.decode(value!);
  } catch (error) {
    if (registryUnavailable(error)) throw new RegistryUnavailableError(error);
    return { rejected: { code: 'avro_decode_failed', message: errorMessage(error) } };
  }
  return checked(raw, key, rules);
}

/**
 * `decodeCdr` without a promise: the same answer for every value but an Avro one (first byte
 * 0, with a registry), for which it answers NEEDS_REGISTRY and `decodeCdr` is to be asked.
 */
export function decodeCdrSync(
  value: Buffer | null,
  key: string | undefined,
  registry: SchemaRegistry | undefined,
  rules: CdrRules = defaultCdrRules(),
): DecodedCdr | typeof NEEDS_REGISTRY {
  if (!value || value.length === 0)
    return { rejected: { code: 'empty_value', message: 'the message has no value' } };
  if (value.length > rules.maxRecordBytes) {
    return {
      rejected: {
        code: 'record_too_large',
        message: `the value is ${value.length} bytes, more than the ${rules.maxRecordBytes} accepted`,
      },
    };
  }
  if (value[0] === 0 && registry) return NEEDS_REGISTRY;
  let raw: unknown;
  try {
    raw = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return { rejected: { code: 'malformed_json', message: errorMessage(error) } };
  }
  return checked(raw, key, rules);
}

/**
 * A batch of message values decoded, in order: one promise for the batch, and a wait only for
 * Avro values (the registry); every other value is decoded without a promise of its own.
 */
export async function decodeCdrs(
  messages: readonly { value: Buffer | null; key: string | undefined }[],
  registry: SchemaRegistry | undefined,
  rules: CdrRules = defaultCdrRules(),
): Promise<DecodedCdr[]> {
  const decoded = messages.map(({ value, key }) => decodeCdrSync(value, key, registry, rules));
  const reads: Promise<void>[] = [];
  decoded.forEach((d, i) => {
    if (d !== NEEDS_REGISTRY) return;
    const { value, key } = messages[i]!;
    reads.push(decodeCdr(value, key, registry, rules).then((read) => void (decoded[i] = read)));
  });
  if (reads.length > 0) await Promise.all(reads);
  return decoded as DecodedCdr[];
}

/** The checks of a decoded value: depth, shape (the contract), key and time window. */
function checked(raw: unknown, key: string | undefined, rules: CdrRules): DecodedCdr {
  if (nestsDeeperThan(raw, rules.maxDepth)) {
    const rejected: Rejection = {
      code: 'too_deep',
      message: `the value nests deeper than ${rules.maxDepth} levels`,
    };
    return isObject(raw) ? rejectedWithIds(raw, rejected) : { rejected };
  }
  if (!isObject(raw)) {
    return { rejected: { code: 'not_an_object', message: 'the value is not a JSON object' } };
  }
  let record = contractRecord(raw) as ContractRecord | undefined;
  if (!record) {
    const parsed = usageRecordSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.join('.');
      const missing = issue.code === 'invalid_type' && raw[field] === undefined;
      return rejectedWithIds(
        raw,
        missing
          ? { code: 'missing_field', message: `${field} is required` }
          : {
              code: 'invalid_field',
              message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
            },
      );
    }
    record = parsed.data;
  }
  if (key === undefined || key !== record.tenantId) {
    return rejectedWithIds(record, {
      code: 'key_mismatch',
      message:
        key === undefined
          ? `the message has no key (the key is the tenantId ${record.tenantId})`
          : `message key ${key.slice(0, 128)} is not the record's tenantId ${record.tenantId}`,
    });
  }
  const outside = outsideWindow(record, rules);
  if (outside) return rejectedWithIds(record, outside);
  return { record: record as DecodedUsageRecord };
}

type ContractRecord = z.infer<typeof usageRecordSchema>;

/**
 * A call is charged only if it has ended (start + duration, or its endDateTime, no later than
 * now plus the skew) and started within the window whose ids the ledger still remembers.
 */
function outsideWindow(record: ContractRecord, rules: CdrRules): Rejection | undefined {
  const now = rules.now().getTime();
  const start = parseInstant(record.startDateTime);
  const end = Math.max(
    start + record.duration * 1000,
    record.endDateTime ? parseInstant(record.endDateTime) : -Infinity,
  );
  if (end > now + rules.futureSkewMs) {
    return {
      code: 'future_start',
      message: `the call starting ${record.startDateTime} ends after now (${new Date(now).toISOString()}) plus ${rules.futureSkewMs / 1000} s`,
    };
  }
  if (start < now - rules.maxAgeMs) {
    return {
      code: 'too_late',
      message: `the call started ${record.startDateTime}, before the ${Math.floor(rules.maxAgeMs / 3_600_000)} hours whose usage ids the ledger remembers`,
    };
  }
  return undefined;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The schema registry could not say what a schema id is: unreachable, timed out, or an
 * answer other than "no such schema". Retriable: the batch waits and tries again, and the
 * record is never dead-lettered for it.
 */
export class RegistryUnavailableError extends Error {
  override readonly name = 'RegistryUnavailableError';
  readonly retriable = true;
  constructor(override readonly cause: unknown) {
    super(`schema registry unavailable: ${errorMessage(cause)}`);
  }
}

/**
 * A failure of the registry request itself, other than its answer that the schema id does
 * not exist (404 "Schema <id> not found", error code 40403), which dead-letters the record.
 * The client reports a request that got no answer (refused, reset, timed out) with a status
 * too (mappersmith gives 400 or 408), so every other status, a 404 from some other server
 * (a wrong URL) included, is taken as the registry being away. Errors without a status come
 * after the schema was found (the bytes do not fit it): dead letters.
 */
function registryUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('status' in error)) return false;
  const { status, message } = error as { status: unknown; message?: unknown };
  return !(status === 404 && typeof message === 'string' && /schema \S+ not found/i.test(message));
}

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

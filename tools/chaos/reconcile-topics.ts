/** The chaos audit's reading of the topics: the input regenerated, rated records, dead letters, events. */
import type { Kafka } from 'kafkajs';
import { cdrStream, CdrStreamOptions } from '../loadgen/cdr-stream';
import { scanTopic } from './topics';

export interface RatedEntry {
  tenantId: string;
  charge: string;
  source: string;
  ratedAt: string;
  records: number;
  unflagged: number;
  inconsistent: boolean;
}

export interface EventRecord {
  type: string;
  body: string;
  data: Record<string, unknown>;
}

type Problem = (text: string) => void;

/** The input, regenerated from its seed: valid ids with their tenant, repeats, malformed bytes. */
export function regenerateInput(stream: { count: number; options: Partial<CdrStreamOptions> }) {
  const expected = new Map<string, string>();
  const malformedInputs = new Set<string>();
  let repeats = 0;
  for (const record of cdrStream(stream.count, stream.options)) {
    if (record.kind === 'valid') expected.set(record.id!, record.tenantId);
    else if (record.kind === 'duplicate') repeats += 1;
    else malformedInputs.add(record.value.toString());
  }
  return { expected, malformedInputs, repeats };
}

/** Rated records, folded per usage id as they stream by; two outcomes for one id are a problem. */
export async function scanRated(
  kafka: Kafka,
  topic: string,
  expected: Map<string, string>,
  problem: Problem,
) {
  const rated = new Map<string, RatedEntry>();
  let flaggedDuplicate = 0;
  let unexpectedRated = 0;
  const ratedRecords = await scanTopic(kafka, topic, (message) => {
    const value = JSON.parse(message.value.toString()) as {
      id: string;
      tenantId: string;
      charge: string;
      source: string;
      ratedAt: string;
    };
    const duplicate = message.headers['x-duplicate'] === 'true';
    if (duplicate) flaggedDuplicate += 1;
    const entry = rated.get(value.id);
    if (!entry) {
      if (expected.get(value.id) !== value.tenantId) {
        unexpectedRated += 1;
        problem(`rated ${value.id} of ${value.tenantId}: not a valid input of that tenant`);
      }
      rated.set(value.id, {
        tenantId: value.tenantId,
        charge: value.charge,
        source: value.source,
        ratedAt: value.ratedAt,
        records: 1,
        unflagged: duplicate ? 0 : 1,
        inconsistent: false,
      });
      return;
    }
    entry.records += 1;
    if (!duplicate) entry.unflagged += 1;
    if (
      !entry.inconsistent &&
      (entry.charge !== value.charge || entry.source !== value.source || entry.ratedAt !== value.ratedAt)
    ) {
      // Two stored outcomes for one id: it was applied twice.
      entry.inconsistent = true;
      problem(
        `rated ${value.id}: records disagree (${entry.charge} ${entry.source} ${entry.ratedAt} vs ` +
          `${value.charge} ${value.source} ${value.ratedAt})`,
      );
    }
  });
  return { rated, flaggedDuplicate, unexpectedRated, ratedRecords };
}

/** Dead letters, by their untouched bytes: every malformed input, and nothing else. */
export async function scanDeadLetters(
  kafka: Kafka,
  topic: string,
  malformedInputs: Set<string>,
  problem: Problem,
) {
  const deadValues = new Set<string>();
  const deadRecords = await scanTopic(kafka, topic, (message) => {
    deadValues.add(message.value.toString());
  });
  const missingDead = [...malformedInputs].filter((value) => !deadValues.has(value));
  const unexpectedDead = [...deadValues].filter((value) => !malformedInputs.has(value));
  for (const value of missingDead.slice(0, 5)) problem(`malformed input not dead-lettered: ${value}`);
  for (const value of unexpectedDead.slice(0, 5)) problem(`dead-lettered but not malformed: ${value}`);
  return { deadValues, deadRecords, missingDead, unexpectedDead };
}

/** Events, by tenant and id; a redelivery must be the same event. */
export async function scanEvents(kafka: Kafka, topic: string, tenants: Set<string>, problem: Problem) {
  const events = new Map<string, Map<string, EventRecord>>();
  const byType: Record<string, number> = {};
  let eventRecords = 0;
  let distinctEvents = 0;
  await scanTopic(kafka, topic, (message) => {
    eventRecords += 1;
    const body = message.value.toString();
    const event = JSON.parse(body) as {
      id: string;
      type: string;
      subject: string;
      data: Record<string, unknown>;
    };
    const tenantEvents = events.get(event.subject) ?? new Map<string, EventRecord>();
    events.set(event.subject, tenantEvents);
    const seen = tenantEvents.get(event.id);
    if (seen) {
      if (seen.body !== body) problem(`event ${event.id}: redelivered with other content`);
      return;
    }
    distinctEvents += 1;
    byType[event.type] = (byType[event.type] ?? 0) + 1;
    tenantEvents.set(event.id, { type: event.type, body, data: event.data });
  });
  for (const tenant of events.keys()) {
    if (!tenants.has(tenant)) problem(`events for ${tenant}, a tenant the run did not open`);
  }
  return { events, byType, eventRecords, distinctEvents };
}

import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { errorMessage } from '../settlement/retry';
import { CdrRules, decodeCdrs } from './cdr-decoder';
import { serialiseRecord } from './rated-record-format';
import type { Incoming, Outcome, Settling } from './record-messages';

/**
 * A batch's records decoded and validated, each valid one serialised before its debit (a
 * record whose rated record cannot be written is never charged): those go on to be settled,
 * the others are set aside at the decode stage (`outcomes`).
 */
export async function decodeBatch(
  incoming: Incoming[],
  registry: SchemaRegistry | undefined,
  rules: CdrRules,
): Promise<{ outcomes: Map<Incoming, Outcome>; settling: Settling[] }> {
  // JSON values decode without a promise each; only Avro values wait for the registry.
  const decoded = await decodeCdrs(
    incoming.map(({ message }) => ({ value: message.value, key: message.key?.toString() })),
    registry,
    rules,
  );
  const outcomes = new Map<Incoming, Outcome>();
  const settling: Settling[] = [];
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
    try {
      // The fingerprint is the use case's to set: declared here, so the object keeps its shape.
      settling.push({ item, record, body: serialiseRecord(record), fingerprint: undefined });
    } catch (error) {
      outcomes.set(item, {
        kind: 'rejected',
        rejection: { code: 'unserializable', message: errorMessage(error) },
        stage: 'decode',
        usageId: record.id,
        tenantId: record.tenantId,
        charged: false,
      });
    }
  });
  return { outcomes, settling };
}

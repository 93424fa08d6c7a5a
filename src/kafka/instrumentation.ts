/**
 * The pipeline's named events, as the consumer's files import them: declared in
 * src/shared/instrumentation.ts, where the observability adapter subscribes without
 * importing the Kafka adapter.
 */
export { PipelineInstrumentation } from '../shared/instrumentation';
export type { PipelineEvents, RecordResult } from '../shared/instrumentation';

import { down } from '../../tools/stack/stack';

export default async function faultTeardown(): Promise<void> {
  if (process.env.RATER_FAULT_STACK_DIR) await down(process.env.RATER_FAULT_STACK_DIR);
}

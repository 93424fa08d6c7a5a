#!/usr/bin/env node
import { Command } from 'commander';
import { loadgenCommand } from './loadgen/cli';
import { sipCommand } from './sip/cli';
import { stackCommand } from './stack/cli';

/**
 * `rater-tools`: the development tools, apart from the service (never built into dist/):
 * the local stack, the load generator and the SIP switch. The chaos run and the demo have their own
 * entry points (`npm run chaos`, `npm run demo`).
 */
const program = new Command('rater-tools').description(
  'development tools of the rater: the local stack, the load generator and the SIP switch',
);
program.addCommand(stackCommand());
program.addCommand(loadgenCommand());
program.addCommand(sipCommand());

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

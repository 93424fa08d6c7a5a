#!/usr/bin/env node
import { Command } from 'commander';
import { startApp } from './app';
import { loadConfig } from './config';
import { RatingPricer } from './consumers/rating-pricer';
import { loadRateBook } from './rating';
import { ratesCommand } from './rating/cli';
import { stackCommand } from './stack/cli';

/** `rater`: the one command line of the service and its tools. */
const program = new Command('rater').description(
  'usage-rating stream processor for prepaid communications credits',
);

program
  .command('serve')
  .description('run the service with the configuration from the environment (see README)')
  .action(async () => {
    const config = loadConfig();
    const book = loadRateBook(config.rates.dir);
    const app = await startApp(config, { pricer: new RatingPricer(book), book });
    const shutdown = () => {
      app.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
  });

program.addCommand(stackCommand());
program.addCommand(ratesCommand());

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

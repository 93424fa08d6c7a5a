/**
 * A rater process for the fault tests: the real service (src/app.ts) with the configuration
 * from the environment, priced by the stand-in FlatPricer so the expected charges are easy
 * to compute. SIGKILL it at any moment; SIGTERM stops it gracefully.
 */
import { startApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/observability/logs';
import { FlatPricer } from './flat-pricer';

startApp(loadConfig(), { pricer: new FlatPricer(), logger: createLogger(process.env.LOG_LEVEL ?? 'warn') })
  .then((app) => {
    process.stdout.write(`ready ${app.url}\n`);
    const stop = () => void app.stop().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  })
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });

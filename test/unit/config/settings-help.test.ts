import { ENV_NAMES } from '../../../src/config';
import { settingsHelp } from '../../../src/config/settings-help';

describe('rater serve --help', () => {
  it('lists every setting the configuration reads, with its default', () => {
    const help = settingsHelp();
    for (const name of Object.values(ENV_NAMES)) expect(help).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    expect(help).toMatch(/^ {2}KAFKA_BROKERS +\(required\)$/m);
    expect(help).toMatch(/^ {2}IDEMPOTENCY_RETENTION_DAYS +35$/m);
    expect(help).toMatch(/^ {2}SESSION_GRANT_SECONDS +300$/m);
    expect(help).toMatch(/^ {2}REDIS_KEY_PREFIX +\(none\)$/m);
    expect(help).toContain('<NAME>_FILE: KAFKA_SASL_USERNAME');
  });
});

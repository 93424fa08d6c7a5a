import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_TYPES, REJECTION_CODES } from '../../../src/credits/codes';
import { COMMANDS_DIR } from '../../../src/ledger/script-loader';

/** Every Lua file of the ledger, includes too. */
function luaSources(dir = COMMANDS_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? luaSources(join(dir, entry.name))
      : entry.name.endsWith('.lua')
        ? [readFileSync(join(dir, entry.name), 'utf8')]
        : [],
  );
}

describe('the one list of names', () => {
  it('names exactly the event types the ledger scripts emit', () => {
    const emitted = new Set(
      luaSources().flatMap((source) => [...source.matchAll(/emit\(ctx, '([a-z._]+)'/g)].map((m) => m[1]!)),
    );
    expect([...emitted].sort()).toEqual([...EVENT_TYPES].sort());
  });

  it('lists every rejection code once, and every code the pipeline guide documents', () => {
    expect(new Set(REJECTION_CODES).size).toBe(REJECTION_CODES.length);
    const guide = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'pipeline.md'), 'utf8');
    for (const code of REJECTION_CODES) expect(guide).toContain(`\`${code}\``);
  });
});

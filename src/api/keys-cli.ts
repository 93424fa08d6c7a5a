import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { adminRequest, printAnswer, table, withAdminApi } from './cli-requests';

const tenantPath = (tenantId: string) => `/v1/tenants/${encodeURIComponent(tenantId)}/api-keys`;

/** `rater keys create|list|revoke`: tenants' API keys through the admin API (the operator's token). */
export function keysCommand(): Command {
  const keys = withAdminApi(new Command('keys')).description(
    "issue, list and revoke a tenant's API keys (operator token in RATER_TOKEN)",
  );

  keys
    .command('create <tenantId>')
    .description('issue a new API key: printed once, only its SHA-256 is kept')
    .action(async (tenantId: string, _options: unknown, command: Command) =>
      printAnswer(
        command,
        await adminRequest(command, 'POST', tenantPath(tenantId)),
        (body: { keyId: string; apiKey: string }) => [
          `key ${body.keyId} for ${tenantId} (shown once, keep it now):`,
          body.apiKey,
        ],
      ),
    );

  keys
    .command('list <tenantId>')
    .description("the tenant's live keys: ids and issue times")
    .action(async (tenantId: string, _options: unknown, command: Command) =>
      printAnswer(
        command,
        await adminRequest(command, 'GET', tenantPath(tenantId)),
        (body: { keys: { keyId: string; createdAt: string | null }[] }) =>
          body.keys.length === 0
            ? [`${tenantId} has no API keys`]
            : table(
                ['KEY ID', 'ISSUED'],
                body.keys.map((key) => [key.keyId, key.createdAt ?? '(before issue times were kept)']),
              ),
      ),
    );

  keys
    .command('revoke <tenantId> <keyId>')
    .description('revoke a key: refused at once by the API and the console')
    .action(async (tenantId: string, keyId: string, _options: unknown, command: Command) =>
      printAnswer(
        command,
        await adminRequest(command, 'DELETE', `${tenantPath(tenantId)}/${encodeURIComponent(keyId)}`),
        () => [`key ${keyId} of ${tenantId} revoked`],
      ),
    );
  return keys;
}

/** A new operator token and the SHA-256 the service is configured with (OPERATOR_TOKEN_SHA256). */
export function newOperatorToken(): { token: string; sha256: string } {
  const token = `rop.${randomBytes(32).toString('base64url')}`;
  return { token, sha256: createHash('sha256').update(token, 'utf8').digest('hex') };
}

/** Sets `NAME=value` in an env file (compose's `.env`), keeping its other lines. */
export function setEnvFileValue(path: string, name: string, value: string): void {
  const lines = existsSync(path) ? readFileSync(path, 'utf8').split('\n') : [];
  const kept = lines.filter((line) => !line.startsWith(`${name}=`));
  while (kept.length > 0 && kept[kept.length - 1] === '') kept.pop();
  writeFileSync(path, [...kept, `${name}=${value}`, ''].join('\n'), { mode: 0o600 });
}

/** `rater token new`: the operator's token, printed once; the service keeps only its SHA-256. */
export function tokenCommand(): Command {
  const token = new Command('token').description("the operator's bearer token");
  token
    .command('new')
    .description('make an operator token: prints it once, and its SHA-256 for OPERATOR_TOKEN_SHA256')
    .option(
      '--env-file <path>',
      'also write OPERATOR_TOKEN_SHA256=<sha256> into this env file (compose reads .env)',
    )
    .option('--json', 'print {token, sha256} as JSON')
    .action((options: { envFile?: string; json?: boolean }) => {
      const made = newOperatorToken();
      if (options.envFile) setEnvFileValue(options.envFile, 'OPERATOR_TOKEN_SHA256', made.sha256);
      if (options.json) {
        console.log(JSON.stringify(made));
        return;
      }
      console.log(`operator token (shown once, keep it secret): ${made.token}`);
      console.log(`OPERATOR_TOKEN_SHA256=${made.sha256}`);
      if (options.envFile) console.log(`written to ${options.envFile}`);
    });
  return token;
}

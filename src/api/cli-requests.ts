import { Command } from 'commander';

/** What an admin API call from the command line answered. */
export interface CliAnswer {
  status: number;
  ok: boolean;
  body: unknown;
}

/**
 * The admin API options every command group shares (`--url`, `--token`, `--json`), and one
 * request function: it prints the refusal of a failed request (with which credential is
 * missing or refused on a 401/403) and sets the exit code; the command prints the answer.
 */
export function withAdminApi(command: Command): Command {
  return command
    .option('--url <url>', 'the rater (env RATER_URL)', process.env.RATER_URL ?? 'http://127.0.0.1:8080')
    .option(
      '--token <token>',
      "bearer token: the operator's or a tenant API key (env RATER_TOKEN)",
      process.env.RATER_TOKEN,
    )
    .option('--json', 'print the API answer as JSON, for scripts');
}

export async function adminRequest(
  command: Command,
  method: string,
  path: string,
  body?: unknown,
): Promise<CliAnswer> {
  const { url, token } = command.optsWithGlobals<{ url: string; token?: string }>();
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON (a proxy's page): shown as it is.
  }
  if (!response.ok) {
    console.error(typeof parsed === 'string' ? parsed : JSON.stringify(parsed, null, 2));
    const hint = credentialHint(response.status, token);
    if (hint) console.error(hint);
    process.exitCode = 1;
  }
  return { status: response.status, ok: response.ok, body: parsed };
}

/** Which credential a refusal is about, said in the words of the command line. */
export function credentialHint(status: number, token: string | undefined): string | undefined {
  if (status === 401)
    return token
      ? 'the token was refused: RATER_TOKEN (or --token) must be the operator token or a live tenant API key'
      : 'no credentials: set RATER_TOKEN (or --token) to the operator token or a tenant API key';
  if (status === 403)
    return "this needs the operator token in RATER_TOKEN (or --token), or that tenant's own key";
  return undefined;
}

/** Prints the answer: JSON with --json (or when the command has no words for it), else `describe`'s lines. */
export function printAnswer(command: Command, answer: CliAnswer, describe?: (body: never) => string[]): void {
  if (!answer.ok) return;
  if (command.optsWithGlobals<{ json?: boolean }>().json || !describe) {
    if (answer.body !== undefined) console.log(JSON.stringify(answer.body, null, 2));
    return;
  }
  for (const line of describe(answer.body as never)) console.log(line);
}

/** Rows as a plain table: columns padded to their widest cell. */
export function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)];
}

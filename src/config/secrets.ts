import { readFileSync } from 'node:fs';

/**
 * The settings that are secrets. Each can come from the environment or from a file named by
 * `<NAME>_FILE` (a mounted Kubernetes or Docker secret), exactly one of the two.
 */
export const SECRET_NAMES = [
  'KAFKA_SASL_USERNAME',
  'KAFKA_SASL_PASSWORD',
  'REDIS_USERNAME',
  'REDIS_PASSWORD',
  'SCHEMA_REGISTRY_USERNAME',
  'SCHEMA_REGISTRY_PASSWORD',
  'STRIPE_WEBHOOK_SECRET',
] as const;

/**
 * The environment with each secret's `_FILE` read in its place, and a problem, naming the
 * variable, for a secret set twice or a file that is missing, unreadable or empty. The file's
 * one trailing newline (what `echo` and editors leave) is not part of the secret.
 */
export function resolveSecretFiles(env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; problems: string[] } {
  const resolved = { ...env };
  const problems: string[] = [];
  for (const name of SECRET_NAMES) {
    const fileName = `${name}_FILE`;
    const file = env[fileName];
    delete resolved[fileName];
    if (!file) continue;
    if (env[name]) {
      problems.push(`${name}: set either ${name} or ${fileName}, not both`);
      continue;
    }
    let text: string;
    try {
      text = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      problems.push(
        `${fileName}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      );
      continue;
    }
    if (text === '') problems.push(`${fileName}: ${file} is empty`);
    else resolved[name] = text;
  }
  return { env: resolved, problems };
}

import type { z } from 'zod';
import { ENV_NAMES } from './env-names';
import { configSchema, PAYMENT_ROLES, type Config } from './schema';
import { resolveSecretFiles } from './secrets';

export { ENV_NAMES } from './env-names';
export { SASL_MECHANISMS, stripeKeyProblem, type Config, type Role } from './schema';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * The payment rules (docs/payments.md): the recharge role charges cards, so it needs a real
 * gateway choice (`stripe`, or `simulated` on purpose); the api role takes purchases, so it
 * needs a choice too, where `none` runs it without purchases (an authorization-only front).
 */
function checkPayments(config: z.infer<typeof configSchema>, context: z.RefinementCtx): void {
  const { gateway, stripeApiKey, stripeApiKeyFile } = config.payments;
  const needs = config.roles.filter((role) => role === 'recharge' || role === 'api' || role === 'reconciler');
  if (gateway === undefined && needs.length > 0)
    context.addIssue({
      code: 'custom',
      path: ['payments', 'gateway'],
      message: `is required for the ${needs.length > 1 ? `${needs.slice(0, -1).join(', ')} and ${needs.at(-1)}` : needs[0]} role${needs.length > 1 ? 's' : ''}: stripe (with STRIPE_API_KEY or STRIPE_API_KEY_FILE), simulated (tests and demos only), or none (api without purchases)`,
    });
  for (const role of ['recharge', 'reconciler'] as const)
    if (gateway === 'none' && config.roles.includes(role))
      context.addIssue({
        code: 'custom',
        path: ['payments', 'gateway'],
        message: `none cannot serve the ${role} role: ${role === 'recharge' ? 'auto-recharge charges cards' : 'settling payments asks the gateway'} (stripe, or simulated in tests)`,
      });
  if (config.payments.stripeWebhookSecret && gateway !== 'stripe')
    context.addIssue({
      code: 'custom',
      path: ['payments', 'stripeWebhookSecret'],
      message: 'needs PAYMENT_GATEWAY=stripe: the webhook records what Stripe says of cards and payments',
    });
  if (gateway === 'stripe' && !stripeApiKey === !stripeApiKeyFile)
    context.addIssue({
      code: 'custom',
      path: ['payments', 'stripeApiKey'],
      message: 'PAYMENT_GATEWAY=stripe needs exactly one of STRIPE_API_KEY or STRIPE_API_KEY_FILE',
    });
}

/** Reads the configuration once, at start-up; a missing or bad value stops the start with its name. */
export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  const { env, problems: secretProblems } = resolveSecretFiles(environment);
  const input: Record<string, unknown> = {};
  for (const [path, name] of Object.entries(ENV_NAMES)) {
    const value = env[name];
    const keys = path.split('.');
    let node = input;
    for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
    node[keys[keys.length - 1]!] = value === '' ? undefined : value;
  }
  // `all` without a payment gateway (PAYMENT_GATEWAY=none): every role but those that charge
  // cards, so a service without a Stripe key starts with purchases and auto-recharge off, and
  // says so (/readyz), instead of refusing to start. Naming such a role with none is refused.
  const roles = (input.roles ?? 'all') as string;
  const payments = input.payments as { gateway?: string };
  const allWithoutPayments = roles === 'all' && payments.gateway === 'none';
  const result = configSchema
    .transform((config) =>
      allWithoutPayments
        ? { ...config, roles: config.roles.filter((role) => !PAYMENT_ROLES.includes(role)) }
        : config,
    )
    .superRefine(checkPayments)
    .safeParse(input);
  if (!result.success || secretProblems.length > 0) {
    const names = ENV_NAMES as Record<string, string>;
    const issues = result.success ? [] : result.error.issues;
    const problems = issues.map((issue) => {
      const path = issue.path.filter((key) => typeof key === 'string').join('.');
      const index = issue.path.filter((key) => typeof key === 'number').map((i) => `[${i}]`);
      return `${names[path] ?? path}${index.join('')}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${[...secretProblems, ...problems].join('\n  ')}`);
  }
  return result.data!;
}

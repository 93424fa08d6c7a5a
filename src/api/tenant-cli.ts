import { Command } from 'commander';
import { adminRequest, printAnswer, table, withAdminApi } from './cli-requests';
import { addCallCommands } from './tenant-calls-cli';

/** Calls the API and prints its answer as JSON. */
type Request = (method: string, path: string, body?: unknown) => Promise<void>;
/** The tenant's own currency, when a command is not told one. */
type CurrencyOf = (id: string, given?: string) => Promise<string | undefined>;

/** `rater tenant ...`: the admin API from the command line (RATER_URL, RATER_TOKEN). */
export function tenantCommand(): Command {
  const tenant = withAdminApi(new Command('tenant')).description(
    'create, show and fund tenant accounts through the admin API',
  );

  /** Calls the API and prints its answer as JSON (the refusal, with a credential hint, on failure). */
  const request = async (method: string, path: string, body?: unknown) =>
    printAnswer(tenant, await adminRequest(tenant, method, path, body));

  /** The tenant's own currency, when a command is not told one. */
  const currencyOf = async (id: string, given?: string): Promise<string | undefined> => {
    if (given) return given;
    const balance = await adminRequest(tenant, 'GET', `/v1/tenants/${encodeURIComponent(id)}/balance`);
    return balance.ok ? (balance.body as { balance?: { currency?: string } }).balance?.currency : undefined;
  };

  accountCommands(tenant, request);
  fundsCommands(tenant, request, currencyOf);
  limitsCommands(tenant, request);
  addCallCommands(tenant);
  return tenant;
}

/** `create`, `add-card`, `show`: the account itself. */
function accountCommands(tenant: Command, request: Request): void {
  tenant
    .command('create <tenantId>')
    .description('create or update a tenant account')
    .requiredOption('--currency <code>', 'ISO 4217 currency')
    .option('--mode <mode>', 'prepaid or postpaid', 'prepaid')
    .option('--low-balance <amount>', 'low-balance threshold')
    .option('--contact <email...>', 'admin contacts')
    .option('--payment-method <ref>', "a payment method attached to the tenant's customer (pm_...)")
    .option('--licence <capability:country:users...>', 'licences, e.g. MCOPSTN1:US:25')
    .action(async (id: string, o: Record<string, string | string[] | undefined>) => {
      const licences = ((o.licence as string[] | undefined) ?? []).map((l) => {
        const [capability, country, users] = l.split(':');
        return { capability, country, users: Number(users) };
      });
      await request('PUT', `/v1/tenants/${encodeURIComponent(id)}`, {
        billingMode: o.mode,
        currency: o.currency,
        ...(o.lowBalance ? { lowBalanceThreshold: o.lowBalance } : {}),
        ...(o.contact ? { adminContacts: o.contact } : {}),
        ...(o.paymentMethod ? { paymentMethodRef: o.paymentMethod } : {}),
        ...(licences.length ? { licences } : {}),
      });
    });

  tenant
    .command('add-card <tenantId>')
    .description("start the payment provider's hosted page where the tenant's admin adds a card")
    .action((id: string) =>
      request('POST', `/v1/tenants/${encodeURIComponent(id)}/payment-method/setup`, {}),
    );

  tenant
    .command('show <tenantId>')
    .description('balance, lots, expiries, auto-recharge and blocked state')
    .action(async (id: string) =>
      printAnswer(
        tenant,
        await adminRequest(tenant, 'GET', `/v1/tenants/${encodeURIComponent(id)}/balance`),
        describeBalance,
      ),
    );
}

/** `buy`, `adjust`, `set-auto-recharge`: money in, and how it is topped up. */
function fundsCommands(tenant: Command, request: Request, currencyOf: CurrencyOf): void {
  tenant
    .command('buy <tenantId>')
    .description("buy credits: charged to the tenant's payment method first, credited only when paid")
    .requiredOption('--amount <amount>', 'decimal amount, e.g. 25.00')
    .option('--currency <code>', "the tenant's currency (default: the account's)")
    .requiredOption('--id <purchaseId>', 'purchase id (the idempotency key: retry with the same one)')
    .action(async (id: string, o: { amount: string; currency?: string; id: string }) => {
      const currency = await currencyOf(id, o.currency);
      if (!currency) return;
      await request('POST', `/v1/tenants/${encodeURIComponent(id)}/purchases`, {
        purchaseId: o.id,
        amount: o.amount,
        currency,
      });
    });

  tenant
    .command('adjust <tenantId>')
    .description('credit money without a payment (operator only): a goodwill credit or a migration')
    .requiredOption('--amount <amount>', 'decimal amount, e.g. 25.00')
    .option('--currency <code>', "the tenant's currency (default: the account's)")
    .requiredOption('--id <adjustmentId>', 'adjustment id (the idempotency key)')
    .requiredOption('--reason <text>', 'why')
    .requiredOption('--made-by <name>', 'who makes it')
    .option('--migration <purchasedAt>', 'a migration of funds bought at this ISO time in another system')
    .action(
      async (
        id: string,
        o: {
          amount: string;
          currency?: string;
          id: string;
          reason: string;
          madeBy: string;
          migration?: string;
        },
      ) => {
        const currency = await currencyOf(id, o.currency);
        if (!currency) return;
        await request('POST', `/v1/tenants/${encodeURIComponent(id)}/adjustments`, {
          adjustmentId: o.id,
          amount: o.amount,
          currency,
          reason: o.reason,
          madeBy: o.madeBy,
          ...(o.migration ? { kind: 'migration', purchasedAt: o.migration } : {}),
        });
      },
    );

  tenant
    .command('set-auto-recharge <tenantId>')
    .description('turn auto-recharge on or off and set its amounts')
    .option('--off', 'turn auto-recharge off')
    .option('--trigger <amount>', 'recharge when the balance falls below this')
    .option('--amount <amount>', 'how much each recharge adds')
    .option('--monthly-cap <n>', 'at most this many recharges a month')
    .action((id: string, o: { off?: boolean; trigger?: string; amount?: string; monthlyCap?: string }) =>
      request('PUT', `/v1/tenants/${encodeURIComponent(id)}/auto-recharge`, {
        enabled: !o.off,
        ...(o.trigger ? { triggerAmount: o.trigger } : {}),
        ...(o.amount ? { rechargeAmount: o.amount } : {}),
        ...(o.monthlyCap ? { monthlyCap: Number(o.monthlyCap) } : {}),
      }),
    );
}

/** `user-limits`, `set-user-limits`, `burst-guard`, `clear-block`: spend limits and the burst guard. */
function limitsCommands(tenant: Command, request: Request): void {
  tenant
    .command('user-limits <tenantId>')
    .description("per-user spend limits, each user's spend this month, the burst guard and the blocked users")
    .action((id: string) => request('GET', `/v1/tenants/${encodeURIComponent(id)}/user-limits`));

  tenant
    .command('set-user-limits <tenantId>')
    .description("set per-user monthly spend limits of the tenant's credits: a default, and by user")
    .option('--default <amount>', "every user's limit without one of their own ('none': no default)")
    .option(
      '--user <user=limit...>',
      "a user's limit: an amount, 'none' (no limit, whatever the default) or 'default' (the user's own removed)",
    )
    .action((id: string, o: { default?: string; user?: string[] }) => {
      const users: Record<string, string | null> = {};
      for (const pair of o.user ?? []) {
        const at = pair.lastIndexOf('=');
        if (at <= 0) throw new Error(`--user ${pair}: expected <user>=<amount|none|default>`);
        const value = pair.slice(at + 1);
        users[pair.slice(0, at)] = value === 'default' ? null : value;
      }
      return request('PUT', `/v1/tenants/${encodeURIComponent(id)}/user-limits`, {
        ...(o.default !== undefined ? { default: o.default === 'none' ? null : o.default } : {}),
        ...(o.user ? { users } : {}),
      });
    });

  tenant
    .command('burst-guard <tenantId>')
    .description(
      'set the burst (toll-fraud) guard: block a user whose credit-paid calls of the window hold more international calls or spend',
    )
    .option('--off', 'turn the guard off')
    .option('--window <minutes>', 'the sliding window over the calls start, 1 to 1440 minutes')
    .option(
      '--max-international-calls <n>',
      'more international credit-paid calls in the window block the user',
    )
    .option('--max-spend <amount>', 'more credit-paid spend in the window blocks the user (decimal)')
    .action(
      (
        id: string,
        o: { off?: boolean; window?: string; maxInternationalCalls?: string; maxSpend?: string },
      ) =>
        request('PUT', `/v1/tenants/${encodeURIComponent(id)}/user-limits`, {
          burstGuard: o.off
            ? null
            : {
                windowMinutes: Number(o.window),
                ...(o.maxInternationalCalls
                  ? { maxInternationalCalls: Number(o.maxInternationalCalls) }
                  : {}),
                ...(o.maxSpend ? { maxSpend: o.maxSpend } : {}),
              },
        }),
    );

  tenant
    .command('clear-block <tenantId> <user>')
    .description("clear the burst guard's block of a user (and the user's window)")
    .action((id: string, user: string) =>
      request('DELETE', `/v1/tenants/${encodeURIComponent(id)}/user-blocks/${encodeURIComponent(user)}`),
    );
}

type Money = { amount: string; currency: string };
interface BalanceView {
  tenantId: string;
  billingMode: string;
  balance: Money;
  reserved: Money;
  available: Money;
  blocked: boolean;
  autoRecharge: {
    enabled: boolean;
    triggerAmount: Money;
    rechargeAmount: Money;
    pendingRequestId: string | null;
    lastFailure: { at: string; reason: string } | null;
  };
  lots: { lotId: string; source: string; remaining: Money; expiresAt: string; status: string }[];
}

/** `rater tenant show` for people: the balance and its lots (`--json` prints the API's answer). */
export function describeBalance(view: BalanceView): string[] {
  const money = (m: Money) => `${m.amount} ${m.currency}`;
  const recharge = view.autoRecharge;
  return [
    `${view.tenantId} (${view.billingMode})${view.blocked ? ': BLOCKED, credit-paid calls are refused' : ''}`,
    `balance    ${money(view.balance)}`,
    `reserved   ${money(view.reserved)} by calls in progress; available ${money(view.available)}`,
    `recharge   ${
      recharge.enabled
        ? `on: ${money(recharge.rechargeAmount)} below ${money(recharge.triggerAmount)}${recharge.pendingRequestId ? ` (pending ${recharge.pendingRequestId})` : ''}`
        : 'off'
    }${recharge.lastFailure ? `; last failed ${recharge.lastFailure.at}: ${recharge.lastFailure.reason}` : ''}`,
    '',
    ...(view.lots.length === 0
      ? ['no lots']
      : table(
          ['LOT', 'SOURCE', 'REMAINING', 'EXPIRES', 'STATUS'],
          view.lots.map((lot) => [
            lot.lotId,
            lot.source,
            money(lot.remaining),
            lot.expiresAt.slice(0, 10),
            lot.status,
          ]),
        )),
  ];
}

import type {
  AccountSettings,
  AccountView,
  BillingMode,
  MinorUnits,
  SettingsChange,
} from '../credits/wallet';

/**
 * The account hash (TenantKeys.account), encoded and decoded in one place in TypeScript.
 * The Lua side reads and writes the same fields: includes/account.lua (loadAccount,
 * saveAccount) and updateSettings-10.lua (SETTINGS, and what a new account starts with); a
 * unit test checks that every field they name is one of these.
 */
export const AccountField = {
  // Settings (updateSettings-10.lua changes them, and only it).
  mode: 'mode',
  currency: 'currency',
  lowThreshold: 'lowThreshold',
  arEnabled: 'arEnabled',
  arTrigger: 'arTrigger',
  arAmount: 'arAmount',
  arMonthlyCap: 'arMonthlyCap',
  arMaxFailures: 'arMaxFailures',
  paymentMethodRef: 'paymentMethodRef',
  /** JSON list of admin e-mail addresses. */
  contacts: 'contacts',
  settingsVersion: 'settingsVersion',
  // State the money scripts keep.
  balance: 'balance',
  debt: 'debt',
  lowNotified: 'lowNotified',
  blocked: 'blocked',
  arFailures: 'arFailures',
  arPending: 'arPending',
  arPendingSince: 'arPendingSince',
  arSeq: 'arSeq',
  arMonth: 'arMonth',
  arMonthCount: 'arMonthCount',
  /** When the last auto-recharge failed (ms) and why; both '' once a recharge succeeds. */
  arLastFailureAt: 'arLastFailureAt',
  arLastFailureReason: 'arLastFailureReason',
  createdAt: 'createdAt',
  updatedAt: 'updatedAt',
  // What the tenant adds to its index shard's gauges (includes/indexes.lua keeps them).
  /** The gauges key that counts the tenant (another one: not counted there yet). */
  ixGauges: 'ixGauges',
  ixCounted: 'ixCounted',
  ixDepleted: 'ixDepleted',
  ixBacklog: 'ixBacklog',
  /** '1' while the tenant is in its shard's low-balance index. */
  ixLow: 'ixLow',
  // Call sessions (includes/sessions.lua keeps them).
  /** Money the tenant's sessions hold (reserved and held), minor units. */
  sessHold: 'sessHold',
  /** Sessions not yet settled by their CDR (the CDR path looks sessions up only when not 0). */
  sessOpen: 'sessOpen',
  /** Live credit-paid sessions (the tenant's concurrency cap counts them). */
  sessLive: 'sessLive',
  /** How far what sessions hold may pass the balance (minor units; 0 when absent). */
  sessionOverdraft: 'sessionOverdraft',
} as const;
export type AccountFieldName = (typeof AccountField)[keyof typeof AccountField];

/** Fields named by a prefix and a key: `owed:<yyyy-mm>` (postpaid), `apiKey:<key id>`. */
export const OWED_PREFIX = 'owed:';
export const API_KEY_PREFIX = 'apiKey:';
export const apiKeyField = (keyId: string) => `${API_KEY_PREFIX}${keyId}`;

/** The settings updateSettings-10.lua accepts by name (its SETTINGS, in its order). */
export const SETTINGS_FIELDS = [
  AccountField.mode,
  AccountField.currency,
  AccountField.lowThreshold,
  AccountField.arEnabled,
  AccountField.arTrigger,
  AccountField.arAmount,
  AccountField.arMonthlyCap,
  AccountField.arMaxFailures,
  AccountField.paymentMethodRef,
  AccountField.contacts,
  AccountField.sessionOverdraft,
] as const;

/** The field the script takes pool capacities in (written to the pools hash, not the account). */
export const POOL_CAPACITIES_CHANGE = 'caps';

/** A settings change as updateSettings-10.lua takes it: only the named fields, string values. */
export function settingsChangeFields(
  change: SettingsChange,
): Record<string, string | Record<string, number>> {
  const ar = change.autoRecharge ?? {};
  const named = (field: AccountFieldName, value: string | undefined) =>
    value === undefined ? {} : { [field]: value };
  return {
    ...named(AccountField.mode, change.mode),
    ...named(AccountField.currency, change.currency),
    ...named(AccountField.lowThreshold, change.lowBalanceThreshold?.toString()),
    ...named(AccountField.arEnabled, ar.enabled === undefined ? undefined : ar.enabled ? '1' : '0'),
    ...named(AccountField.arTrigger, ar.trigger?.toString()),
    ...named(AccountField.arAmount, ar.amount?.toString()),
    ...named(AccountField.arMonthlyCap, ar.monthlyCap?.toString()),
    ...named(AccountField.arMaxFailures, ar.maxConsecutiveFailures?.toString()),
    ...named(AccountField.paymentMethodRef, change.paymentMethodRef),
    ...named(AccountField.contacts, change.adminContacts && JSON.stringify(change.adminContacts)),
    ...named(AccountField.sessionOverdraft, change.sessionOverdraft?.toString()),
    // cjson decodes {} and [] alike; capacities are an object, so an empty one is fine.
    ...(change.poolCapacities ? { [POOL_CAPACITIES_CHANGE]: change.poolCapacities } : {}),
  };
}

export type DecodedAccount = Omit<AccountView, 'tenantId' | 'settings' | 'lots' | 'poolUsed'> & {
  settings: Omit<AccountSettings, 'poolCapacities'>;
};

/** The account hash (HGETALL) decoded, or undefined when there is no account. */
export function decodeAccount(hash: Record<string, string>): DecodedAccount | undefined {
  const f = AccountField;
  if (!hash[f.mode]) return undefined;
  const owed: Record<string, MinorUnits> = {};
  for (const [field, value] of Object.entries(hash)) {
    if (field.startsWith(OWED_PREFIX)) owed[field.slice(OWED_PREFIX.length)] = BigInt(value);
  }
  return {
    settings: {
      mode: hash[f.mode] as BillingMode,
      currency: hash[f.currency]!,
      lowBalanceThreshold: BigInt(hash[f.lowThreshold] ?? '0'),
      autoRecharge: {
        enabled: hash[f.arEnabled] === '1',
        trigger: BigInt(hash[f.arTrigger] ?? '0'),
        amount: BigInt(hash[f.arAmount] ?? '0'),
        monthlyCap: Number(hash[f.arMonthlyCap] ?? 0),
        maxConsecutiveFailures: Number(hash[f.arMaxFailures] ?? 0),
      },
      paymentMethodRef: hash[f.paymentMethodRef] ?? '',
      adminContacts: JSON.parse(hash[f.contacts] ?? '[]') as string[],
      sessionOverdraft: BigInt(hash[f.sessionOverdraft] ?? '0'),
    },
    settingsVersion: Number(hash[f.settingsVersion] ?? 0),
    balance: BigInt(hash[f.balance] ?? '0'),
    debt: BigInt(hash[f.debt] ?? '0'),
    blocked: isBlocked(hash[f.blocked]),
    autoRecharge: {
      pendingRequestId: hash[f.arPending] ?? '',
      consecutiveFailures: Number(hash[f.arFailures] ?? 0),
      month: hash[f.arMonth] ?? '',
      rechargesThisMonth: Number(hash[f.arMonthCount] ?? 0),
      lastFailure: hash[f.arLastFailureAt]
        ? { at: new Date(Number(hash[f.arLastFailureAt])), reason: hash[f.arLastFailureReason] ?? '' }
        : null,
    },
    owed,
    sessionsHold: BigInt(hash[f.sessHold] ?? '0'),
    createdAt: hash[f.createdAt] ?? '',
    updatedAt: hash[f.updatedAt] ?? '',
  };
}

/** The `blocked` flag as stored ('1' or '0'). */
export const isBlocked = (value: string | null | undefined) => value === '1';

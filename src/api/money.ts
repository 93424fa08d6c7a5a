import { minorToDecimal } from '../credits/money';
import { currencyDigits, isCurrency } from '../rating';

/** An amount as the API answers it: a decimal string in its currency. */
export const presentMoney = (minor: bigint, currency: string) => ({
  amount: minorToDecimal(minor.toString(), currency),
  currency,
});

/**
 * The first amount with more decimals than the currency has (or a currency ISO 4217 does not
 * know), as a message naming its field. The schema has checked the form already, so
 * decimalToMinor cannot throw after this.
 */
export const tooPrecise = (currency: string, amounts: Record<string, string | undefined>) => {
  if (!isCurrency(currency)) return `body/currency ${currency} is not an ISO 4217 currency`;
  const digits = currencyDigits(currency);
  const field = Object.keys(amounts).find((name) => (amounts[name]?.split('.')[1] ?? '').length > digits);
  return field && `${field} ${amounts[field]}: ${currency} has ${digits} decimals at most`;
};

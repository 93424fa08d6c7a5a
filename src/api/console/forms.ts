import { z } from 'zod';

/** The console's forms as they are posted (urlencoded strings), checked before anything is done. */

const AMOUNT = /^\d{1,9}(\.\d{1,4})?$/;
const amount = z.string().trim().regex(AMOUNT, 'must be an amount like 25 or 25.50');

export const signInForm = z.object({
  _csrf: z.string().optional(),
  credential: z.string().trim().min(1, 'is required').max(256, 'is too long'),
  next: z.string().max(512).optional(),
});

export const purchaseForm = z.object({
  _csrf: z.string().optional(),
  purchaseId: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'is not a purchase id'),
  amount,
});

export const autoRechargeForm = z.object({
  _csrf: z.string().optional(),
  version: z.string().regex(/^\d{1,15}$/, 'is not a settings version'),
  enabled: z.literal('on').optional(),
  triggerAmount: amount,
  rechargeAmount: amount,
  monthlyCap: z
    .string()
    .trim()
    .regex(/^\d{1,3}$/, 'must be a whole number')
    .transform(Number)
    .refine((cap) => cap <= 100, 'must be 100 at most'),
});

/** The default spend limit: saved with an amount, or removed (no default). */
export const defaultLimitForm = z.discriminatedUnion('action', [
  z.object({ _csrf: z.string().optional(), action: z.literal('save'), default: amount }),
  z.object({ _csrf: z.string().optional(), action: z.literal('remove'), default: z.string().optional() }),
]);

/** A user's spend limit: an amount, no limit whatever the default, or back to the default. */
const limitUser = z.string().trim().min(1, 'is required').max(1024, 'is too long');
export const userLimitForm = z.discriminatedUnion('kind', [
  z.object({ _csrf: z.string().optional(), user: limitUser, kind: z.literal('limit'), limit: amount }),
  z.object({
    _csrf: z.string().optional(),
    user: limitUser,
    kind: z.enum(['none', 'default']),
    limit: z.string().optional(),
  }),
]);

/**
 * The burst guard: saved with a window and either threshold (left empty: not checked), or
 * turned off. Only the figures' form is checked here; their bounds are the shared conversion's
 * (userLimitsChange), so the fields are named as it names them.
 */
const wholeOrEmpty = z
  .string()
  .trim()
  .regex(/^(\d{1,9})?$/, 'must be a whole number or empty')
  .optional()
  .transform((value) => (value ? Number(value) : null));
export const burstGuardForm = z.discriminatedUnion('action', [
  z.object({
    _csrf: z.string().optional(),
    action: z.literal('save'),
    'burstGuard/windowMinutes': z
      .string()
      .trim()
      .regex(/^\d{1,9}$/, 'must be a whole number of minutes')
      .transform(Number),
    'burstGuard/maxInternationalCalls': wholeOrEmpty,
    'burstGuard/maxSpend': z
      .string()
      .trim()
      .regex(/^(\d{1,9}(\.\d{1,4})?)?$/, 'must be an amount like 25 or 25.50, or empty')
      .optional()
      .transform((value) => value || null),
  }),
  z.object({ _csrf: z.string().optional(), action: z.literal('off') }),
]);

/** The most calls in progress, for the tenant and for each user: a whole number, or empty for no cap. */
export const callCapsForm = z.object({
  _csrf: z.string().optional(),
  'concurrentCalls/perTenant': wholeOrEmpty,
  'concurrentCalls/perUser': wholeOrEmpty,
});

/** A blocked user's block to clear: the user key exactly as the page lists it (not trimmed). */
export const clearBlockForm = z.object({
  _csrf: z.string().optional(),
  user: z.string().min(1, 'is required').max(1024, 'is too long'),
});

/** The first problem of a form, naming its field: `amount must be an amount like 25 or 25.50`. */
export function formProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'the form is not valid';
  const field = issue.path.join('.') || 'form';
  const message = issue.code === 'invalid_type' ? 'is required' : issue.message;
  return `${field} ${message}`;
}

/** A form as a record of strings, what was posted shown again in a refused form. */
export const posted = (body: unknown): Record<string, string> =>
  Object.fromEntries(
    Object.entries((body ?? {}) as Record<string, unknown>).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string' && entry[0] !== '_csrf',
    ),
  );

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeys } from '../settlement/admin-ports';
import { TENANT_ID_PATTERN } from '../credits/tenant';
import { parseApiKey, Principal, sameDigest, sha256 } from './auth';

/** A route's credential hooks, spread into its options. */
export interface Guard {
  onRequest(request: FastifyRequest, reply: FastifyReply): Promise<unknown>;
  preValidation(request: FastifyRequest, reply: FastifyReply): Promise<unknown>;
}

/** Adds fields to every later log line of a request (pino's child loggers can). */
export const bindToLog = (request: FastifyRequest, bindings: Record<string, string>) =>
  (request.log as { setBindings?: (bindings: Record<string, string>) => void }).setBindings?.(bindings);

// The hooks run before validation: what the path or body names is not yet known to have the
// schema's shape, so it is read as unknown and compared, never trusted.
const tenantInPath = (request: FastifyRequest) => (request.params as { tenantId?: unknown }).tenantId;
export const tenantInBody = (request: FastifyRequest) =>
  (request.body as { tenantId?: unknown } | null)?.tenantId;

/**
 * The hooks of a route whose tenant is in its body (the authorization, call sessions): the
 * tenant is named in the request's log lines once the body is parsed, then the guard runs.
 */
export const bodyTenantHooks = (guard: Guard) => ({
  onRequest: guard.onRequest,
  preValidation: async (request: FastifyRequest, reply: FastifyReply) => {
    const tenant = tenantInBody(request);
    if (typeof tenant === 'string' && TENANT_ID_PATTERN.test(tenant))
      bindToLog(request, { tenantId: tenant });
    return guard.preValidation(request, reply);
  },
});

const principalFields = (principal: Principal | undefined): Record<string, string> =>
  !principal
    ? { principal: 'none' }
    : principal.kind === 'operator'
      ? { principal: 'operator' }
      : { principal: 'tenant_key', keyId: principal.keyId };

const unauthorized = (reply: FastifyReply) =>
  reply
    .code(401)
    .header('www-authenticate', 'Bearer')
    .send({ error: 'unauthorized', message: 'a valid bearer token is required' });

/**
 * Who a token is: the operator (its SHA-256 matches `operatorTokenSha256`, hex) or a tenant
 * whose stored API key digest it matches; undefined for anything else. Shared by the API's
 * bearer tokens and the console's sign-in.
 */
export function credentialChecker(
  apiKeys: Pick<ApiKeys, 'apiKeyDigest'>,
  operatorTokenSha256?: string,
): (token: string) => Promise<Principal | undefined> {
  const operatorDigest = operatorTokenSha256 ? Buffer.from(operatorTokenSha256, 'hex') : undefined;
  return async (token) => {
    const digest = sha256(token);
    if (operatorDigest && sameDigest(digest, operatorDigest)) return { kind: 'operator' };
    const claimed = parseApiKey(token);
    if (!claimed) return undefined;
    const stored = await apiKeys.apiKeyDigest(claimed.tenantId, claimed.keyId);
    return stored && sameDigest(digest, Buffer.from(stored, 'hex'))
      ? { kind: 'tenant', tenantId: claimed.tenantId, keyId: claimed.keyId }
      : undefined;
  };
}

/**
 * Every route needs a bearer token: the operator's (all tenants) or a tenant API key (that
 * tenant only, 403 for another). `operatorTokenSha256` is the SHA-256 (hex) of the operator's
 * token; without it only tenant keys work.
 */
export function guards(apiKeys: Pick<ApiKeys, 'apiKeyDigest'>, operatorTokenSha256?: string) {
  const check = credentialChecker(apiKeys, operatorTokenSha256);
  const authenticate = async (request: FastifyRequest): Promise<Principal | undefined> => {
    // The scheme is case-insensitive (RFC 9110 section 11.1): Bearer, bearer, BEARER.
    const token = /^bearer +(\S+) *$/i.exec(request.headers.authorization ?? '')?.[1];
    return token ? check(token) : undefined;
  };

  /** Who sent each request, from its onRequest hook to its preValidation hook. */
  const principals = new WeakMap<FastifyRequest, Principal>();

  /**
   * Credentials come before anything else of a request: 401 without valid ones (onRequest,
   * before the body is even parsed, so nothing about the request is answered to a stranger),
   * then 403 for another tenant's data or for an operator's action (preValidation: the tenant
   * of POST /v1/authorize is in its body).
   */
  const guard = (tenantOf: (request: FastifyRequest) => unknown, operatorOnly = false): Guard => ({
    onRequest: async (request, reply) => {
      const principal = await authenticate(request);
      bindToLog(request, principalFields(principal));
      if (!principal) return unauthorized(reply);
      principals.set(request, principal);
    },
    preValidation: async (request, reply) => {
      const principal = principals.get(request);
      if (!principal) return unauthorized(reply); // fails closed, should the hooks ever be split
      if (principal.kind === 'operator') return;
      if (operatorOnly || principal.tenantId !== tenantOf(request))
        return reply.code(403).send({
          error: 'forbidden',
          message: operatorOnly
            ? 'operator credentials are required'
            : 'these credentials are for another tenant',
        });
    },
  });

  return {
    /** The tenant in the path, or the operator. */
    forTenant: guard(tenantInPath),
    /** The operator only. */
    forOperator: guard(tenantInPath, true),
    /** The tenant in the body (POST /v1/authorize), or the operator. */
    forTenantInBody: guard(tenantInBody),
  };
}

export type Guards = ReturnType<typeof guards>;

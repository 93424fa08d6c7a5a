import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { AdminLedger } from '../settlement/admin-ports';
import type { RateBook } from '../rating';
import type { UsagePricer } from '../settlement/ports';
import type { CardGateway, PaymentGateway } from '../settlement/ports';
import type { PeriodRerate } from '../settlement/rerate-period';
import type { SessionDeps, SessionSettings } from '../settlement/call-sessions';
import type { Guards } from './guard';

/** The server the admin routes are added to: its requests are typed from the routes' schemas. */
export type AdminApp<L extends FastifyBaseLogger = FastifyBaseLogger> = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  L,
  JsonSchemaToTsProvider
>;

export interface AdminApiOptions {
  ledger: AdminLedger;
  pricer: UsagePricer;
  book?: RateBook;
  /** SHA-256 (hex) of the operator's bearer token; without it only tenant keys work. */
  operatorTokenSha256?: string;
  /** Charges purchases; without one (PAYMENT_GATEWAY=none) purchases are answered 503. */
  gateway?: PaymentGateway;
  /** Checks and sets up tenants' cards; without one a payment method cannot be set (503). */
  cards?: CardGateway;
  /** PUBLIC_URL: where the hosted card page sends the admin back (default: the request's address). */
  publicUrl?: string;
  /** Re-rates a period (POST /v1/rerates); without it the route answers 503. */
  rerate?: Pick<PeriodRerate, 'run'>;
  /** Call sessions' grants (default: DEFAULT_SESSION_SETTINGS). */
  sessions?: SessionSettings;
  /** Told of every call session start and renewal answered (metrics). */
  onSessionAnswer?: SessionDeps['onAnswer'];
}

/** What a resource's routes are given: the API's options and the credential hooks. */
export interface ResourceOptions extends AdminApiOptions {
  guards: Guards;
}

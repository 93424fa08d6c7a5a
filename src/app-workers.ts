import { createTransport } from 'nodemailer';
import type { Role } from './config';
import { subscribeToEvents } from './kafka/event-subscriber';
import { OutboxRelay } from './kafka/outbox-relay';
import { startReconciler } from './payment-roles';
import type { PaymentGateway } from './settlement/ports';
import { ExpirySweeper } from './workers/expiry-sweeper';
import { Notifier } from './workers/notifier';
import { RechargeWorker } from './workers/recharge-worker';
import { SessionSweeper } from './workers/session-sweeper';
import type { Wiring } from './app-wiring';

/** Tells the relay a tenant has events to publish now, rather than at its next sweep. */
type Poke = (tenantId: string) => void;

/** The relay role: the outbox's events published to the events topic. */
export function startRelay(wiring: Wiring): OutboxRelay {
  const { config, logger, instrumentation } = wiring;
  const relay = new OutboxRelay({
    ledger: wiring.ledger,
    producer: wiring.producer,
    topic: config.kafka.topics.eventsOut,
    source: config.outbox.eventsSource,
    sweepIntervalMs: config.outbox.sweepIntervalMs,
    onPublished: (tenantId, byType, eventIds) => {
      for (const [type, count] of byType) instrumentation.emit('eventsPublished', { type, count });
      logger.debug({ tenantId, events: Object.fromEntries(byType), eventIds }, 'events published');
    },
    onError: (error) => logger.error({ err: error }, 'outbox relay round failed'),
  });
  relay.start();
  wiring.stops.push(() => relay.stop());
  return relay;
}

/** The recharge role: a recharge request event charged through the gateway, recorded once. */
async function startRecharge(wiring: Wiring, gateway: PaymentGateway, poke: Poke): Promise<void> {
  const { config, logger, instrumentation } = wiring;
  const worker = new RechargeWorker({
    ledger: wiring.ledger,
    gateway,
    onRecorded: (tenantId, requestId, status, detail) => {
      instrumentation.emit('recharge', { outcome: status });
      if (status === 'succeeded')
        logger.info({ tenantId, requestId, status, ...detail }, 'recharge recorded');
      else logger.warn({ tenantId, requestId, status, ...detail }, 'recharge recorded');
      poke(tenantId);
    },
    onUnknown: (tenantId, requestId, message) =>
      logger.warn({ tenantId, requestId, message }, 'recharge outcome unknown: pending for the reconciler'),
  });
  const subscription = await subscribeToEvents({
    kafka: wiring.kafka,
    groupId: `${config.kafka.groupId}-recharge`,
    topic: config.kafka.topics.eventsOut,
    handle: (event) => worker.handle(event),
    onMalformed: (error) => logger.error({ err: error }, 'malformed event skipped'),
  });
  wiring.stops.unshift(subscription.stop);
}

/** The notifier role: the events that concern a tenant's admins, mailed once each. */
async function startNotifier(wiring: Wiring, smtpUrl: string): Promise<void> {
  const { config, logger } = wiring;
  const transport = createTransport(smtpUrl);
  const notifier = new Notifier({
    ledger: wiring.ledger,
    transport,
    from: config.mail.from,
    notifyLowBalance: config.mail.notifyLowBalance,
    onSent: (event, to) =>
      logger.info(
        { tenantId: event.subject, eventId: event.id, type: event.type, recipients: to.length },
        'notice mailed',
      ),
  });
  const subscription = await subscribeToEvents({
    kafka: wiring.kafka,
    groupId: `${config.kafka.groupId}-notifier`,
    topic: config.kafka.topics.eventsOut,
    handle: (event) => notifier.handle(event),
    onMalformed: (error) => logger.error({ err: error }, 'malformed event skipped'),
  });
  wiring.stops.unshift(async () => {
    await subscription.stop();
    transport.close();
  });
}

/** The sweeper role: expired lots, and call sessions past their grant or dropped. */
function startSweepers(wiring: Wiring, poke: Poke): void {
  const { config, logger, instrumentation, ledger } = wiring;
  const sweeper = new ExpirySweeper({
    ledger,
    intervalMs: config.expiry.sweepIntervalSeconds * 1000,
    onExpired: (tenantId, lots) => {
      logger.info({ tenantId, lots }, 'funds expired');
      poke(tenantId);
    },
    onError: (error) => logger.error({ err: error }, 'expiry sweep failed'),
  });
  sweeper.start();
  wiring.stops.unshift(() => sweeper.stop());
  const sessionSweeper = new SessionSweeper({
    ledger,
    intervalMs: config.sessions.sweepIntervalSeconds * 1000,
    onSwept: (tenantId, counts) => {
      logger.info({ tenantId, ...counts }, 'call sessions expired or dropped');
      instrumentation.emit('sessionsSwept', counts);
    },
    onError: (error) => logger.error({ err: error }, 'session sweep failed'),
  });
  sessionSweeper.start();
  wiring.stops.unshift(() => sessionSweeper.stop());
}

/** The background roles this process has: recharge, notifier, reconciler, sweeper. */
export async function startWorkerRoles(
  wiring: Wiring,
  { has, gateway, poke }: { has: (role: Role) => boolean; gateway: PaymentGateway | undefined; poke: Poke },
): Promise<void> {
  const { config, ledger, logger, instrumentation } = wiring;
  if (has('recharge')) {
    if (!gateway) throw new Error('the recharge role needs a payment gateway: set PAYMENT_GATEWAY');
    await startRecharge(wiring, gateway, poke);
  }
  if (has('notifier') && config.mail.smtpUrl) await startNotifier(wiring, config.mail.smtpUrl);
  if (has('reconciler')) {
    if (!gateway) throw new Error('the reconciler role needs a payment gateway: set PAYMENT_GATEWAY');
    wiring.stops.unshift(startReconciler({ ledger, gateway, config, logger, instrumentation, poke }));
  }
  if (has('sweeper')) startSweepers(wiring, poke);
}

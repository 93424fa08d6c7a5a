import type { Ledger } from '../../../src/ledger/open-ledger';
import type { CloudEvent } from '../../../src/settlement/event-ports';
import { SimulatedGateway } from '../../../src/payments/gateway';
import { RechargeWorker } from '../../../src/workers/recharge-worker';

const requested: CloudEvent = {
  specversion: '1.0',
  id: 'e1',
  source: '/rater/credits',
  type: 'credits.recharge.requested',
  subject: 'acme',
  time: '2026-11-24T09:00:00.000Z',
  datacontenttype: 'application/json',
  data: {
    requestId: 'r1',
    amount: { amount: '20.00', currency: 'USD' },
    paymentMethodRef: 'pm_card_visa',
  },
};

/** The ledger's writes the worker uses: a result recorded once, and replicas that may lag. */
function ledgerWith(replicasAcknowledge: () => boolean) {
  const recorded: string[] = [];
  const waits: string[][] = [];
  const writes = {
    recordRechargeResult: async (_tenantId: string, result: { requestId: string; status: string }) => {
      recorded.push(result.requestId);
      return { status: result.status };
    },
    awaitReplicas: async (tenantIds: Iterable<string>) => {
      waits.push([...tenantIds]);
      if (!replicasAcknowledge())
        throw Object.assign(new Error('0 of 1 replicas of redis acknowledged the writes in 100 ms'), {
          reason: 'redis_replicas_lagging',
          retriable: true,
        });
    },
  };
  return { ledger: { writes } as unknown as Pick<Ledger, 'writes'>, recorded, waits };
}

describe('the recharge worker and the replicas (REDIS_WAIT_REPLICAS)', () => {
  it('is done with a request only once the replicas hold its result: a lag throws, and the event comes again', async () => {
    let acknowledge = false;
    const { ledger, recorded, waits } = ledgerWith(() => acknowledge);
    const gateway = new SimulatedGateway();
    const told: string[] = [];
    const worker = new RechargeWorker({
      ledger,
      gateway,
      retryDelayMs: 1,
      onRecorded: (tenantId, requestId, status) => told.push(`${tenantId} ${requestId} ${status}`),
    });
    await expect(worker.handle(requested)).rejects.toMatchObject({ reason: 'redis_replicas_lagging' });
    expect(told).toEqual([]);
    acknowledge = true;
    await worker.handle(requested);
    expect(recorded).toEqual(['r1', 'r1']);
    expect(waits).toEqual([['acme'], ['acme']]);
    expect(told).toEqual(['acme r1 succeeded']);
    // One charge: the redelivery charges the same idempotency key.
    expect(new Set(gateway.charges.map((c) => c.idempotencyKey))).toEqual(new Set(['r1']));
  });
});

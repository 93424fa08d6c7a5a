import { spawnSync } from 'node:child_process';
import { callLengths, placeCalls, startCallee } from '../sip/sipp';
import { startSwitch } from '../sip/switch';

/**
 * The demo's SIP calls: Kamailio (deploy/kamailio/kamailio.cfg) in front of the rater's call
 * sessions, a SIPp callee behind it, and SIPp callers: one of contoso's users calls a UK mobile
 * and hangs up after two seconds, and litware (a tenant without credit) is refused. Skipped
 * when Kamailio or SIPp is not installed.
 */

const installed = (command: string) => spawnSync(command, ['-v'], { stdio: 'ignore' }).error === undefined;

export async function sipCalls(url: string, operatorToken: string, dir: string): Promise<void> {
  if (!installed(process.env.KAMAILIO_PATH ?? 'kamailio') || !installed(process.env.SIPP_PATH ?? 'sipp')) {
    console.log(
      '== SIP calls skipped: Kamailio or SIPp is not installed (scripts/bootstrap.sh installs them)',
    );
    return;
  }
  const created = await fetch(`${url}/v1/tenants/litware`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ billingMode: 'prepaid', currency: 'USD' }),
  });
  if (created.status !== 201 && created.status !== 200) throw new Error(`litware: ${created.status}`);
  const callee = await startCallee(dir);
  const sipSwitch = await startSwitch({
    raterUrl: url,
    token: operatorToken,
    gateway: `sip:127.0.0.1:${callee.port}`,
    dir,
  }).catch(async (error: unknown) => {
    await callee.stop();
    throw error;
  });
  try {
    console.log(`== SIP calls through Kamailio (udp 127.0.0.1:${sipSwitch.port}) on the call sessions`);
    for (const [tenant, user] of [
      ['contoso', 'bob'],
      ['litware', 'ann'],
    ] as const) {
      const result = await placeCalls({
        scenario: 'uac-hangup',
        switchPort: sipSwitch.port,
        callers: [{ tenant, user }],
        callee: '+447700900123',
        calls: 1,
        holdMs: 2_000,
        callIdPrefix: `demo-${tenant}-${Date.now()}`,
        dir,
      });
      for (const event of result.events)
        if (event.kind === 'refused')
          console.log(`   ${tenant}'s ${user} calls a UK mobile: refused ${event.code} ${event.reason}`);
      for (const [callId, seconds] of callLengths(result.events))
        console.log(
          `   ${tenant}'s ${user} calls a UK mobile: connected, hung up after ${seconds.toFixed(1)} s (${callId})`,
        );
    }
    // The switch sends a session's end from a timer, within 200 ms of the call's end.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const balance = await fetch(`${url}/v1/tenants/contoso/balance`, {
      headers: { authorization: `Bearer ${operatorToken}` },
    });
    const { reserved } = (await balance.json()) as { reserved?: { amount: string; currency: string } };
    if (reserved)
      console.log(
        `   contoso's ended call holds ${reserved.amount} ${reserved.currency} until its CDR settles it`,
      );
  } finally {
    await sipSwitch.stop();
    await callee.stop();
  }
}

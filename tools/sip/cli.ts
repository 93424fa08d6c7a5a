import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { callLengths, placeCalls, startCallee } from './sipp';
import { startSwitch } from './switch';

/**
 * `sip switch|call`: the prepaid SIP switch (Kamailio) in front of a running rater, and SIPp
 * calls through it (docs/kamailio.md).
 */
export function sipCommand(): Command {
  const sip = new Command('sip').description('the Kamailio switch on the rater, and SIPp calls through it');

  sip
    .command('switch')
    .description(
      'run Kamailio on loopback against the rater until Ctrl-C (with a SIPp callee unless --gateway)',
    )
    .requiredOption('--rater-url <url>', "the rater's base URL", process.env.RATER_URL)
    .option('--token <token>', 'the operator token (default: $RATER_TOKEN)', process.env.RATER_TOKEN)
    .option('--port <port>', 'UDP port (default: a free one)')
    .option('--gateway <uri>', 'where answered calls go (default: a SIPp callee started here)')
    .option('--dir <path>', 'pid file, run directory and logs (default: a new temporary directory)')
    .action(runSwitch);

  sip
    .command('call')
    .description('place calls through the switch with SIPp and print what happened to each')
    .requiredOption('--switch-port <port>', "the switch's UDP port on 127.0.0.1")
    .requiredOption('--tenant <id>', 'the X-Tenant header')
    .requiredOption('--callee <e164>', 'the number dialled')
    .option('--user <user>', "the From URI's user", 'alice')
    .option('--calls <n>', 'how many calls', '1')
    .option('--concurrent <n>', 'how many at once at most')
    .option('--hold-ms <ms>', 'hang up after this long (default: stay until the switch cuts the call)')
    .option('--license <capability>', 'the X-License header', 'MCOPSTNPP')
    .option('--country <code>', 'the X-Usage-Country header', 'US')
    .action(
      async (options: {
        switchPort: string;
        tenant: string;
        callee: string;
        user: string;
        calls: string;
        concurrent?: string;
        holdMs?: string;
        license: string;
        country: string;
      }) => {
        const result = await placeCalls({
          scenario: options.holdMs ? 'uac-hangup' : 'uac-cut',
          switchPort: Number(options.switchPort),
          callers: [{ tenant: options.tenant, user: options.user }],
          callee: options.callee,
          license: options.license,
          country: options.country,
          calls: Number(options.calls),
          concurrent: options.concurrent ? Number(options.concurrent) : undefined,
          holdMs: options.holdMs ? Number(options.holdMs) : undefined,
          callIdPrefix: `cli-${Date.now()}`,
          dir: mkdtempSync(join(tmpdir(), 'rater-sip-calls-')),
        });
        const lengths = callLengths(result.events);
        for (const event of result.events)
          if (event.kind === 'refused') console.log(`${event.callId} refused ${event.code} ${event.reason}`);
        for (const [callId, seconds] of lengths) console.log(`${callId} connected ${seconds.toFixed(1)} s`);
        if (result.exitCode !== 0) {
          console.error(result.output);
          process.exitCode = 1;
        }
      },
    );
  return sip;
}

/** `sip switch`: Kamailio (and a SIPp callee) until a signal, then both stopped. */
async function runSwitch(options: {
  raterUrl: string;
  token?: string;
  port?: string;
  gateway?: string;
  dir?: string;
}): Promise<void> {
  if (!options.token) throw new Error('--token or RATER_TOKEN: the operator token is required');
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'rater-sip-'));
  const callee = options.gateway ? undefined : await startCallee(dir);
  const sipSwitch = await startSwitch({
    raterUrl: options.raterUrl,
    token: options.token,
    gateway: options.gateway ?? `sip:127.0.0.1:${callee!.port}`,
    port: options.port ? Number(options.port) : undefined,
    dir,
  }).catch(async (error: unknown) => {
    await callee?.stop();
    throw error;
  });
  console.log(
    JSON.stringify({ port: sipSwitch.port, log: sipSwitch.log, calleePort: callee?.port, dir }, null, 2),
  );
  // Signal listeners alone do not keep Node running: the timer does, until a signal.
  const alive = setInterval(() => undefined, 60_000);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(alive);
  await sipSwitch.stop();
  await callee?.stop();
}

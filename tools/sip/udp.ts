import { createSocket } from 'node:dgram';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** UDP on loopback for the SIP tools: free ports and the OPTIONS probe of a SIP server. */

/** Whether a UDP port on 127.0.0.1 can be bound just now (false: some process holds it). */
export function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

function ephemeralLow(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return 32768;
  }
}

const handedOut = new Set<number>();

/**
 * A free UDP port on 127.0.0.1 below the kernel's ephemeral range (as the stack's TCP ports
 * are), never handed out twice by this process, so that two runs never collide.
 */
export async function freeUdpPort(): Promise<number> {
  const high = Math.min(ephemeralLow(), 65536) - 1;
  const low = Math.max(1024, high - 20_000);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (handedOut.has(port) || !(await canBind(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free UDP port found in ${low}-${high}`);
}

/**
 * Sends one OPTIONS to the SIP server at 127.0.0.1:`port` and resolves with the status code of
 * its answer, or undefined when none came within `timeoutMs`.
 */
export function sipOptions(port: number, timeoutMs = 500): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const id = randomUUID();
    const finish = (code: number | undefined) => {
      clearTimeout(timer);
      socket.close();
      resolve(code);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.once('error', () => finish(undefined));
    socket.on('message', (message) => {
      const status = /^SIP\/2\.0 (\d{3}) /.exec(message.toString('utf8'));
      if (status) finish(Number(status[1]));
    });
    socket.bind(0, '127.0.0.1', () => {
      const local = socket.address().port;
      const request = [
        `OPTIONS sip:127.0.0.1:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK-${id}`,
        'Max-Forwards: 70',
        `From: <sip:probe@127.0.0.1:${local}>;tag=${id.slice(0, 8)}`,
        `To: <sip:127.0.0.1:${port}>`,
        `Call-ID: probe-${id}`,
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      socket.send(request, port, '127.0.0.1');
    });
  });
}

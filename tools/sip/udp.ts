import { createSocket } from 'node:dgram';
import { randomUUID } from 'node:crypto';
import { pickPort } from '../stack/processes';

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

/**
 * A free UDP port on 127.0.0.1 below the kernel's ephemeral range (as the stack's TCP ports
 * are), never handed out twice by this process, so that two runs never collide.
 */
export function freeUdpPort(): Promise<number> {
  return pickPort(canBind, 'UDP');
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

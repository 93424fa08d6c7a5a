/** A real SMTP server on loopback that keeps what it receives: the demo's and the tests' mailbox. */
import { simpleParser } from 'mailparser';
import { createTransport, Transporter } from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { freePort } from '../stack/processes';

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  eventId: string;
}

export async function startMailbox(): Promise<{
  mails: ReceivedMail[];
  port: number;
  transport: Transporter;
  stop(): Promise<void>;
}> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          const to = Array.isArray(parsed.to) ? parsed.to : parsed.to ? [parsed.to] : [];
          mails.push({
            from: parsed.from?.text ?? '',
            to: to.flatMap((address) => address.value.map((v) => v.address ?? '')),
            subject: parsed.subject ?? '',
            text: (parsed.text ?? '').trim(),
            eventId: String(parsed.headers.get('x-rater-event-id') ?? ''),
          });
          callback();
        })
        .catch(callback);
    },
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const transport = createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  return {
    mails,
    port,
    transport,
    stop: async () => {
      transport.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

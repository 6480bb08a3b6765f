import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { encodePng } from '../../local/png.js';

export interface TestMail {
  from: string;
  to?: string;
  subject: string;
  text?: string;
  html?: string;
  messageId?: string;
  inReplyTo?: string;
  references?: string[];
  headers?: Record<string, string>;
  /**
   * Authentication-Results headers, topmost first. Left out: the one Exchange Online stamps on mail
   * from a sender it authenticated (DMARC pass for the From domain).
   */
  authenticationResults?: string[];
  attachments?: Array<{ filename?: string; content: Buffer; contentType?: string; cid?: string }>;
  date?: Date;
}

/** Exchange Online's header for mail whose From domain passed DMARC. */
export function exchangeOnlinePass(fromDomain: string): string {
  return `spf=pass (sender IP is 192.0.2.10) smtp.mailfrom=${fromDomain}; dkim=pass (signature was verified) header.d=${fromDomain};dmarc=pass action=none header.from=${fromDomain};compauth=pass reason=100`;
}

/** A raw RFC 822 mail, built the way a real mail client would, as it arrives in an Exchange Online mailbox. */
export async function rawMail(mail: TestMail): Promise<Buffer> {
  const fromDomain = /@([^\s>]+)>?\s*$/.exec(mail.from)?.[1] ?? 'unknown.example';
  const authenticationResults = mail.authenticationResults ?? [exchangeOnlinePass(fromDomain)];
  const composer = new MailComposer({
    from: mail.from,
    to: mail.to ?? 'desk@example.test',
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    messageId: mail.messageId,
    inReplyTo: mail.inReplyTo,
    references: mail.references,
    headers: {
      ...(authenticationResults.length > 0 ? { 'Authentication-Results': authenticationResults } : {}),
      ...mail.headers,
    },
    attachments: mail.attachments,
    date: mail.date ?? new Date('2026-11-23T08:00:00Z'),
  });
  return composer.compile().build();
}

/** A real, small PNG whose pixels depend on `seed`, so different seeds give different bytes. */
export function pngImage(seed: number, width = 8, height = 8): Buffer {
  const rows: number[] = [];
  for (let y = 0; y < height; y++) {
    rows.push(0);
    for (let x = 0; x < width; x++) rows.push((seed * 31 + x) & 255, (seed * 17 + y) & 255, seed & 255);
  }
  return encodePng(width, height, Buffer.from(rows));
}

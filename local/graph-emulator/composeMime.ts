import { randomBytes } from 'node:crypto';
import { encodeHeaderText, formatAddress, type MailAddress, newInternetMessageId } from './mimeHeaders.js';

export interface ComposedMessage {
  from: MailAddress;
  subject: string;
  body: { contentType: 'text' | 'html'; content: string };
  to: MailAddress[];
  cc: MailAddress[];
  bcc: MailAddress[];
  replyTo: MailAddress[];
  headers: Array<{ name: string; value: string }>;
  attachments: Array<{ name: string; contentType: string; contentBytes: string }>;
}

const base64Lines = (data: Buffer): string => data.toString('base64').replace(/.{76}(?=.)/g, '$&\r\n');

function part(contentType: string, content: Buffer, disposition?: string): string {
  return [
    `Content-Type: ${contentType}`,
    'Content-Transfer-Encoding: base64',
    ...(disposition ? [`Content-Disposition: ${disposition}`] : []),
    '',
    base64Lines(content),
  ].join('\r\n');
}

/** The RFC 822 message Exchange would build from the JSON form of sendMail. */
export function composeMime(message: ComposedMessage): Buffer {
  const domain = message.from.address.split('@')[1] ?? 'emulator.invalid';
  const addressList = (addresses: MailAddress[]): string => addresses.map(formatAddress).join(', ');
  const headers = [
    `From: ${formatAddress(message.from)}`,
    ...(message.to.length > 0 ? [`To: ${addressList(message.to)}`] : []),
    ...(message.cc.length > 0 ? [`Cc: ${addressList(message.cc)}`] : []),
    ...(message.bcc.length > 0 ? [`Bcc: ${addressList(message.bcc)}`] : []),
    ...(message.replyTo.length > 0 ? [`Reply-To: ${addressList(message.replyTo)}`] : []),
    `Subject: ${encodeHeaderText(message.subject)}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: ${newInternetMessageId(domain)}`,
    'MIME-Version: 1.0',
    ...message.headers.map(({ name, value }) => `${name}: ${encodeHeaderText(value)}`),
  ];
  const bodyPart = part(
    `text/${message.body.contentType === 'html' ? 'html' : 'plain'}; charset=utf-8`,
    Buffer.from(message.body.content),
  );
  if (message.attachments.length === 0) return Buffer.from(`${headers.join('\r\n')}\r\n${bodyPart}\r\n`);
  const boundary = `----=_Part_${randomBytes(8).toString('hex')}`;
  const parts = [
    bodyPart,
    ...message.attachments.map((attachment) =>
      part(
        `${attachment.contentType}; name="${attachment.name}"`,
        Buffer.from(attachment.contentBytes, 'base64'),
        `attachment; filename="${attachment.name}"`,
      ),
    ),
  ];
  return Buffer.from(
    [
      ...headers,
      `Content-Type: multipart/mixed; boundary="${boundary}"`,
      '',
      ...parts.map((body) => `--${boundary}\r\n${body}`),
      `--${boundary}--`,
      '',
    ].join('\r\n'),
  );
}

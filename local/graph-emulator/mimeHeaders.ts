import { randomBytes } from 'node:crypto';
import { parseAddressHeader } from 'mailparser';

export interface MailAddress {
  name: string;
  address: string;
}

/** What the emulator reads from a message's header block; the body is parsed later, only when asked for. */
export interface MessageHeaders {
  subject: string;
  from: MailAddress | null;
  sender: MailAddress | null;
  to: MailAddress[];
  cc: MailAddress[];
  bcc: MailAddress[];
  replyTo: MailAddress[];
  internetMessageId: string | null;
  inReplyTo: string | null;
  references: string[];
  date: Date | null;
  importance: 'low' | 'normal' | 'high';
  /** Every header as it appears (unfolded), for `internetMessageHeaders`. */
  lines: Array<{ name: string; value: string }>;
}

function headerBlockEnd(raw: Buffer): number {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf === -1) return lf === -1 ? raw.length : lf;
  return lf === -1 ? crlf : Math.min(crlf, lf);
}

function headerLines(raw: Buffer): Array<{ name: string; value: string }> {
  const lines: Array<{ name: string; value: string }> = [];
  for (const line of raw.subarray(0, headerBlockEnd(raw)).toString('utf8').split(/\r?\n/)) {
    const last = lines.at(-1);
    if (/^[ \t]/.test(line) && last) {
      last.value += line;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon > 0) lines.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
  }
  return lines;
}

const ENCODED_WORD = /=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g;

function decodeWord(charset: string, encoding: string, text: string): string {
  const bytes =
    encoding.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64')
      : Buffer.from(
          text
            .replace(/_/g, ' ')
            .replace(/=([0-9A-Fa-f]{2})/g, (_match, hex: string) =>
              String.fromCharCode(Number.parseInt(hex, 16)),
            ),
          'latin1',
        );
  try {
    return new TextDecoder(charset.split('*')[0]).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/** RFC 2047: whitespace between two adjacent encoded words is not part of the text. */
export function decodeEncodedWords(value: string): string {
  return value
    .replace(/(=\?[^?]+\?[bBqQ]\?[^?]*\?=)\s+(?==\?[^?]+\?[bBqQ]\?[^?]*\?=)/g, '$1')
    .replace(ENCODED_WORD, (_match, charset: string, encoding: string, text: string) =>
      decodeWord(charset, encoding, text),
    );
}

function addresses(values: string[]): MailAddress[] {
  if (values.length === 0) return [];
  return parseAddressHeader(values, { flatten: true })
    .value.filter((entry) => entry.address)
    .map((entry) => ({ name: entry.name, address: entry.address ?? '' }));
}

const messageIds = (value: string | undefined): string[] => value?.match(/<[^<>\s]+>/g) ?? [];

function importanceOf(lines: Array<{ name: string; value: string }>): MessageHeaders['importance'] {
  const value = lines.find((line) => /^(importance|x-priority)$/i.test(line.name))?.value.toLowerCase() ?? '';
  if (value === 'high' || value.startsWith('1') || value.startsWith('2')) return 'high';
  if (value === 'low' || value.startsWith('4') || value.startsWith('5')) return 'low';
  return 'normal';
}

export function parseMessageHeaders(raw: Buffer): MessageHeaders {
  const lines = headerLines(raw);
  const all = (name: string): string[] =>
    lines.filter((line) => line.name.toLowerCase() === name).map((line) => line.value);
  const first = (name: string): string | undefined => all(name)[0];
  const date = first('date');
  const parsedDate = date ? new Date(date) : null;
  const from = addresses(all('from'))[0] ?? null;
  return {
    subject: decodeEncodedWords(first('subject') ?? ''),
    from,
    sender: addresses(all('sender'))[0] ?? from,
    to: addresses(all('to')),
    cc: addresses(all('cc')),
    bcc: addresses(all('bcc')),
    replyTo: addresses(all('reply-to')),
    internetMessageId: messageIds(first('message-id'))[0] ?? null,
    inReplyTo: messageIds(first('in-reply-to'))[0] ?? null,
    references: messageIds(first('references')),
    date: parsedDate && !Number.isNaN(parsedDate.getTime()) ? parsedDate : null,
    importance: importanceOf(lines),
    lines,
  };
}

/** A Message-ID in the style Exchange generates for a message that has none. */
export const newInternetMessageId = (domain: string): string =>
  `<${randomBytes(12).toString('hex').toUpperCase()}@${domain}>`;

/** Adds a header at the top when the message has none of that name. */
export function withHeaderIfMissing(raw: Buffer, name: string, value: string): Buffer {
  if (headerLines(raw).some((line) => line.name.toLowerCase() === name.toLowerCase())) return raw;
  return Buffer.concat([Buffer.from(`${name}: ${value}\r\n`), raw]);
}

export function formatAddress(address: MailAddress): string {
  if (!address.name) return address.address;
  return `${encodeHeaderText(`"${address.name.replace(/(["\\])/g, '\\$1')}"`)} <${address.address}>`;
}

/** Non-ASCII header text as one UTF-8 encoded word. */
export function encodeHeaderText(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point
  return /^[\x00-\x7f]*$/.test(text) ? text : `=?UTF-8?B?${Buffer.from(text).toString('base64')}?=`;
}

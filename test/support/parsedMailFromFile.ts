import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  type AddressObject,
  type EmailAddress,
  type HeaderValue,
  type StructuredHeader,
  simpleParser,
} from 'mailparser';
import type { MailAddress, ParsedAttachment, ParsedMail } from '../../shared/mail/parsedMail.js';

/** Test-only bridge from mailparser to ParsedMail, so tests do not depend on the production parser. */

export async function parsedMailFromFile(file: string): Promise<ParsedMail> {
  return parsedMailFromSource(await readFile(file));
}

export async function parsedMailFromSource(source: string | Buffer): Promise<ParsedMail> {
  const raw = typeof source === 'string' ? Buffer.from(source.replace(/\r?\n/g, '\r\n'), 'utf8') : source;
  const parsed = await simpleParser(raw);

  const headers: Record<string, string[]> = {};
  const decoded = decodedValues(parsed.headers);
  for (const { key, line } of parsed.headerLines) {
    const rawValue = line
      .slice(line.indexOf(':') + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .trim();
    const list = headers[key] ?? [];
    // mailparser decodes encoded words only in its structured map; prefer that text where it is plain.
    list.push(decoded.get(key)?.[list.length] ?? rawValue);
    headers[key] = list;
  }

  const structured = structuredHeader(parsed.headers.get('content-type'));

  return {
    messageId: parsed.messageId ?? null,
    inReplyTo: idList(parsed.inReplyTo),
    references: idList(parsed.references),
    from: firstAddress(parsed.from),
    replyTo: addresses(parsed.replyTo),
    to: addresses(parsed.to),
    cc: addresses(parsed.cc),
    subject: parsed.subject ?? '',
    date: parsed.date ? parsed.date.toISOString() : null,
    headers,
    mimeType: structured?.value.toLowerCase() ?? 'text/plain',
    reportType: structured?.params['report-type']?.toLowerCase() ?? null,
    text: parsed.text ?? '',
    html: typeof parsed.html === 'string' ? parsed.html : null,
    attachments: parsed.attachments.map(
      (attachment): ParsedAttachment => ({
        filename: attachment.filename ?? null,
        contentType: attachment.contentType.toLowerCase(),
        detectedType: null,
        detectedFileType: null,
        size: attachment.size,
        inline: attachment.contentDisposition === 'inline',
        contentId: attachment.cid ?? null,
        sha256: createHash('sha256').update(attachment.content).digest('hex'),
        content: null,
        reason: 'not kept in tests',
        archivedAs: null,
      }),
    ),
    rawSize: raw.length,
    rawSha256: createHash('sha256').update(raw).digest('hex'),
  };
}

function decodedValues(map: Map<string, HeaderValue>): Map<string, string[]> {
  const result = new Map<string, string[]>();
  for (const [key, value] of map) {
    if (typeof value === 'string') result.set(key, [value]);
    else if (Array.isArray(value) && value.every((item) => typeof item === 'string')) result.set(key, value);
  }
  return result;
}

function structuredHeader(value: HeaderValue | undefined): StructuredHeader | null {
  if (value === undefined || typeof value !== 'object' || Array.isArray(value) || value instanceof Date)
    return null;
  return 'params' in value && typeof value.value === 'string' ? (value as StructuredHeader) : null;
}

function idList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).flatMap((entry) => entry.split(/\s+/)).filter(Boolean);
}

function flatten(list: EmailAddress[]): EmailAddress[] {
  return list.flatMap((entry) => (entry.group ? flatten(entry.group) : [entry]));
}

function addresses(value: AddressObject | AddressObject[] | undefined): MailAddress[] {
  if (value === undefined) return [];
  const objects = Array.isArray(value) ? value : [value];
  return flatten(objects.flatMap((object) => object.value)).map((entry) => ({
    address: (entry.address ?? '').trim().toLowerCase(),
    name: entry.name,
  }));
}

function firstAddress(value: AddressObject | AddressObject[] | undefined): MailAddress | null {
  return addresses(value)[0] ?? null;
}

/** A ParsedMail with nothing in it, for tests that set only the fields they are about. */
export function emptyParsedMail(): ParsedMail {
  return {
    messageId: null,
    inReplyTo: [],
    references: [],
    from: null,
    replyTo: [],
    to: [],
    cc: [],
    subject: '',
    date: null,
    headers: {},
    mimeType: 'text/plain',
    reportType: null,
    text: '',
    html: null,
    attachments: [],
    rawSize: 0,
    rawSha256: '0'.repeat(64),
  };
}

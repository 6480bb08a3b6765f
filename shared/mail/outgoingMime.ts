import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import {
  assertHeaderSafe,
  assertMessageId,
  assertPlainAddress,
  isMessageId,
} from '../acknowledgement/headerSafety.js';

/** Mail we send (acknowledgements, agent replies) as RFC 5322 bytes, with every header value checked (R24). */

export interface OutgoingAddress {
  address: string;
  name: string;
}

/** An image sent inside the mail, referenced from its HTML as `cid:{contentId}`. */
export interface InlineImage {
  contentId: string;
  filename: string;
  contentType: string;
  content: Buffer;
}

export interface OutgoingMimeInput {
  from: OutgoingAddress;
  to: OutgoingAddress[];
  cc?: OutgoingAddress[];
  subject: string;
  text: string;
  html?: string;
  inlineImages?: InlineImage[];
  /** Our own deterministic id (createOwnMessageId), so a resent job sends the same message. */
  messageId: string;
  /** Threading ids; malformed ones are left out, line breaks are refused. */
  inReplyTo: string | null;
  references: string[];
  /** Extra headers with fixed names chosen by us; values are checked like the rest. */
  headers: Record<string, string>;
  /** Defaults to now; fixed in tests. */
  date?: Date;
}

/** Enough of a long References chain to thread on: its root and the newest ids. */
const MAX_REFERENCES = 20;

/** An id that is merely malformed only costs threading; a line break in one is an attack. */
function threadingIds(header: string, ids: string[]): string[] {
  for (const id of ids) assertHeaderSafe(header, id);
  return ids.map((id) => id.trim()).filter(isMessageId);
}

function trimmedReferences(ids: string[]): string[] {
  const unique = [...new Set(ids)];
  if (unique.length <= MAX_REFERENCES) return unique;
  return [...unique.slice(0, 1), ...unique.slice(-(MAX_REFERENCES - 1))];
}

function checkedAddresses(header: string, list: OutgoingAddress[]): OutgoingAddress[] {
  for (const { name, address } of list) {
    assertHeaderSafe(header, name);
    assertPlainAddress(header, address);
  }
  return list.map(({ name, address }) => ({ name, address }));
}

export async function composeOutgoingMime(input: OutgoingMimeInput): Promise<Buffer> {
  const [from] = checkedAddresses('From', [input.from]);
  const to = checkedAddresses('To', input.to);
  const cc = checkedAddresses('Cc', input.cc ?? []);
  assertHeaderSafe('Subject', input.subject);
  assertMessageId('Message-ID', input.messageId);
  for (const [name, value] of Object.entries(input.headers)) assertHeaderSafe(name, value);
  for (const image of input.inlineImages ?? []) {
    assertHeaderSafe('Content-ID', image.contentId);
    assertHeaderSafe('Content-Type', image.contentType);
  }
  const inReplyTo = threadingIds('In-Reply-To', input.inReplyTo === null ? [] : [input.inReplyTo])[0];
  const references = trimmedReferences(threadingIds('References', input.references));

  const composer = new MailComposer({
    from,
    to,
    ...(cc.length > 0 ? { cc } : {}),
    subject: input.subject,
    text: input.text,
    ...(input.html === undefined ? {} : { html: input.html }),
    attachments: (input.inlineImages ?? []).map((image) => ({
      cid: image.contentId,
      filename: image.filename,
      contentType: image.contentType,
      content: image.content,
      contentDisposition: 'inline' as const,
    })),
    messageId: input.messageId,
    inReplyTo,
    references: references.length > 0 ? references : undefined,
    date: input.date ?? new Date(),
    headers: input.headers,
    newline: 'win',
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return composer.compile().build();
}

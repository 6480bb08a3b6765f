/**
 * The benchmark's mail corpus: deterministic for a seed (same seed, same bytes), built the way mail
 * clients build mail (nodemailer's MailComposer), in the mix a helpdesk mailbox sees.
 */

import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type Mail from 'nodemailer/lib/mailer/index.js';
import type { Contact } from '../../shared/tickets/model.js';
import { encodePng } from '../png.js';

export const MAIL_KINDS = ['text', 'html', 'attachments', 'reply', 'large'] as const;
export type MailKind = (typeof MAIL_KINDS)[number];

export const KIND_LABELS: Record<MailKind, string> = {
  text: 'small text mail',
  html: 'HTML with inline images',
  attachments: 'image + non-image attachments',
  reply: 'reply to a ticket, quoted history',
  large: 'large mail (photos, PDF)',
};

/** Share of each kind; a reply needs an earlier mail of its mailbox to answer. */
const KIND_WEIGHTS: Array<[MailKind, number]> = [
  ['text', 0.4],
  ['html', 0.2],
  ['attachments', 0.15],
  ['reply', 0.245],
  ['large', 0.005],
];

export const REPLY_SEPARATOR = '==== reply above this line ====';
const ORGANISATIONS = 12;
const CONTACTS_PER_ORGANISATION = 4;
const UNKNOWN_SENDERS = 40;
/** Share of new mail from known contacts; the rest comes from unknown senders (default contact). */
const KNOWN_SENDER_SHARE = 0.75;
/** A reply answers one of this many most recent tickets. */
const RECENT_THREADS = 60;
/** Quoted history is cut here, as long threads get trimmed by mail clients too. */
const MAX_HISTORY = 16_000;
const FIRST_RECEIVED = Date.parse('2026-11-02T07:00:00Z');
const RECEIVED_STEP_MS = 45_000;

export interface CorpusMail {
  kind: MailKind;
  raw: Buffer;
  receivedDateTime: string;
}

export interface MailboxCorpus {
  helpdeskId: string;
  userId: string;
  mails: CorpusMail[];
}

/** mulberry32: small, fast and good enough to pick sizes and words. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;

const between = (next: Random, min: number, max: number): number =>
  Math.floor(min + next() * (max - min + 1));
function pick<T>(next: Random, list: readonly T[]): T {
  const value = list[Math.floor(next() * list.length)];
  if (value === undefined) throw new Error('pick from an empty list');
  return value;
}

function noise(next: Random, size: number): Buffer {
  const bytes = Buffer.alloc(Math.ceil(size / 4) * 4);
  for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32LE(Math.floor(next() * 4294967296), i);
  return bytes.subarray(0, size);
}

/**
 * A valid PNG of about `bytes` bytes. Noise does not compress, like a photo; screenshots compress
 * better in reality, which only changes how large a "screenshot" is, not how it is handled.
 */
export function pngOfSize(next: Random, bytes: number): Buffer {
  const width = 256;
  const height = Math.max(1, Math.round(bytes / (width * 3 + 1)));
  const pixels = noise(next, height * (width * 3 + 1));
  for (let row = 0; row < height; row++) pixels[row * (width * 3 + 1)] = 0;
  return encodePng(width, height, pixels, 1);
}

function pdfOfSize(next: Random, bytes: number): Buffer {
  return Buffer.concat([
    Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1'),
    noise(next, bytes),
    Buffer.from('\n%%EOF\n'),
  ]);
}

function zipOfSize(next: Random, bytes: number): Buffer {
  return Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), noise(next, bytes)]);
}

const WORDS = (
  'the printer on floor two does not print since this morning please help our users cannot log in to ' +
  'the portal after the update invoice number order delivery screen shows an error message when we ' +
  'open the report laptop network connection is very slow again could you check the account password ' +
  'reset mail server calendar meeting room projector license renewal backup failed last night thank ' +
  'you for the quick reply we tried restarting but the problem remains attached is a screenshot of'
).split(' ');

function sentence(next: Random): string {
  const words = Array.from({ length: between(next, 6, 16) }, () => pick(next, WORDS));
  const text = words.join(' ');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

function paragraphs(next: Random, targetBytes: number): string[] {
  const result: string[] = [];
  let size = 0;
  while (size < targetBytes) {
    const paragraph = Array.from({ length: between(next, 2, 5) }, () => sentence(next)).join(' ');
    result.push(paragraph);
    size += paragraph.length + 2;
  }
  return result;
}

const escapeHtml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export interface Person {
  name: string;
  address: string;
  organisation: number | null;
}

/** Known contacts of every bench helpdesk: 12 organisations of 4 people. */
export function knownPeople(): Person[] {
  return Array.from({ length: ORGANISATIONS * CONTACTS_PER_ORGANISATION }, (_, i) => {
    const organisation = Math.floor(i / CONTACTS_PER_ORGANISATION);
    return {
      name: `Contact ${i + 1}`,
      address: `contact${i + 1}@customer${organisation + 1}.example`,
      organisation,
    };
  });
}

export function benchContacts(helpdeskId: string): Contact[] {
  return [
    {
      id: 'unknown-sender',
      helpdeskId,
      name: 'Unknown sender',
      emailLower: `unknown-sender@${helpdeskId}.bench.test`,
      organisation: null,
    },
    ...knownPeople().map((person, i) => ({
      id: `contact-${i + 1}`,
      helpdeskId,
      name: person.name,
      emailLower: person.address,
      organisation:
        person.organisation === null
          ? null
          : { id: `org-${person.organisation + 1}`, name: `Customer ${person.organisation + 1}` },
    })),
  ];
}

const UNKNOWN: Person[] = Array.from({ length: UNKNOWN_SENDERS }, (_, i) => ({
  name: `Prospect ${i + 1}`,
  address: `prospect${i + 1}@mail${(i % 7) + 1}.example`,
  organisation: null,
}));

interface Thread {
  ticketNumber: number;
  subject: string;
  /** Who opened the ticket, and who wrote its last mail. */
  sender: Person;
  lastSender: Person;
  messageIds: string[];
  /** The text of the last mail, quoted by the next reply. */
  history: string;
  lastDate: Date;
}

type Attachment = NonNullable<Mail.Options['attachments']>[number];

interface Draft {
  from: Person;
  subject: string;
  text: string;
  html?: string;
  attachments?: Attachment[];
  inReplyTo?: string;
  references?: string[];
}

const address = (person: Person): string => `"${person.name}" <${person.address}>`;

async function compose(draft: Draft, to: string, messageId: string, date: Date, boundary: string) {
  // baseBoundary makes the multipart boundaries, and so the bytes, depend on the seed only.
  const options: Mail.Options & { baseBoundary: string } = {
    from: address(draft.from),
    to,
    subject: draft.subject,
    text: draft.text,
    ...(draft.html ? { html: draft.html } : {}),
    ...(draft.attachments ? { attachments: draft.attachments } : {}),
    ...(draft.inReplyTo ? { inReplyTo: draft.inReplyTo, references: draft.references ?? [] } : {}),
    messageId,
    date,
    baseBoundary: boundary,
  };
  return new MailComposer(options).compile().build();
}

function htmlBody(text: string[], images: Array<{ cid: string }>): string {
  const body = text.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n');
  const pictures = images.map(({ cid }) => `<p><img src="cid:${cid}" alt="image"></p>`).join('\n');
  return `<html><body>\n${body}\n${pictures}\n<p>Kind regards</p></body></html>`;
}

function quoted(history: string): string {
  return history
    .split('\n')
    .map((line) => `> ${line}`)
    .join('\n');
}

/** Mail of one mailbox, oldest first; a reply answers a ticket created earlier in the same mailbox. */
export async function mailboxCorpus(
  seed: number,
  mailbox: number,
  helpdeskId: string,
  userId: string,
  count: number,
): Promise<MailboxCorpus> {
  const next = random(seed * 1_000_003 + mailbox);
  const known = knownPeople();
  const threads: Thread[] = [];
  const mails: CorpusMail[] = [];
  for (let i = 0; i < count; i++) {
    const date = new Date(FIRST_RECEIVED + i * RECEIVED_STEP_MS);
    const messageId = `<bench-${seed}-${mailbox}-${i}@mail.example>`;
    let kind = chooseKind(next);
    if (kind === 'reply' && threads.length === 0) kind = 'text';
    if (kind === 'reply') {
      const thread = pick(next, threads.slice(-RECENT_THREADS));
      const { draft, ownText } = replyDraft(next, thread, known);
      mails.push({
        kind,
        raw: await compose(draft, userId, messageId, date, `${seed}-${mailbox}-${i}`),
        receivedDateTime: date.toISOString(),
      });
      thread.messageIds.push(messageId);
      thread.history = ownText;
      thread.lastDate = date;
      thread.lastSender = draft.from;
      continue;
    }
    const draft = newDraft(next, kind, next() < KNOWN_SENDER_SHARE ? pick(next, known) : pick(next, UNKNOWN));
    mails.push({
      kind,
      raw: await compose(draft, userId, messageId, date, `${seed}-${mailbox}-${i}`),
      receivedDateTime: date.toISOString(),
    });
    // Each new mail creates the next ticket of its helpdesk: mail is imported oldest first.
    threads.push({
      ticketNumber: threads.length + 1,
      subject: draft.subject,
      sender: draft.from,
      lastSender: draft.from,
      messageIds: [messageId],
      history: draft.text,
      lastDate: date,
    });
  }
  return { helpdeskId, userId, mails };
}

function chooseKind(next: Random): MailKind {
  let roll = next();
  for (const [kind, weight] of KIND_WEIGHTS) {
    roll -= weight;
    if (roll < 0) return kind;
  }
  return 'text';
}

function subjectLine(next: Random): string {
  return sentence(next)
    .slice(0, between(next, 20, 60))
    .trim();
}

function newDraft(next: Random, kind: Exclude<MailKind, 'reply'>, from: Person): Draft {
  const subject = subjectLine(next);
  switch (kind) {
    case 'text':
      return { from, subject, text: paragraphs(next, between(next, 300, 3000)).join('\n\n') };
    case 'html': {
      const text = paragraphs(next, between(next, 400, 4000));
      const images = Array.from({ length: between(next, 1, 3) }, (_, k) => ({
        cid: `image${k}.${Math.floor(next() * 1e9)}@mail.example`,
        content: pngOfSize(next, between(next, 4_000, 80_000)),
      }));
      return {
        from,
        subject,
        text: text.join('\n\n'),
        html: htmlBody(text, images),
        attachments: images.map(({ cid, content }, k) => ({
          filename: `image${k + 1}.png`,
          content,
          contentType: 'image/png',
          cid,
        })),
      };
    }
    case 'attachments': {
      const text = paragraphs(next, between(next, 200, 1500));
      const document =
        next() < 0.6
          ? {
              filename: 'report.pdf',
              content: pdfOfSize(next, between(next, 20_000, 400_000)),
              contentType: 'application/pdf',
            }
          : {
              filename: 'overview.xlsx',
              content: zipOfSize(next, between(next, 10_000, 200_000)),
              contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
            };
      return {
        from,
        subject,
        text: text.join('\n\n'),
        ...(next() < 0.5 ? { html: htmlBody(text, []) } : {}),
        attachments: [
          {
            filename: 'screenshot.png',
            content: pngOfSize(next, between(next, 20_000, 300_000)),
            contentType: 'image/png',
          },
          document,
        ],
      };
    }
    case 'large': {
      const text = paragraphs(next, between(next, 500, 2000));
      const photos = Array.from({ length: between(next, 2, 4) }, (_, k) => ({
        filename: `photo${k + 1}.png`,
        content: pngOfSize(next, between(next, 800_000, 2_000_000)),
        contentType: 'image/png',
      }));
      return {
        from,
        subject,
        text: text.join('\n\n'),
        html: htmlBody(text, []),
        attachments: [
          ...photos,
          {
            filename: 'manual.pdf',
            content: pdfOfSize(next, between(next, 500_000, 2_000_000)),
            contentType: 'application/pdf',
          },
        ],
      };
    }
  }
}

/** A reply in a thread, by its sender or a colleague, with the history quoted. */
function replyDraft(next: Random, thread: Thread, known: Person[]): { draft: Draft; ownText: string } {
  const colleagues = known.filter(
    (person) => thread.sender.organisation !== null && person.organisation === thread.sender.organisation,
  );
  const from = next() < 0.8 || colleagues.length === 0 ? thread.sender : pick(next, colleagues);
  const own = paragraphs(next, between(next, 100, 1200));
  const attribution = `On ${thread.lastDate.toUTCString()}, ${thread.lastSender.name} wrote:`;
  // Half the replies carry the ticket number (replies to our mail do), half only thread by References.
  const tagged = next() < 0.5;
  const text = `${own.join('\n\n')}\n\n${REPLY_SEPARATOR}\n\n${attribution}\n${quoted(thread.history)}`;
  const html = `<html><body>${own.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}<p>${escapeHtml(REPLY_SEPARATOR)}</p><div>${escapeHtml(attribution)}</div><blockquote>${thread.history
    .split('\n\n')
    .map((p) => `<p>${escapeHtml(p)}</p>`)
    .join('')}</blockquote></body></html>`;
  return {
    draft: {
      from,
      subject: `RE: ${tagged ? `[#${thread.ticketNumber}] ` : ''}${thread.subject}`,
      text,
      html,
      inReplyTo: thread.messageIds.at(-1) ?? '',
      references: [...thread.messageIds],
    },
    ownText: `${own.join('\n\n')}\n\n${attribution}\n${quoted(thread.history)}`.slice(0, MAX_HISTORY),
  };
}

/** The one large mail of the memory run: about `megabytes` MB, two photos that are stored and a PDF that is not. */
export async function largeMail(seed: number, userId: string, megabytes: number): Promise<Buffer> {
  const next = random(seed * 7919 + 30);
  // base64 with line breaks turns 3 bytes into 4 characters plus CRLF every 76: about 1.37 times.
  const decoded = Math.round((megabytes * 1024 * 1024) / 1.37);
  const photo = Math.round(decoded * 0.3);
  const text = paragraphs(next, 2000);
  return compose(
    {
      from: pick(next, knownPeople()),
      subject: 'Photos of the damaged rack and the service manual',
      text: text.join('\n\n'),
      html: htmlBody(text, []),
      attachments: [
        { filename: 'rack-front.png', content: pngOfSize(next, photo), contentType: 'image/png' },
        { filename: 'rack-back.png', content: pngOfSize(next, photo), contentType: 'image/png' },
        {
          filename: 'service-manual.pdf',
          content: pdfOfSize(next, decoded - 2 * photo),
          contentType: 'application/pdf',
        },
      ],
    },
    userId,
    `<bench-large-${seed}@mail.example>`,
    new Date(FIRST_RECEIVED),
    `large${seed}`,
  );
}

import { createHash } from 'node:crypto';
import { stripReplyPrefixes } from '../tickets/ticketNumber.js';
import type { ParsedMail } from './parsedMail.js';

/**
 * Classification of incoming mail (R15).
 *
 * - ownMail: mail we sent ourselves came back (our Message-ID, our marker header, our address).
 * - bounce: a delivery status notification; never creates or supplements anything.
 * - autoReply: an automatic answer to a message (out of office, read receipt); may supplement a
 *   known ticket, never creates one.
 * - bulk: machine-made or list mail that is not an answer to anything (notifications, newsletters,
 *   monitoring alerts, `Auto-Submitted: auto-generated`). Handled like normal mail, because an
 *   alert or a notification can be a legitimate request, but never answered.
 * - normal: everything else.
 *
 * The strongest class wins (ownMail > bounce > autoReply > bulk > normal); every signal found is
 * listed in `reasons`, including weak ones that do not change the class on their own.
 */
export type MailKind = 'normal' | 'autoReply' | 'bounce' | 'bulk' | 'ownMail';

export interface Classification {
  kind: MailKind;
  reasons: string[];
}

export interface ClassificationContext {
  /** Addresses of our own helpdesk mailboxes. */
  ownAddresses: string[];
  /** Domain part of the Message-IDs we generate. */
  ownMessageIdDomain: string;
}

/** Header we put on every mail we send, so it is recognised when it comes back. */
export const OWN_MAIL_HEADER = 'X-Helpdesk-Mail-Importer';

const PRECEDENCE: readonly MailKind[] = ['ownMail', 'bounce', 'autoReply', 'bulk'];

interface Signal {
  /** null: noted in the reasons, but too weak to change the class alone. */
  kind: MailKind | null;
  reason: string;
}

const OWN_ID_PREFIX = 'hmi.';
const DOMAIN_FORMAT =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** A Message-ID for mail we send: `<hmi.{hash}@{domain}>`, the same for the same seed. */
export function createOwnMessageId(seed: string, domain: string): string {
  if (seed.length === 0) throw new RangeError('message id seed must not be empty');
  if (!DOMAIN_FORMAT.test(domain)) throw new RangeError('message id domain must be a plain host name');
  // Hashing makes any seed header-safe and keeps ticket data out of the id.
  const hash = createHash('sha256').update(seed, 'utf8').digest('hex').slice(0, 32);
  return `<${OWN_ID_PREFIX}${hash}@${domain.toLowerCase()}>`;
}

/**
 * The Message-ID domain of a helpdesk whose mailbox address is unknown. Helpdesk ids may hold "_" or
 * "..", which no host name may: such an id is replaced by a hash of it, so every id gives a valid one.
 */
export function fallbackMessageIdDomain(helpdeskId: string): string {
  const plain = `${helpdeskId.toLowerCase()}.helpdesk.invalid`;
  if (DOMAIN_FORMAT.test(plain)) return plain;
  return `h-${createHash('sha256').update(helpdeskId, 'utf8').digest('hex').slice(0, 32)}.helpdesk.invalid`;
}

export function isOwnMessageId(id: string, domain: string): boolean {
  const bare = id.trim().replace(/^<(.*)>$/s, '$1');
  const at = bare.lastIndexOf('@');
  if (at < 0) return false;
  const local = bare.slice(0, at);
  return (
    bare.slice(at + 1).toLowerCase() === domain.trim().toLowerCase() &&
    local.toLowerCase().startsWith(OWN_ID_PREFIX) &&
    /^[A-Za-z0-9._-]+$/.test(local.slice(OWN_ID_PREFIX.length))
  );
}

function localPart(address: string): string {
  const at = address.lastIndexOf('@');
  return (at < 0 ? address : address.slice(0, at)).trim().toLowerCase();
}

/** mailer-daemon and postmaster send delivery reports. */
export function isDeliverySystemAddress(address: string): boolean {
  return /^(?:mailer[-_]?daemon|mail[-_]?daemon|postmaster)$/.test(localPart(address));
}

/** Addresses nobody reads: no-reply senders, bounce handlers and delivery systems. */
export function isNoReplyAddress(address: string): boolean {
  const local = localPart(address);
  return (
    isDeliverySystemAddress(address) ||
    /(?:^|[-_.+])(?:no|do[-_.]?not|dont|never)[-_.]?reply(?:$|[-_.+=])/.test(local) ||
    /(?:^|[-_.+])bounces?(?:$|[-_.+=])/.test(local)
  );
}

function normaliseAddress(address: string): string {
  return address.trim().toLowerCase();
}

/** false for every automated class, unreadable senders and our own mailboxes. */
export function mayBeAnswered(
  classification: Classification,
  sender: string,
  ownAddresses: string[],
): boolean {
  const address = normaliseAddress(sender);
  return (
    classification.kind === 'normal' &&
    /^[^\s@]+@[^\s@]+$/.test(address) &&
    !isNoReplyAddress(address) &&
    !ownAddresses.some((own) => normaliseAddress(own) === address)
  );
}

function headerValues(mail: ParsedMail, name: string): string[] {
  return (mail.headers[name] ?? []).map((value) => value.trim());
}

function hasHeader(mail: ParsedMail, name: string): boolean {
  return headerValues(mail, name).some((value) => value !== '');
}

/** Tokens are short; only this much of a header value is looked at, which bounds the comment removal. */
const MAX_TOKEN_SCAN = 200;

/**
 * Leading token of a header like `Auto-Submitted: auto-replied; owner-email="x"`, without RFC 5322
 * comments: Sieve vacation responders (Dovecot, Zimbra) write `auto-replied (vacation)`.
 */
function token(value: string): string {
  let text = value.slice(0, MAX_TOKEN_SCAN);
  for (let previous = ''; previous !== text; ) {
    previous = text;
    text = text.replace(/\([^()]*\)/g, ' ');
  }
  return (text.split(';')[0] ?? '').trim().toLowerCase();
}

const FALSE_VALUES = new Set(['no', 'false', '0', 'off']);

/** Subjects of out-of-office replies; a colon or the end must follow, so "Out of office next week" is a person. */
const AUTO_REPLY_SUBJECT = new RegExp(
  String.raw`^\s*(?:${[
    'auto(?:matic)?[- ]?reply',
    'auto[- ]?response',
    'automatische antwort',
    'automatisch antwoord',
    'afwezig(?:heidsmelding)?',
    'out of (?:the )?office(?: (?:auto[- ]?)?reply)?',
    'abwesenheitsnotiz',
    'abwesend',
    'réponse automatique',
    'absence du bureau',
    'odpowiedź automatyczna',
    'respuesta automática',
    'resposta automática',
    'risposta automatica',
    'autosvar',
    'automatisk svar',
    'automatiskt svar',
    'automaattinen vastaus',
    'automatická odpověď',
    'automatikus válasz',
    'automatická odpoveď',
    'samodejni odgovor',
    'automatski odgovor',
    'răspuns automat',
    'αυτόματη απάντηση',
    'otomatik yanıt',
    'автоответ',
    'автоматический ответ',
    '自动回复',
    '自動回覆',
    '自動応答',
    '자동 회신',
  ].join('|')})\s*(?:[:：]|$)`,
  'iu',
);

/** Localised NDR subject prefixes, each followed by a colon and the original subject. */
const BOUNCE_SUBJECT_PREFIXES = [
  'undeliverable',
  'unzustellbar',
  'nicht zustellbar',
  'onbestelbaar',
  'non remis',
  'non recapitabile',
  'no se puede entregar',
  'não é possível entregar',
  'nie można dostarczyć',
  'kan ikke leveres',
  'kan inte levereras',
  'ei voitu toimittaa',
];

/** Fixed subjects of MTA bounces (Gmail, Postfix, Exim, sendmail, qmail). */
const BOUNCE_SUBJECT_PHRASES = [
  'delivery status notification',
  'undelivered mail returned to sender',
  'mail delivery failed',
  String.raw`returned mail\s*:`,
  String.raw`failure notice\s*$`,
  String.raw`delivery failure\s*(?::|$)`,
  String.raw`message not delivered\s*(?::|$)`,
];

/** Matched at the very start only: "FW: Undeliverable: …" is a person asking about a bounce. */
const BOUNCE_SUBJECT = new RegExp(
  String.raw`^\s*(?:(?:${BOUNCE_SUBJECT_PREFIXES.join('|')})\s*:|${BOUNCE_SUBJECT_PHRASES.join('|')})`,
  'iu',
);

const LIST_HEADERS = [
  'list-id',
  'list-unsubscribe',
  'list-post',
  'list-help',
  'list-subscribe',
  'list-owner',
  'list-archive',
  'x-mailing-list',
  'mailing-list',
];

const AUTO_REPLY_HEADERS = [
  'x-autoreply',
  'x-autorespond',
  'x-mail-autoreply',
  'x-auto-reply',
  'x-autoresponder',
];

function ownSignals(mail: ParsedMail, context: ClassificationContext): Signal[] {
  const signals: Signal[] = [];
  const own = new Set(context.ownAddresses.map(normaliseAddress));
  if (mail.messageId && isOwnMessageId(mail.messageId, context.ownMessageIdDomain)) {
    signals.push({ kind: 'ownMail', reason: `Message-ID ${mail.messageId} was generated by us` });
  }
  if (Object.hasOwn(mail.headers, OWN_MAIL_HEADER.toLowerCase())) {
    signals.push({ kind: 'ownMail', reason: `carries our ${OWN_MAIL_HEADER} header` });
  }
  const from = mail.from?.address ?? '';
  if (from !== '' && own.has(normaliseAddress(from))) {
    signals.push({ kind: 'ownMail', reason: `From ${from} is one of our own mailboxes` });
  }
  for (const loop of headerValues(mail, 'x-loop').filter(Boolean)) {
    const ours = [...own].some((address) => loop.toLowerCase().includes(address));
    signals.push({
      kind: ours ? 'ownMail' : 'bulk',
      reason: ours
        ? `X-Loop: ${loop} names our own mailbox`
        : `X-Loop: ${loop} (passed an automatic processor)`,
    });
  }
  return signals;
}

function bounceSignals(mail: ParsedMail): Signal[] {
  const signals: Signal[] = [];
  const report = mail.reportType?.toLowerCase() ?? null;
  if (mail.mimeType.toLowerCase() === 'multipart/report' && report !== null) {
    if (report === 'delivery-status' || report === 'global-delivery-status') {
      signals.push({ kind: 'bounce', reason: `multipart/report with report-type=${report}` });
    } else if (report === 'disposition-notification') {
      signals.push({
        kind: 'autoReply',
        reason: 'multipart/report with report-type=disposition-notification (read receipt)',
      });
    } else {
      signals.push({ kind: 'bulk', reason: `multipart/report with report-type=${report}` });
    }
  }
  const statusPart = mail.attachments.find((part) =>
    /^message\/(?:global-)?delivery-status$/i.test(part.contentType.trim()),
  );
  if (statusPart) signals.push({ kind: 'bounce', reason: `contains a ${statusPart.contentType} part` });
  if (hasHeader(mail, 'x-failed-recipients')) {
    signals.push({ kind: 'bounce', reason: 'X-Failed-Recipients header present' });
  }
  // Exchange writes this header without a value: being there is the signal.
  if (Object.hasOwn(mail.headers, 'x-ms-exchange-message-is-ndr')) {
    signals.push({ kind: 'bounce', reason: 'X-MS-Exchange-Message-Is-Ndr header present' });
  }
  const from = mail.from?.address ?? '';
  if (from !== '' && isDeliverySystemAddress(from)) {
    signals.push({ kind: 'bounce', reason: `From ${from} is a mail delivery system` });
  } else if (/^mail delivery (?:subsystem|system)$/i.test(mail.from?.name.trim() ?? '')) {
    signals.push({ kind: 'bounce', reason: `From name "${mail.from?.name}" is a mail delivery system` });
  }
  if (BOUNCE_SUBJECT.test(mail.subject)) {
    signals.push({ kind: 'bounce', reason: `subject "${mail.subject}" is a delivery failure notice` });
  }
  return signals;
}

function autoSubmittedSignals(mail: ParsedMail): Signal[] {
  const signals: Signal[] = [];
  for (const value of headerValues(mail, 'auto-submitted')) {
    const kind = token(value);
    if (kind === '' || kind === 'no') continue;
    // auto-replied is an answer; auto-generated / auto-notified and unknown values are machine
    // mail that may still report something worth a ticket (monitoring, notifications).
    signals.push({
      kind: kind === 'auto-replied' ? 'autoReply' : 'bulk',
      reason: `Auto-Submitted: ${value}`,
    });
  }
  for (const name of ['precedence', 'x-precedence']) {
    for (const value of headerValues(mail, name)) {
      const kind = token(value);
      if (kind === 'auto_reply') signals.push({ kind: 'autoReply', reason: `${name}: ${value}` });
      else if (kind === 'bulk' || kind === 'junk' || kind === 'list') {
        signals.push({ kind: 'bulk', reason: `${name}: ${value}` });
      }
    }
  }
  for (const name of AUTO_REPLY_HEADERS) {
    for (const value of headerValues(mail, name)) {
      if (value !== '' && !FALSE_VALUES.has(token(value))) {
        signals.push({ kind: 'autoReply', reason: `${name}: ${value}` });
      }
    }
  }
  for (const value of headerValues(mail, 'x-autogenerated').filter(Boolean)) {
    signals.push({
      kind: token(value) === 'reply' ? 'autoReply' : 'bulk',
      reason: `x-autogenerated: ${value}`,
    });
  }
  return signals;
}

function returnPathSignals(mail: ParsedMail): Signal[] {
  // The top Return-Path is the one the final delivery added; older ones may be forwarded along.
  const first = mail.headers['return-path']?.[0];
  if (first === undefined || first.replace(/[<>\s]/g, '') !== '') return [];
  // A null reverse path is used only by delivery reports and automatic responders (RFC 3834 §3.3).
  return [{ kind: 'autoReply', reason: 'Return-Path: <> (null sender)' }];
}

function exchangeSignals(mail: ParsedMail): Signal[] {
  const signals: Signal[] = [];
  for (const value of headerValues(mail, 'x-auto-response-suppress').filter(Boolean)) {
    const flags = value.toLowerCase().split(/[\s,;]+/);
    // Senders that ask for no auto-replies are applications and Exchange itself; a person's
    // Outlook does not set it. Only-receipt values (DR, NDR, RN, NRN) say too little.
    const automated = flags.some((flag) => flag === 'all' || flag === 'oof' || flag === 'autoreply');
    signals.push({
      kind: automated ? 'bulk' : null,
      reason: automated
        ? `X-Auto-Response-Suppress: ${value} (sender asks not to be auto-answered)`
        : `X-Auto-Response-Suppress: ${value} (receipts only, weak signal)`,
    });
  }
  // Written by a mailbox rule (forward, redirect or rule reply): forwarded customer mail must still
  // become a ticket, so this only keeps us from answering, which also breaks rule-to-rule loops.
  for (const value of headerValues(mail, 'x-ms-exchange-inbox-rules-loop').filter(Boolean)) {
    signals.push({
      kind: 'bulk',
      reason: `X-MS-Exchange-Inbox-Rules-Loop: ${value} (processed by a mailbox rule)`,
    });
  }
  for (const value of headerValues(mail, 'x-ms-exchange-generated-message-source').filter(Boolean)) {
    const byRule = /rule/i.test(value);
    signals.push({
      kind: byRule ? 'bulk' : null,
      reason: `X-MS-Exchange-Generated-Message-Source: ${value}${byRule ? ' (generated by a mailbox rule)' : ' (weak signal)'}`,
    });
  }
  if (AUTO_REPLY_SUBJECT.test(mail.subject)) {
    signals.push({ kind: 'autoReply', reason: `subject "${mail.subject}" is an out-of-office reply` });
  } else {
    signals.push(...threadTopicSignals(mail));
  }
  return signals;
}

/** Shortest label taken for an automatic answer: MAPI's own subject prefixes (RE, FW, AW, 전달) are 1-3 characters. */
const MIN_ANSWER_LABEL = 4;
const MAX_ANSWER_LABEL = 40;

/**
 * Exchange writes its automatic answers (out of office, rule replies) as "<label>: <topic>" in the
 * mailbox's language and keeps the original topic in Thread-Topic. A label before the topic that is
 * no reply or forward marker, on a mail marked as automatic, is such an answer in any language.
 * Without an automation header it is a person who edited the subject ("Urgent: …").
 */
function threadTopicSignals(mail: ParsedMail): Signal[] {
  const topic = headerValues(mail, 'thread-topic')[0] ?? '';
  const subject = mail.subject.trim();
  if (topic === '' || subject.length <= topic.length || !subject.endsWith(topic)) return [];
  const prefix = subject.slice(0, subject.length - topic.length).trimEnd();
  const label = prefix.replace(/[:：]$/u, '').trim();
  const length = [...label].length;
  if (label === prefix || length < MIN_ANSWER_LABEL || length > MAX_ANSWER_LABEL) return [];
  if (/[[\]#]/.test(label) || stripReplyPrefixes(subject) !== subject) return [];
  const automated =
    headerValues(mail, 'auto-submitted').some((value) => value !== '' && token(value) !== 'no') ||
    hasHeader(mail, 'x-ms-exchange-inbox-rules-loop') ||
    hasHeader(mail, 'x-ms-exchange-generated-message-source');
  if (!automated) return [];
  return [
    {
      kind: 'autoReply',
      reason: `subject "${mail.subject}" puts "${label}:" before the conversation topic (Thread-Topic) on automatic mail`,
    },
  ];
}

function bulkSignals(mail: ParsedMail): Signal[] {
  const signals: Signal[] = LIST_HEADERS.filter((name) => hasHeader(mail, name)).map((name) => ({
    kind: 'bulk',
    reason: `${name} header present (mailing list)`,
  }));
  const from = mail.from?.address ?? '';
  if (from !== '' && isNoReplyAddress(from) && !isDeliverySystemAddress(from)) {
    signals.push({ kind: 'bulk', reason: `From ${from} is a no-reply address` });
  }
  return signals;
}

export function classifyMail(mail: ParsedMail, context: ClassificationContext): Classification {
  const signals = [
    ...ownSignals(mail, context),
    ...bounceSignals(mail),
    ...autoSubmittedSignals(mail),
    ...returnPathSignals(mail),
    ...exchangeSignals(mail),
    ...bulkSignals(mail),
  ];
  const kind =
    PRECEDENCE.find((candidate) => signals.some((signal) => signal.kind === candidate)) ?? 'normal';
  return { kind, reasons: signals.map((signal) => signal.reason) };
}

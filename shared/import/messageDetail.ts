import type { MailAddress, ParsedMail } from '../mail/parsedMail.js';
import { MailLimitError, MailParseError, parseMail } from '../mail/parseMail.js';
import { ProcessingBudget, ProcessingTimeExceeded } from '../mail/processingBudget.js';
import { extractReply } from '../mail/replyText.js';
import { toSafeHtml } from '../mail/safeHtml.js';
import type { ImportDependencies } from './dependencies.js';
import { findMessage, type ListedMessage, listedMessage } from './keptAside.js';
import type { MailRecord } from './mailRecord.js';
import { mailHtml } from './previewMail.js';

/** The headers a person deciding on a mail looks at; the values as the parser decoded them. */
const IMPORTANT_HEADERS = [
  'from',
  'sender',
  'reply-to',
  'to',
  'cc',
  'subject',
  'date',
  'message-id',
  'in-reply-to',
  'references',
  'return-path',
  'authentication-results',
  'auto-submitted',
  'precedence',
  'list-id',
  'list-unsubscribe',
  'x-auto-response-suppress',
  'content-type',
] as const;

/** Parsing for a person to read is bounded like an import, so a hostile mail cannot hold the worker. */
const DETAIL_BUDGET_MS = 20_000;

export interface MessageDetail extends ListedMessage {
  lastError: string | null;
  /** What a retry would follow: the stored plan and rules' outcome (null when nothing was decided yet). */
  plan: MailRecord['plan'];
  rules: MailRecord['rules'] | null;
  /** The mail as parsed from its raw copy; null when there is no raw copy or it cannot be read. */
  mail: MailContent | null;
  /** Why `mail` is null. */
  mailUnavailable: string | null;
}

export interface MailContent {
  headers: Record<string, string[]>;
  from: MailAddress | null;
  to: MailAddress[];
  cc: MailAddress[];
  subject: string;
  date: string | null;
  messageId: string | null;
  replyText: string;
  fullText: string;
  /** Sanitised; inline images are left out (a mail not imported has none stored to point at). */
  safeHtml: string;
  /** For display only: the mail's own inline images as data: URLs, within the preview's caps (mailHtml). */
  displayHtml: string;
  attachments: Array<{
    filename: string | null;
    declaredType: string;
    detectedType: string | null;
    size: number;
    inline: boolean;
    /** Whether an import under the current limits keeps it as a ticket image; if not, why not. */
    kept: boolean;
    reason: string | null;
  }>;
  rawSize: number;
}

/** Everything needed to decide on one mail of this helpdesk (R20); 404 for a key that is not its. */
export async function messageDetail(
  deps: ImportDependencies,
  input: { helpdeskId: string; key: string },
): Promise<MessageDetail> {
  const { helpdesk, mailbox, found } = await findMessage(deps, input.helpdeskId, input.key);
  const record = found.record;
  const base = {
    ...listedMessage(record),
    lastError: record.lastError,
    plan: record.plan,
    rules: record.rules ?? null,
  };
  const raw = await deps.rawMail.openRaw(helpdesk.id, mailbox.id, record.id);
  if (!raw) return { ...base, mail: null, mailUnavailable: 'no raw copy is stored' };
  const budget = new ProcessingBudget(DETAIL_BUDGET_MS);
  const { attachments: limits, replySeparator } = helpdesk.importer;
  try {
    const parsed = await parseMail(raw.content, {
      maxMessageBytes: limits.maxMessageBytes,
      maxImageBytes: limits.maxImageBytes,
      maxImagesBytesPerMessage: limits.maxImagesBytesPerMessage,
      budget,
    });
    return { ...base, mail: mailContent(parsed, replySeparator, budget), mailUnavailable: null };
  } catch (error) {
    const unreadable =
      error instanceof MailLimitError ||
      error instanceof MailParseError ||
      error instanceof ProcessingTimeExceeded;
    if (!unreadable) throw error;
    return { ...base, mail: null, mailUnavailable: `the raw copy cannot be read: ${error.message}` };
  }
}

function mailContent(parsed: ParsedMail, separator: string, budget: ProcessingBudget): MailContent {
  const headers = Object.fromEntries(
    IMPORTANT_HEADERS.flatMap((name) => {
      const values = parsed.headers[name];
      return values && values.length > 0 ? [[name, values]] : [];
    }),
  );
  const reply = extractReply({ text: parsed.text, html: parsed.html, separator }, budget);
  return {
    headers,
    from: parsed.from,
    to: parsed.to,
    cc: parsed.cc,
    subject: parsed.subject,
    date: parsed.date,
    messageId: parsed.messageId,
    replyText: reply.replyText,
    fullText: parsed.text,
    safeHtml: toSafeHtml({
      html: parsed.html,
      text: parsed.text,
      allowExternalImages: false,
      imageUrlForContentId: () => null,
      budget,
    }),
    displayHtml: mailHtml(parsed, { allowExternalImages: false, budget }).displayHtml,
    attachments: parsed.attachments.map((attachment) => ({
      filename: attachment.filename,
      declaredType: attachment.contentType,
      detectedType: attachment.detectedType,
      size: attachment.size,
      inline: attachment.inline,
      kept: attachment.content !== null,
      reason: attachment.reason,
    })),
    rawSize: parsed.rawSize,
  };
}

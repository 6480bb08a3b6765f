import { z } from 'zod';
import { subjectWithReference } from '../acknowledgement/acknowledgement.js';
import { flattenHeaderText } from '../acknowledgement/headerSafety.js';

/** Reply templates (R21, seed 003): how an agent's answer becomes a mail. Schema and rendering, pure. */

export const REPLY_PLACEHOLDERS = [
  'ticketNumber',
  'title',
  'contactName',
  'agentName',
  'replySeparator',
  'body',
] as const;
export type ReplyPlaceholder = (typeof REPLY_PLACEHOLDERS)[number];
/** The separator and the body are lines of the mail, not of its subject. */
const SUBJECT_PLACEHOLDERS: readonly ReplyPlaceholder[] = [
  'ticketNumber',
  'title',
  'contactName',
  'agentName',
];

/** `{word}`: anything else in braces is text. */
const PLACEHOLDER = /\{([A-Za-z]+)\}/g;

function placeholderProblem(template: string, allowed: readonly ReplyPlaceholder[]): string | null {
  for (const [, name] of template.matchAll(PLACEHOLDER)) {
    if (!allowed.includes(name as ReplyPlaceholder)) {
      return `unknown placeholder {${name}}; use ${allowed.map((p) => `{${p}}`).join(', ')}`;
    }
  }
  return null;
}

const templateId = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/,
    'letters, digits, ".", "_" and "-", starting with one of the first two',
  );

export const replyTemplateSchema = z.strictObject({
  id: templateId,
  subject: z
    .string()
    .max(255)
    .refine((value) => !/[\r\n]/.test(value), 'must not contain line breaks')
    .superRefine((value, ctx) => {
      const problem = placeholderProblem(value, SUBJECT_PLACEHOLDERS);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .default('[#{ticketNumber}] {title}'),
  body: z
    .string()
    .max(20_000)
    .superRefine((value, ctx) => {
      const problem = placeholderProblem(value, REPLY_PLACEHOLDERS);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
      else if (!value.includes('{body}')) ctx.addIssue({ code: 'custom', message: 'must hold {body}' });
    })
    .default('{replySeparator}\n\n{body}\n\n{agentName}'),
});
export type ReplyTemplate = z.infer<typeof replyTemplateSchema>;

/** The `replies` part of the importer settings; `outboundMailboxId` is checked against the mailboxes there. */
export const replySettingsSchema = z
  .strictObject({
    /** Mailbox replies go out from when the ticket's own mailbox is no longer configured; else the first. */
    outboundMailboxId: templateId.optional(),
    /** The first is used when a reply names none. */
    templates: z
      .array(replyTemplateSchema)
      .min(1)
      .max(20)
      .refine((list) => new Set(list.map((t) => t.id)).size === list.length, 'template ids must be unique')
      .default([replyTemplateSchema.parse({ id: 'default' })]),
  })
  .prefault({});
export type ReplySettings = z.infer<typeof replySettingsSchema>;

export interface ReplyValues {
  ticketNumber: string;
  title: string;
  contactName: string;
  agentName: string;
}

export interface RenderReplyInput {
  template: Pick<ReplyTemplate, 'subject' | 'body'>;
  /** The helpdesk's reply separator line (R9); empty when it has none. */
  separator: string;
  /** The subject tag from formatTicketReference, e.g. "[#123]". */
  ticketReference: string;
  values: ReplyValues;
  /** The agent's text, and the same as safe HTML (toSafeHtml) with images as `cid:` references. */
  body: { text: string; html: string };
  /** Content-IDs of the images sent inline; those the HTML does not show yet are appended. */
  inlineImages: string[];
}

export interface RenderedReply {
  subject: string;
  text: string;
  html: string;
}

function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Literal template text as HTML: escaped, line breaks kept. */
function literalHtml(text: string): string {
  return escapeHtml(text).replace(/\n/g, '<br>\n');
}

/** One pass over the template, so a value that itself holds "{title}" is not expanded again. */
function fill(
  template: string,
  value: (name: ReplyPlaceholder) => string,
  literal: (text: string) => string,
) {
  let out = '';
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    out += literal(template.slice(last, match.index));
    const name = match[1] as ReplyPlaceholder;
    // Validated when saved; a stray one from an older template stays as it was written.
    out += REPLY_PLACEHOLDERS.includes(name) ? value(name) : literal(match[0]);
    last = match.index + match[0].length;
  }
  return out + literal(template.slice(last));
}

/**
 * The mail of an agent reply: subject with the ticket reference (R6), the separator line first so that
 * only what the customer writes above it comes back (R9), text and HTML alike.
 */
export function renderReply(input: RenderReplyInput): RenderedReply {
  const separator = flattenHeaderText(input.separator);
  const normalised = input.template.body.replace(/\r\n?/g, '\n');
  const body =
    separator === '' || normalised.includes('{replySeparator}')
      ? normalised
      : `{replySeparator}\n\n${normalised}`;
  const plain: Record<ReplyPlaceholder, string> = {
    ...input.values,
    replySeparator: separator,
    body: input.body.text.replace(/\r\n?/g, '\n'),
  };
  const subject = subjectWithReference(
    fill(
      input.template.subject,
      (name) => flattenHeaderText(plain[name]),
      (text) => text,
    ),
    input.ticketReference,
  );
  const text = fill(
    body,
    (name) => plain[name],
    (t) => t,
  ).replace(/^\n+/, '');

  const missingImages = input.inlineImages.filter((cid) => !input.body.html.includes(`cid:${cid}`));
  const bodyHtml =
    input.body.html +
    missingImages.map((cid) => `<p><img src="cid:${escapeHtml(cid)}" alt="${escapeHtml(cid)}"></p>`).join('');
  const html = fill(
    body,
    (name) =>
      name === 'body'
        ? bodyHtml
        : name === 'replySeparator'
          ? separator && `<p>${escapeHtml(separator)}</p>`
          : escapeHtml(plain[name]),
    literalHtml,
  ).replace(/^(?:<br>\n)+/, '');
  return { subject, text, html: `<div>${html}</div>` };
}

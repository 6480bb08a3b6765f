import type { Helpdesk } from '../helpdesk/settings.js';
import { classifyMail, fallbackMessageIdDomain } from '../mail/classify.js';
import { imageExtension } from '../mail/images.js';
import type { ParsedMail } from '../mail/parsedMail.js';
import { MailLimitError, MailParseError, parseMail } from '../mail/parseMail.js';
import { ProcessingBudget, ProcessingTimeExceeded } from '../mail/processingBudget.js';
import { extractReply } from '../mail/replyText.js';
import { toSafeHtml } from '../mail/safeHtml.js';
import { evaluateRules } from '../rules/evaluateRules.js';
import { linksFromSubject } from '../rules/linkCriteria.js';
import { mailFacts } from '../rules/mailFacts.js';
import { decideTarget, referencedMessageIds, type TicketFacts } from '../tickets/threading.js';
import { mergeLinks } from '../tickets/ticketFields.js';
import { findTicketNumbers } from '../tickets/ticketNumber.js';

/**
 * Largest inline image the preview (and a message's detail) shows in its HTML, and most image bytes it
 * puts into one answer.
 */
export const PREVIEW_IMAGE_MAX_BYTES = 1_000_000;
export const PREVIEW_IMAGES_MAX_BYTES = 5_000_000;

/**
 * The sanitised HTML with its stored-image references (`images/<hash>.<ext>`, which only a ticket can
 * serve) replaced by data: URLs of the mail's own images, for display in the console's sandboxed frame
 * (its CSP allows data: images, no script). Only for the answer, never stored. Images over the caps keep
 * their reference and show as missing. The type is the detected one (magic bytes), not the declared one.
 */
export function withImagesInline(
  html: string,
  images: Array<{ ref: string; type: string; content: Buffer }>,
): string {
  let budget = PREVIEW_IMAGES_MAX_BYTES;
  let shown = html;
  for (const image of images) {
    if (image.content.length > PREVIEW_IMAGE_MAX_BYTES || image.content.length > budget) continue;
    if (!shown.includes(image.ref)) continue;
    budget -= image.content.length;
    shown = shown.replaceAll(image.ref, `data:${image.type};base64,${image.content.toString('base64')}`);
  }
  return shown;
}

/**
 * The mail's sanitised HTML as a ticket would get it (inline images as `images/<hash>.<ext>`), and the
 * same for display with those images inline (withImagesInline).
 */
export function mailHtml(
  parsed: ParsedMail,
  options: { allowExternalImages: boolean; budget: ProcessingBudget },
): { html: string; displayHtml: string } {
  const images = parsed.attachments.flatMap((a) =>
    a.content && a.contentId && a.detectedType
      ? [
          {
            contentId: a.contentId,
            ref: `images/${a.sha256}.${imageExtension(a.detectedType)}`,
            type: a.detectedType,
            content: a.content,
          },
        ]
      : [],
  );
  const imageRef = new Map(images.map((image) => [image.contentId, image.ref]));
  const html = toSafeHtml({
    html: parsed.html,
    text: parsed.text,
    allowExternalImages: options.allowExternalImages,
    imageUrlForContentId: (cid) => imageRef.get(cid) ?? null,
    budget: options.budget,
  });
  return { html, displayHtml: withImagesInline(html, images) };
}

/**
 * What the importer would do with one mail, touching no store. Without a store it cannot know which
 * tickets exist, so a ticket number in the subject is taken to be a known ticket of this sender; the
 * reason says so. Nor does it know the contacts: the rules see every sender as unknown (`senderKnown`
 * never holds). The rules are those of the mailbox `mailboxId`, by default the first.
 */
export async function previewMail(
  raw: Buffer,
  helpdesk: Helpdesk,
  budget = new ProcessingBudget(),
  mailboxId?: string,
): Promise<Record<string, unknown>> {
  const mailbox = mailboxId
    ? helpdesk.importer.mailboxes.find((m) => m.id === mailboxId)
    : helpdesk.importer.mailboxes[0];
  if (!mailbox) throw new RangeError(`no mailbox ${mailboxId} in helpdesk ${helpdesk.id}`);
  try {
    return await previewWithin(raw, helpdesk, mailbox, budget);
  } catch (error) {
    if (
      error instanceof MailLimitError ||
      error instanceof MailParseError ||
      error instanceof ProcessingTimeExceeded
    ) {
      return { decision: { action: 'keepAside', reason: error.message } };
    }
    throw error;
  }
}

async function previewWithin(
  raw: Buffer,
  helpdesk: Helpdesk,
  mailbox: Helpdesk['importer']['mailboxes'][number],
  budget: ProcessingBudget,
): Promise<Record<string, unknown>> {
  const { attachments: limits, mailboxes } = {
    attachments: helpdesk.importer.attachments,
    mailboxes: helpdesk.importer.mailboxes,
  };
  const parsed = await parseMail(raw, { ...limits, budget });
  const ownAddresses = mailboxes.map((m) => m.userId.toLowerCase()).filter((a) => a.includes('@'));
  const ownDomain = ownAddresses[0]?.split('@')[1] ?? fallbackMessageIdDomain(helpdesk.id);
  const classification = classifyMail(parsed, { ownAddresses, ownMessageIdDomain: ownDomain });
  const subjectNumbers = findTicketNumbers(parsed.subject, {
    ticketPrefix: helpdesk.ticketPrefix,
    extraPatterns: helpdesk.importer.subjectPatterns,
  });
  const sender = parsed.from?.address ?? '';
  const knownTickets = new Map<number, TicketFacts>(
    subjectNumbers.map((number) => [number, { number, contactAddresses: [sender], organisationId: null }]),
  );
  const decision = decideTarget({
    subjectNumbers,
    knownTickets,
    threadMatch: null,
    sender,
    senderOrganisationId: null,
    classification: classification.kind,
    settings: {
      unrelatedSender: helpdesk.importer.unrelatedSender,
      autoReplies: helpdesk.importer.autoReplies,
    },
  });
  const reply = extractReply(
    { text: parsed.text, html: parsed.html, separator: helpdesk.importer.replySeparator },
    budget,
  );
  const { outcome, trace } = evaluateRules(
    mailbox.rules,
    mailFacts({
      parsed,
      replyText: () => reply.replyText,
      classification: classification.kind,
      senderKnown: false,
      ticketNumbers: subjectNumbers,
      mailbox,
    }),
  );
  const links = mergeLinks(linksFromSubject(parsed.subject, helpdesk.importer.linkCriteria), outcome.links);
  const { html, displayHtml } = mailHtml(parsed, { allowExternalImages: limits.allowExternalImages, budget });
  return {
    messageId: parsed.messageId,
    from: parsed.from,
    to: parsed.to,
    cc: parsed.cc,
    subject: parsed.subject,
    date: parsed.date,
    classification,
    ticketNumber: subjectNumbers[0] ?? null,
    references: referencedMessageIds(parsed),
    text: parsed.text,
    replyText: reply.replyText,
    html,
    displayHtml,
    attachments: parsed.attachments.map((a) => ({
      filename: a.filename,
      contentType: a.contentType,
      detectedType: a.detectedType ?? a.detectedFileType,
      size: a.size,
      inline: a.inline,
      kept: a.content !== null,
      reason: a.reason,
    })),
    mailbox: mailbox.id,
    rules: trace,
    links,
    ruleOutcome: {
      setFields: outcome.setFields,
      createContact: outcome.createContact,
      noAcknowledgement: outcome.noAcknowledgement,
      postProcessing: outcome.postProcessing ?? mailbox.postProcessing,
    },
    decision: outcome.keepAside
      ? { action: 'keepAside', reason: `kept aside by rule ${outcome.keepAside} for manual handling` }
      : outcome.ignore
        ? { action: 'skip', reason: `ignored by rule ${outcome.ignore}` }
        : decision.action === 'createTicket'
          ? {
              action: 'createTicket',
              reason: subjectNumbers.length
                ? 'no known ticket number'
                : 'no ticket number in the subject and no known thread',
            }
          : decision.action === 'supplement'
            ? {
                action: 'supplement',
                reason: `ticket ${decision.ticketNumber} from the subject (a supplement if that ticket exists in this helpdesk, otherwise a new ticket)${decision.flagged ? '; flagged: sender unrelated' : ''}`,
              }
            : { action: 'skip', reason: decision.reason },
  };
}

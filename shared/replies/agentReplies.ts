import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { type Helpdesk, identifier, type MailboxSettings } from '../helpdesk/settings.js';
import { ApiError } from '../http/errors.js';
import { knownMailboxAddresses, messageIdDomain } from '../import/mailboxAddresses.js';
import { createOwnMessageId } from '../mail/classify.js';
import { normalizeAddress } from '../mail/parseMail.js';
import { toSafeHtml } from '../mail/safeHtml.js';
import type { ReplyDelivery, StoredImage, Supplement, Ticket } from '../tickets/model.js';
import { IMAGE_NAME } from '../tickets/ticketImages.js';
import { formatTicketReference } from '../tickets/ticketNumber.js';
import type { AgentReply, ReplyDependencies } from './ports.js';
import { chooseRecipients, ticketContact } from './recipients.js';
import { replyDocumentId } from './replyJob.js';
import {
  describeRecipients,
  enqueueSend,
  isStale,
  replyHistory,
  replyIdOf,
  requeue,
  STALE_AFTER_MINUTES,
  type StoredReply,
} from './replyLifecycle.js';
import { renderReply } from './replyTemplate.js';
import { replyThreading } from './replyThreading.js';

/** Agent replies (R21) as the helpdesk application asks for them: post one, read its state, retry it. */

export const replyRequestSchema = z.strictObject({
  text: z.string().trim().min(1).max(100_000),
  /** The same answer as HTML; sanitised, `cid:NAME` shows one of `images`. */
  html: z.string().max(500_000).optional(),
  /** Replace the ticket's contact as To; each must be a plain address we may write to. */
  to: z.array(z.string().max(320)).max(20).optional(),
  cc: z.array(z.string().max(320)).max(20).optional(),
  /** Names of the ticket's stored images (as in its image URLs), sent inline. */
  images: z.array(z.string().regex(IMAGE_NAME, 'an image name as in the ticket HTML')).max(20).default([]),
  author: z.strictObject({ employeeId: identifier, name: z.string().trim().min(1).max(200) }),
  /** A template id of the helpdesk's reply settings; the first template when left out. */
  template: identifier.optional(),
});
export type ReplyRequest = z.infer<typeof replyRequestSchema>;

export interface ReplyView {
  replyId: string;
  status: ReplyDelivery['status'];
  messageId: string;
  sentAt: string | null;
  error: string | null;
  to: string[];
  cc: string[];
  subject: string;
  attempts: number;
}

function imageName(image: StoredImage): string {
  return image.blobName.slice(image.blobName.lastIndexOf('/') + 1);
}

/** The mailbox that received the ticket; if it is no longer configured, the outbound one, else the first. */
export function sendingMailbox(helpdesk: Helpdesk, ticket: Ticket): MailboxSettings {
  const { mailboxes, replies } = helpdesk.importer;
  const chosen =
    mailboxes.find((m) => m.id === ticket.source.mailboxId) ??
    mailboxes.find((m) => m.id === replies.outboundMailboxId) ??
    mailboxes[0];
  if (!chosen) throw new Error(`helpdesk ${helpdesk.id} has no mailbox`);
  return chosen;
}

async function helpdeskAndTicket(deps: ReplyDependencies, helpdeskId: string, ticketNumber: number) {
  const helpdesk = await deps.helpdesks.get(helpdeskId);
  if (!helpdesk) throw new ApiError('notFound', `helpdesk ${helpdeskId} does not exist`);
  const everything = await deps.tickets.ticketWithEverything(helpdeskId, ticketNumber);
  if (!everything) throw new ApiError('notFound', `ticket ${ticketNumber} does not exist`);
  return { helpdesk, ...everything };
}

function requestedImages(
  request: ReplyRequest,
  ticket: Ticket,
  supplements: Supplement[],
  ticketNumber: number,
): StoredImage[] {
  const stored = [ticket.images, ...supplements.map((s) => s.images)].flat();
  return request.images.map((name, index) => {
    const image = stored.find((candidate) => imageName(candidate) === name);
    if (!image) {
      throw new ApiError(
        'badRequest',
        `body.images.${index}: ticket ${ticketNumber} has no image ${name}`,
        `body.images.${index}`,
      );
    }
    return image;
  });
}

/** The `Idempotency-Key` header: what a client may use to post one reply safely more than once. */
export const idempotencyKeySchema = z
  .string()
  .regex(/^[\x20-\x7e]{1,200}$/, '1 to 200 printable ASCII characters')
  .refine((key) => key.trim() !== '', 'not only spaces');

/**
 * The reply id of a post with an Idempotency-Key: the same for the same helpdesk, ticket and key, so a
 * repeated post (also one after a crash half-way through the first) finds the reply the first one made.
 * A version 8 (custom) UUID from a SHA-256 of the three.
 */
export function replyIdForKey(helpdeskId: string, ticketNumber: number, key: string): string {
  const hex = createHash('sha256')
    .update(JSON.stringify([helpdeskId, ticketNumber, key]))
    .digest('hex');
  const variant = ((Number.parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Of the validated request, whose keys zod writes in the schema's order: equal requests, equal hashes. */
function requestHash(request: ReplyRequest): string {
  return createHash('sha256').update(JSON.stringify(request)).digest('base64url');
}

/**
 * A post with a key that made a reply before: the same answer if it is the same request, and a reply
 * whose send job was never queued (the first post died between storing and queuing) is queued now.
 */
async function repeatedPost(
  deps: ReplyDependencies,
  existing: StoredReply,
  input: { ticketNumber: number; request: ReplyRequest; idempotencyKey: string },
): Promise<PostedReply> {
  const replyId = replyIdOf(existing.reply);
  if (existing.reply.delivery.requestHash !== requestHash(input.request)) {
    throw new ApiError(
      'conflict',
      `headers.idempotency-key: key ${input.idempotencyKey} was used for another reply to ticket ${input.ticketNumber} (${replyId}); a new reply needs a new key`,
      'headers.idempotency-key',
    );
  }
  const current = isStale(existing.reply, deps.clock())
    ? await requeue(deps, existing, 'Reply queued again (its send job was lost)')
    : existing;
  return { replyId, status: current.reply.delivery.status };
}

export interface PostedReply {
  replyId: string;
  status: ReplyDelivery['status'];
}

/**
 * Stores the reply (a supplement of type agentReply, with a history entry), remembers its Message-ID for
 * threading (R17) and queues its send job; Graph is not called. Every check comes before anything is
 * stored, so a refused reply changes nothing. With an idempotency key, a repeated post answers what the
 * first made.
 */
export async function postReply(
  deps: ReplyDependencies,
  input: { helpdeskId: string; ticketNumber: number; request: ReplyRequest; idempotencyKey?: string },
): Promise<PostedReply> {
  const { request, ticketNumber, idempotencyKey } = input;
  const { helpdesk, ticket, supplements } = await helpdeskAndTicket(deps, input.helpdeskId, ticketNumber);
  const replyId =
    idempotencyKey === undefined ? randomUUID() : replyIdForKey(helpdesk.id, ticketNumber, idempotencyKey);
  if (idempotencyKey !== undefined) {
    const existing = await deps.replies.get(helpdesk.id, ticketNumber, replyId);
    if (existing) return repeatedPost(deps, existing, { ticketNumber, request, idempotencyKey });
  }
  const settings = helpdesk.importer.replies;
  const template =
    request.template === undefined
      ? settings.templates[0]
      : settings.templates.find((t) => t.id === request.template);
  if (!template) {
    throw new ApiError('badRequest', `body.template: no reply template ${request.template}`, 'body.template');
  }
  const mailbox = sendingMailbox(helpdesk, ticket);
  const addresses = await knownMailboxAddresses(deps.helpdesks, helpdesk.id, helpdesk.importer.mailboxes);
  const recipients = chooseRecipients({
    contact: ticketContact(ticket, helpdesk.importer.defaultContactId),
    ...(request.to ? { to: request.to } : {}),
    ...(request.cc ? { cc: request.cc } : {}),
    ownAddresses: [...addresses.values()],
  });
  if (!recipients.ok) {
    throw new ApiError('badRequest', `${recipients.field}: ${recipients.reason}`, recipients.field);
  }
  const images = requestedImages(request, ticket, supplements, ticketNumber);

  const address = addresses.get(mailbox.id);
  const messageId = createOwnMessageId(
    `agentReply:${helpdesk.id}:${ticketNumber}:${replyId}`,
    messageIdDomain(helpdesk, address ?? null),
  );
  // The ticket view shows stored images by their URL; the mail carries them inline (cid:NAME).
  const urls = new Map(images.map((image) => [imageName(image), deps.imageUrl(image.blobName)]));
  const viewHtml = toSafeHtml({
    html: request.html ?? null,
    text: request.text,
    allowExternalImages: false,
    imageUrlForContentId: (cid) => urls.get(cid) ?? null,
  });
  let mailHtml = viewHtml;
  for (const [name, url] of urls) mailHtml = mailHtml.replaceAll(`src="${url}"`, `src="cid:${name}"`);
  const rendered = renderReply({
    template,
    separator: helpdesk.importer.replySeparator,
    ticketReference: formatTicketReference(ticketNumber, helpdesk.ticketPrefix),
    values: {
      ticketNumber: String(ticketNumber),
      title: ticket.title,
      // A stranger's ticket has the default contact: greet the person written to, by name or address.
      contactName: recipients.to[0]?.name || recipients.to[0]?.address || ticket.contact.name,
      agentName: request.author.name,
    },
    body: { text: request.text, html: mailHtml },
    inlineImages: [...urls.keys()],
  });
  const threading = replyThreading(ticket, supplements);
  const now = deps.clock().toISOString();
  const author = { id: request.author.employeeId, name: request.author.name };
  const reply: AgentReply = {
    id: replyDocumentId(replyId),
    docType: 'supplement',
    ticketKey: ticket.ticketKey,
    helpdeskId: helpdesk.id,
    ticketNumber,
    reportedAt: now,
    supplementType: 'agentReply',
    informationProvider: author,
    createdBy: author,
    description: request.text,
    descriptionHtml: viewHtml,
    fullText: rendered.text,
    images,
    visibleToCustomer: true,
    expanded: true,
    flagged: null,
    automatic: null,
    lastModifiedAt: now,
    lastModifiedBy: author,
    source: {
      messageKey: replyDocumentId(replyId),
      mailboxId: mailbox.id,
      internetMessageId: messageId,
      sender: address ? { address, name: helpdesk.name } : null,
      rawMailBlob: null,
      attachments: [],
    },
    delivery: {
      status: 'queued',
      mailboxId: mailbox.id,
      messageId,
      inReplyTo: threading.inReplyTo,
      references: threading.references,
      to: recipients.to,
      cc: recipients.cc,
      subject: rendered.subject,
      text: rendered.text,
      html: rendered.html,
      images: [...urls.keys()],
      templateId: template.id,
      round: 1,
      attempts: 0,
      sentAt: null,
      error: null,
      claim: null,
      ...(idempotencyKey === undefined ? {} : { requestHash: requestHash(request) }),
    },
  };
  // Known before it can go out, so even a very quick answer threads into the ticket (R17).
  await deps.tickets.rememberMessageIds(helpdesk.id, ticketNumber, [messageId]);
  // Whoever the agent writes to takes part in the ticket: their answer is not an unrelated sender's (R18).
  for (const participant of newParticipants(ticket, [...recipients.to, ...recipients.cc])) {
    await deps.tickets.addParticipant(helpdesk.id, ticketNumber, participant);
  }
  const etag = await deps.replies.create(reply);
  if (etag === null) {
    // Only a post with the same key makes the same id: it stored first, meanwhile.
    if (idempotencyKey === undefined) throw new Error(`reply ${replyId} exists already`);
    const first = await existingReply(deps, { helpdeskId: helpdesk.id, ticketNumber, replyId });
    return repeatedPost(deps, first, { ticketNumber, request, idempotencyKey });
  }
  await replyHistory(
    deps,
    reply,
    'agentReplyQueued',
    `Reply by ${author.name} queued for ${describeRecipients(reply)}.`,
  );
  await enqueueSend(deps, { reply, etag });
  return { replyId, status: 'queued' };
}

/** Recipients' addresses that are neither the ticket's contact nor already among its participants. */
function newParticipants(ticket: Ticket, recipients: Array<{ address: string }>): string[] {
  const known = new Set([ticket.contact.email, ...ticket.participants].map((a) => a.trim().toLowerCase()));
  const added = recipients.map((r) => normalizeAddress(r.address)).filter((a) => a !== '' && !known.has(a));
  return [...new Set(added)];
}

async function existingReply(
  deps: ReplyDependencies,
  input: { helpdeskId: string; ticketNumber: number; replyId: string },
): Promise<StoredReply> {
  const found = await deps.replies.get(input.helpdeskId, input.ticketNumber, input.replyId);
  if (!found) {
    throw new ApiError('notFound', `ticket ${input.ticketNumber} has no reply ${input.replyId}`);
  }
  return found;
}

export async function replyStatus(
  deps: ReplyDependencies,
  input: { helpdeskId: string; ticketNumber: number; replyId: string },
): Promise<ReplyView> {
  const { reply } = await existingReply(deps, input);
  const { delivery } = reply;
  return {
    replyId: input.replyId,
    status: delivery.status,
    messageId: delivery.messageId,
    sentAt: delivery.sentAt,
    error: delivery.error,
    to: delivery.to.map((a) => a.address),
    cc: delivery.cc.map((a) => a.address),
    subject: delivery.subject,
    attempts: delivery.attempts,
  };
}

/**
 * Sends a reply again: the same mail with the same Message-ID, so a mail that did go out after all is
 * found in Sent Items instead of sent twice. A failed reply, or a queued one that nothing has happened to
 * for a while (its send job was lost: see isStale); 409 otherwise.
 */
export async function retryReply(
  deps: ReplyDependencies,
  input: { helpdeskId: string; ticketNumber: number; replyId: string },
): Promise<ReplyView> {
  const current = await existingReply(deps, input);
  const { status } = current.reply.delivery;
  if (status === 'failed') {
    await requeue(deps, current, 'Reply queued again');
  } else if (status === 'queued' && isStale(current.reply, deps.clock())) {
    await requeue(deps, current, 'Reply queued again (its send job was lost)');
  } else {
    throw new ApiError(
      'conflict',
      status === 'queued'
        ? `reply ${input.replyId} is queued and its send job may still run; a queued reply is queued again only when nothing has happened to it for ${STALE_AFTER_MINUTES} minutes`
        : `reply ${input.replyId} is ${status}; only a failed reply is sent again`,
    );
  }
  return replyStatus(deps, input);
}

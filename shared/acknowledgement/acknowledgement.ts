import { type Classification, isNoReplyAddress, OWN_MAIL_HEADER } from '../mail/classify.js';
import { composeOutgoingMime } from '../mail/outgoingMime.js';
import { flattenHeaderText } from './headerSafety.js';

/** Acknowledgement mail (R16): whether to send it, its text, and its MIME bytes. All pure. */

export interface AcknowledgementAllowedInput {
  classification: Classification;
  /** The address the acknowledgement would go to. */
  sender: string;
  ownAddresses: string[];
  /** Whether the receiving organisation authenticated the From address (senderAuthentication). */
  senderAuthentication: { authenticated: boolean; reason: string };
  /** Acknowledgements already sent to this sender (counted under its normalised address). */
  sentToSender: { lastHour: number; lastDay: number };
  /** Acknowledgements this helpdesk sent to anyone in the last hour. */
  sentByHelpdesk: { lastHour: number };
  limits: { maxPerSenderPerHour: number; maxPerSenderPerDay: number; maxPerHelpdeskPerHour: number };
}

export interface AcknowledgementVerdict {
  allowed: boolean;
  reason: string;
}

/**
 * Whether to acknowledge (R15, R16). Only an authenticated sender is answered, so a forged From gets no
 * mail from us (backscatter); the per-sender limits keep two robots from ping-ponging, the per-helpdesk
 * limit caps what a flood of distinct senders can make us send.
 */
export function acknowledgementAllowed(input: AcknowledgementAllowedInput): AcknowledgementVerdict {
  const { classification, sentToSender, limits } = input;
  const sender = input.sender.trim().toLowerCase();
  if (classification.kind !== 'normal') {
    return {
      allowed: false,
      reason: `mail is classified as ${classification.kind}; automated mail is never answered`,
    };
  }
  if (!/^[^\s@]+@[^\s@]+$/.test(sender)) {
    return { allowed: false, reason: 'no usable sender address' };
  }
  if (input.ownAddresses.some((own) => own.trim().toLowerCase() === sender)) {
    return { allowed: false, reason: `${sender} is one of our own mailboxes` };
  }
  if (isNoReplyAddress(sender)) {
    return { allowed: false, reason: `${sender} is a no-reply or mail system address` };
  }
  if (!input.senderAuthentication.authenticated) {
    return {
      allowed: false,
      reason: `sender not authenticated by the receiving server (${input.senderAuthentication.reason})`,
    };
  }
  if (input.sentByHelpdesk.lastHour >= limits.maxPerHelpdeskPerHour) {
    return {
      allowed: false,
      reason: `${input.sentByHelpdesk.lastHour} acknowledgements by this helpdesk in the last hour (limit ${limits.maxPerHelpdeskPerHour})`,
    };
  }
  if (sentToSender.lastHour >= limits.maxPerSenderPerHour) {
    return {
      allowed: false,
      reason: `${sentToSender.lastHour} acknowledgements to ${sender} in the last hour (limit ${limits.maxPerSenderPerHour})`,
    };
  }
  if (sentToSender.lastDay >= limits.maxPerSenderPerDay) {
    return {
      allowed: false,
      reason: `${sentToSender.lastDay} acknowledgements to ${sender} in the last day (limit ${limits.maxPerSenderPerDay})`,
    };
  }
  return { allowed: true, reason: 'normal mail from a person, within the per-sender limits' };
}

export interface AcknowledgementPlaceholders {
  ticketNumber: string;
  title: string;
  contactName: string;
  helpdeskName: string;
}

export interface RenderAcknowledgementInput {
  template: { subject: string; body: string };
  /** The reply separator line (R9); empty when the helpdesk has none. */
  separator: string;
  placeholders: AcknowledgementPlaceholders;
  /** The subject tag from formatTicketReference, e.g. "[#123]". */
  ticketReference: string;
}

export interface RenderedAcknowledgement {
  subject: string;
  text: string;
}

const PLACEHOLDER = /\{(ticketNumber|title|contactName|helpdeskName)\}/g;

/** One pass, so a value that itself contains "{title}" is not expanded again. */
function fill(
  template: string,
  values: AcknowledgementPlaceholders,
  transform: (value: string) => string,
): string {
  return template.replace(PLACEHOLDER, (_match, key: keyof AcknowledgementPlaceholders) =>
    transform(values[key]),
  );
}

/**
 * Longest title and name echoed back: both come from the sender, and an acknowledgement must not carry
 * a stranger's message (a long subject or display name) to whoever the From names.
 */
export const MAX_ECHOED_TITLE = 80;
export const MAX_ECHOED_NAME = 60;

function capped(value: string, max: number): string {
  const characters = Array.from(value);
  return characters.length > max ? `${characters.slice(0, max - 1).join('')}…` : value;
}

/** A sender's display name as we may repeat it (the acknowledgement's To, its greeting). */
export function echoedName(name: string): string {
  return capped(name, MAX_ECHOED_NAME);
}

/** One subject line holding the ticket reference, so the answer finds its way back to the ticket (R6). */
export function subjectWithReference(filled: string, ticketReference: string): string {
  const subject = flattenHeaderText(filled);
  const reference = flattenHeaderText(ticketReference);
  return subject.includes(reference) ? subject : `${reference} ${subject}`.trim();
}

export function renderAcknowledgement(input: RenderAcknowledgementInput): RenderedAcknowledgement {
  const placeholders = {
    ...input.placeholders,
    title: capped(input.placeholders.title, MAX_ECHOED_TITLE),
    contactName: echoedName(input.placeholders.contactName),
  };
  const subject = subjectWithReference(
    fill(input.template.subject, placeholders, flattenHeaderText),
    input.ticketReference,
  );

  const body = fill(input.template.body, placeholders, (value) => value).replace(/\r\n?/g, '\n');
  const separator = flattenHeaderText(input.separator);
  // The separator goes first: the customer writes above it, and only that part is imported (R9).
  const text = separator === '' ? body : `${separator}\n\n${body}`;
  return { subject, text };
}

export interface AcknowledgementMimeInput {
  from: { address: string; name: string };
  to: { address: string; name: string };
  subject: string;
  text: string;
  /** Our own deterministic id (createOwnMessageId), so a resent job sends the same message. */
  messageId: string;
  /** Threading ids from the incoming mail; malformed ones are left out, line breaks are refused. */
  inReplyTo: string | null;
  references: string[];
  /** Defaults to now; fixed in tests. */
  date?: Date;
}

/**
 * The acknowledgement as RFC 5322 bytes (R16). It is marked as an automatic reply both the RFC 3834
 * way (Auto-Submitted) and the Exchange way (X-Auto-Response-Suppress), so that out-of-office
 * responders stay silent. No Precedence header: it is not standardised, RFC 3834 does not rely on it
 * and bulk precedence hurts delivery of a mail the customer is waiting for.
 */
export async function composeAcknowledgementMime(input: AcknowledgementMimeInput): Promise<Buffer> {
  return composeOutgoingMime({
    from: input.from,
    to: [input.to],
    subject: input.subject,
    text: input.text,
    messageId: input.messageId,
    inReplyTo: input.inReplyTo,
    references: input.references,
    headers: {
      'Auto-Submitted': 'auto-replied',
      'X-Auto-Response-Suppress': 'All',
      [OWN_MAIL_HEADER]: 'acknowledgement',
    },
    ...(input.date ? { date: input.date } : {}),
  });
}

import type { MailKind } from '../mail/classify.js';
import type { ParsedMail } from '../mail/parsedMail.js';

/** Where an incoming mail goes (R6, R15, R17, R18). Pure decisions; the caller does the lookups. */

/** A very long References chain adds nothing after this many of its newest ids. */
const MAX_REFERENCED_IDS = 100;

/** Threading compares Message-IDs exactly but for surrounding brackets, blanks and case. */
export function threadKey(messageId: string): string {
  return messageId.trim().replace(/^<|>$/g, '').toLowerCase();
}

/**
 * Message-IDs this mail answers, most telling first: In-Reply-To, then References newest first.
 * Ids keep their exact spelling (only trimmed, and put in angle brackets when a client left them off).
 */
export function referencedMessageIds(mail: ParsedMail): string[] {
  const references = mail.references.flatMap(messageIds).reverse();
  const ids = [...mail.inReplyTo.flatMap(messageIds), ...references];
  return [...new Set(ids)].slice(0, MAX_REFERENCED_IDS);
}

/** Splits a header value that may hold several ids, with or without angle brackets. */
function messageIds(value: string): string[] {
  const bracketed = value.match(/<[^<>\s]+>/g);
  if (bracketed) return bracketed;
  return value
    .split(/\s+/)
    .filter((id) => id.includes('@'))
    .map((id) => `<${id}>`);
}

export interface TicketFacts {
  number: number;
  /** The ticket's contact and everyone who wrote earlier mails of it. */
  contactAddresses: string[];
  organisationId: string | null;
}

export interface TargetInput {
  /** Candidates from findTicketNumbers, most confident first. */
  subjectNumbers: number[];
  /** Facts of those subject numbers that exist in this helpdesk. */
  knownTickets: Map<number, TicketFacts>;
  /** Ticket whose earlier mails (incoming or ours) one of referencedMessageIds points at. */
  threadMatch: number | null;
  sender: string;
  senderOrganisationId: string | null;
  classification: MailKind;
  settings: {
    unrelatedSender: 'internalAndFlag' | 'accept' | 'acceptAndFlag' | 'newTicket';
    autoReplies: 'supplement' | 'skip';
  };
}

export type TargetDecision =
  | { action: 'createTicket' }
  | {
      action: 'supplement';
      ticketNumber: number;
      flagged: boolean;
      via: 'subject' | 'references';
      /** Only for a person to read: not visible to the customer, no change to the ticket's status. */
      internal?: true;
    }
  | { action: 'skip'; reason: string };

function isRelated(ticket: TicketFacts, sender: string, senderOrganisationId: string | null): boolean {
  const address = sender.trim().toLowerCase();
  if (address !== '' && ticket.contactAddresses.some((known) => known.trim().toLowerCase() === address)) {
    return true;
  }
  return senderOrganisationId !== null && senderOrganisationId === ticket.organisationId;
}

/** The first subject number that names a known ticket (R6). */
function subjectTicket(input: Pick<TargetInput, 'subjectNumbers' | 'knownTickets'>): TicketFacts | undefined {
  return input.subjectNumbers
    .map((number) => input.knownTickets.get(number))
    .find((facts) => facts !== undefined);
}

/**
 * Whether decideTarget's answer can depend on threadMatch: not for mail it skips by its kind, nor for a
 * sender related to the subject's known ticket. The caller saves the thread lookup then.
 */
export function needsThreadMatch(input: Omit<TargetInput, 'threadMatch'>): boolean {
  const { classification, settings } = input;
  if (classification === 'bounce' || classification === 'ownMail') return false;
  if (classification === 'autoReply' && settings.autoReplies === 'skip') return false;
  const ticket = subjectTicket(input);
  return ticket === undefined || !isRelated(ticket, input.sender, input.senderOrganisationId);
}

/**
 * - bounce and ownMail: skipped, they would only loop or add noise.
 * - autoReply: supplements a known ticket when the helpdesk wants that, otherwise skipped; it
 *   never creates a ticket.
 * - bulk and normal: a known subject number wins (R6); an unrelated sender is handled as set
 *   (R18); without one, the thread decides (R17); otherwise a new ticket.
 * A sender whose mail threads into the very ticket of the subject number holds mail of that
 * ticket, so counts as related. A sender unrelated to the subject's ticket whose mail threads into
 * another ticket answers that other conversation (a stranger whose first mail quoted "[#1]" became
 * ticket 5 and who replies to it): the thread decides, and no further ticket is made.
 */
export function decideTarget(input: TargetInput): TargetDecision {
  const { classification, settings } = input;
  if (classification === 'bounce') {
    return { action: 'skip', reason: 'delivery failure report: never creates or supplements a ticket' };
  }
  if (classification === 'ownMail') {
    return { action: 'skip', reason: 'our own mail came back: importing it would loop' };
  }
  if (classification === 'autoReply' && settings.autoReplies === 'skip') {
    return { action: 'skip', reason: 'automatic reply: the helpdesk skips auto-replies' };
  }

  const ticket = subjectTicket(input);
  if (ticket !== undefined) {
    const related =
      input.threadMatch === ticket.number || isRelated(ticket, input.sender, input.senderOrganisationId);
    if (related) {
      return { action: 'supplement', ticketNumber: ticket.number, flagged: false, via: 'subject' };
    }
    if (input.threadMatch !== null) {
      return { action: 'supplement', ticketNumber: input.threadMatch, flagged: false, via: 'references' };
    }
    if (settings.unrelatedSender === 'accept') {
      return { action: 'supplement', ticketNumber: ticket.number, flagged: false, via: 'subject' };
    }
    if (settings.unrelatedSender === 'internalAndFlag') {
      return {
        action: 'supplement',
        ticketNumber: ticket.number,
        flagged: true,
        via: 'subject',
        internal: true,
      };
    }
    if (settings.unrelatedSender === 'acceptAndFlag') {
      return { action: 'supplement', ticketNumber: ticket.number, flagged: true, via: 'subject' };
    }
    if (classification === 'autoReply') {
      return {
        action: 'skip',
        reason: `automatic reply from ${input.sender || 'an unknown sender'} unrelated to ticket ${ticket.number}`,
      };
    }
    return { action: 'createTicket' };
  }

  if (input.threadMatch !== null) {
    return { action: 'supplement', ticketNumber: input.threadMatch, flagged: false, via: 'references' };
  }
  if (classification === 'autoReply') {
    return { action: 'skip', reason: 'automatic reply to no known ticket' };
  }
  return { action: 'createTicket' };
}

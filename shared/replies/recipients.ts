import { isPlainAddress } from '../acknowledgement/headerSafety.js';
import { isNoReplyAddress } from '../mail/classify.js';
import type { MailAddress, Ticket } from '../tickets/model.js';

/** Who an agent reply goes to (R21). Pure. */

export interface RecipientInput {
  /** The ticket's contact, the default To; null when the ticket has no address to answer. */
  contact: MailAddress | null;
  /** Addresses the agent gave; they replace the default To. */
  to?: string[];
  cc?: string[];
  /** The helpdesk's own mailboxes: mail to them would come back as a supplement. */
  ownAddresses: string[];
}

export type RecipientChoice =
  | { ok: true; to: MailAddress[]; cc: MailAddress[] }
  /** `field` names the request field at fault, as the HTTP answer names it. */
  | { ok: false; field: string; reason: string };

function refusal(address: string, ownAddresses: string[]): string | null {
  const lower = address.toLowerCase();
  if (!isPlainAddress(address)) return 'not one plain mail address';
  if (ownAddresses.some((own) => own.trim().toLowerCase() === lower)) {
    return `${address} is one of the helpdesk's own mailboxes`;
  }
  if (isNoReplyAddress(lower)) return `${address} is a no-reply or mail system address`;
  return null;
}

/**
 * The ticket's contact by default; addresses given replace the To and make the Cc. Every address is a
 * plain one, never no-reply, a mail system or the helpdesk's own mailbox: such an address is refused,
 * naming it, rather than quietly left out. Duplicates go (any case); an address in To leaves the Cc.
 */
export function chooseRecipients(input: RecipientInput): RecipientChoice {
  const named = (address: string): MailAddress => ({
    address,
    name: input.contact?.address.toLowerCase() === address.toLowerCase() ? input.contact.name : '',
  });
  const seen = new Set<string>();
  const pick = (field: 'to' | 'cc', addresses: string[]) => {
    const chosen: MailAddress[] = [];
    for (const [index, raw] of addresses.entries()) {
      const address = raw.trim();
      const problem = refusal(address, input.ownAddresses);
      if (problem) return { field: `body.${field}.${index}`, reason: problem };
      if (seen.has(address.toLowerCase())) continue;
      seen.add(address.toLowerCase());
      chosen.push(named(address));
    }
    return chosen;
  };

  let to: MailAddress[];
  if (input.to !== undefined && input.to.length > 0) {
    const picked = pick('to', input.to);
    if (!Array.isArray(picked)) return { ok: false, ...picked };
    to = picked;
  } else {
    if (input.contact === null) {
      return { ok: false, field: 'body.to', reason: 'the ticket has no contact address; give to' };
    }
    const problem = refusal(input.contact.address, input.ownAddresses);
    if (problem)
      return {
        ok: false,
        field: 'body.to',
        reason: `the ticket's contact cannot be answered: ${problem}; give to`,
      };
    seen.add(input.contact.address.toLowerCase());
    to = [input.contact];
  }
  const cc = pick('cc', input.cc ?? []);
  if (!Array.isArray(cc)) return { ok: false, ...cc };
  return { ok: true, to, cc };
}

/**
 * The person the ticket is about, as an address to answer: its contact, or — when the helpdesk's default
 * contact stands in for an unknown sender — whoever wrote the mail.
 */
export function ticketContact(ticket: Ticket, defaultContactId: string): MailAddress | null {
  if (ticket.contact.id !== defaultContactId && ticket.contact.email) {
    return { address: ticket.contact.email, name: ticket.contact.name };
  }
  const sender = ticket.source.sender;
  return sender ? { address: sender.address, name: sender.name ?? '' } : null;
}

import type { Helpdesk, MailboxSettings } from '../helpdesk/settings.js';
import { fallbackMessageIdDomain } from '../mail/classify.js';
import type { HelpdeskStore, MailboxStatus } from './ports.js';

/** The address Graph gave for a mailbox configured by user id, as kept on the mailbox's status. */
export type ResolvedAddress = MailboxStatus['resolvedAddress'];

/** A mailbox given by address is that address; one given by Graph user id, the address Graph gave for it. */
export function ownAddress(mailbox: MailboxSettings, resolved: ResolvedAddress): string | null {
  if (mailbox.userId.includes('@')) return mailbox.userId.toLowerCase();
  return resolved?.userId === mailbox.userId ? resolved.address : null;
}

/** The domain of our own Message-IDs: the mailbox's, or the helpdesk's fallback while its address is unknown. */
export function messageIdDomain(helpdesk: Helpdesk, address: string | null): string {
  return address ? address.slice(address.indexOf('@') + 1) : fallbackMessageIdDomain(helpdesk.id);
}

/**
 * Addresses of these mailboxes of the helpdesk as far as known without asking Graph: given, or resolved
 * by an import and kept on their statuses (read only when a mailbox is configured by user id). By mailbox id.
 */
export async function knownMailboxAddresses(
  helpdesks: Pick<HelpdeskStore, 'mailboxStatuses'>,
  helpdeskId: string,
  mailboxes: readonly MailboxSettings[],
): Promise<Map<string, string>> {
  const statuses = mailboxes.some((m) => !m.userId.includes('@'))
    ? await helpdesks.mailboxStatuses(helpdeskId)
    : [];
  const addresses = new Map<string, string>();
  for (const mailbox of mailboxes) {
    const cached = statuses.find((s) => s.mailboxId === mailbox.id)?.resolvedAddress ?? null;
    const address = ownAddress(mailbox, cached);
    if (address) addresses.set(mailbox.id, address);
  }
  return addresses;
}

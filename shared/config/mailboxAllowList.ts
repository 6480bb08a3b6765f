/**
 * The mailboxes this deployment may read, set at deploy time (app setting ALLOWED_MAILBOXES). The app's
 * Graph permission (Mail.ReadWrite, Mail.Send) reaches every mailbox of the tenant unless an Exchange
 * application access policy narrows it; this list is the app's own limit, so that whoever may change a
 * helpdesk's settings still cannot point it at the CEO's mailbox. Pure.
 *
 * Entries, separated by commas, semicolons or white space:
 * - `contoso.com` or `@contoso.com`: every address at that domain (not its subdomains);
 * - `desk@contoso.com`: that address;
 * - a Graph user id (GUID): that user, when the settings name the mailbox by id;
 * - `*`: any mailbox; for local runs against the emulators only.
 */
export interface MailboxAllowList {
  any: boolean;
  domains: string[];
  /** Addresses and user ids, lower case. */
  mailboxes: string[];
}

const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;
const ADDRESS = /^[^\s@,;]+@[^\s@,;]+$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Parses the setting; throws with the first entry that is none of the accepted forms. */
export function parseMailboxAllowList(setting: string): MailboxAllowList {
  const list: MailboxAllowList = { any: false, domains: [], mailboxes: [] };
  const entries = setting
    .split(/[\s,;]+/)
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean);
  if (entries.length === 0) throw new Error('must list at least one domain or mailbox');
  for (const entry of entries) {
    if (entry === '*') list.any = true;
    else if (DOMAIN.test(entry.replace(/^@/, ''))) list.domains.push(entry.replace(/^@/, ''));
    else if (ADDRESS.test(entry) && DOMAIN.test(entry.slice(entry.lastIndexOf('@') + 1)))
      list.mailboxes.push(entry);
    else if (GUID.test(entry)) list.mailboxes.push(entry);
    else throw new Error(`"${entry}" is not a domain, a mail address, a user id or *`);
  }
  return list;
}

/** Whether a mailbox's Graph user id or UPN is within the list. */
export function mailboxAllowed(list: MailboxAllowList, userId: string): boolean {
  if (list.any) return true;
  const id = userId.trim().toLowerCase();
  if (list.mailboxes.includes(id)) return true;
  const at = id.lastIndexOf('@');
  return at > 0 && list.domains.includes(id.slice(at + 1));
}

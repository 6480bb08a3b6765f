import type { Contact } from '../tickets/model.js';
import type { ContactDirectory } from './ports.js';

/**
 * The contacts one mailbox run needs, each looked up once: a backlog holds many mails from few senders,
 * and a lookup by address is a query (two round trips: the SDK's query plan, then the query). Unknown
 * senders are remembered as unknown too. A contact another process adds while the run lasts (minutes at
 * most) is found from the next run on; one the run itself writes is found at once.
 */
export class RunContacts {
  private readonly byAddress = new Map<string, Promise<Contact | null>>();
  private readonly byId = new Map<string, Promise<Contact | null>>();

  constructor(
    private readonly directory: ContactDirectory,
    private readonly helpdeskId: string,
  ) {}

  findByAddress(address: string): Promise<Contact | null> {
    return remembered(this.byAddress, address.trim().toLowerCase(), () =>
      this.directory.findByAddress(this.helpdeskId, address),
    );
  }

  get(contactId: string): Promise<Contact | null> {
    return remembered(this.byId, contactId, () => this.directory.get(this.helpdeskId, contactId));
  }

  async put(contact: Contact): Promise<void> {
    await this.directory.put(contact);
    this.byAddress.set(contact.emailLower.toLowerCase(), Promise.resolve(contact));
    this.byId.set(contact.id, Promise.resolve(contact));
  }
}

/** One lookup per key, shared by concurrent callers; a failed lookup is forgotten so the next one tries again. */
function remembered(
  cache: Map<string, Promise<Contact | null>>,
  key: string,
  lookUp: () => Promise<Contact | null>,
): Promise<Contact | null> {
  const known = cache.get(key);
  if (known) return known;
  const found = lookUp();
  cache.set(key, found);
  found.catch(() => {
    if (cache.get(key) === found) cache.delete(key);
  });
  return found;
}

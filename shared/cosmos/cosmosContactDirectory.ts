import type { Container, Database } from '@azure/cosmos';
import type { ContactDirectory } from '../import/ports.js';
import type { Contact } from '../tickets/model.js';
import { container, readOrNull } from './containers.js';

export class CosmosContactDirectory implements ContactDirectory {
  private readonly contacts: Container;

  constructor(database: Database) {
    this.contacts = container(database, 'contacts');
  }

  async findByAddress(helpdeskId: string, address: string): Promise<Contact | null> {
    const { resources } = await this.contacts.items
      .query<Contact>(
        {
          // The partition is named in the query too: it costs nothing and does not rely on the option alone.
          query: 'SELECT * FROM c WHERE c.helpdeskId = @helpdeskId AND c.emailLower = @email',
          parameters: [
            { name: '@helpdeskId', value: helpdeskId },
            { name: '@email', value: address.trim().toLowerCase() },
          ],
        },
        { partitionKey: helpdeskId, maxItemCount: 1 },
      )
      .fetchNext();
    return resources[0] ?? null;
  }

  async get(helpdeskId: string, contactId: string): Promise<Contact | null> {
    return (await readOrNull<Contact>(this.contacts, contactId, helpdeskId))?.resource ?? null;
  }

  async put(contact: Contact): Promise<void> {
    await this.contacts.items.upsert({ ...contact, emailLower: contact.emailLower.toLowerCase() });
  }
}

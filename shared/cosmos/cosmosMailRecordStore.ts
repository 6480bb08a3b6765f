import type { Container, Database } from '@azure/cosmos';
import { type MailRecord, type MailRecordStore, mailboxKey } from '../import/mailRecord.js';
import { container, cosmosStatus, readOrNull } from './containers.js';

export class CosmosMailRecordStore implements MailRecordStore {
  private readonly mail: Container;

  constructor(database: Database) {
    this.mail = container(database, 'mail');
  }

  async get(key: string, messageKey: string) {
    const found = await readOrNull<MailRecord>(this.mail, messageKey, key);
    return found ? { record: found.resource, etag: found.etag ?? '' } : null;
  }

  async create(record: MailRecord) {
    try {
      const response = await this.mail.items.create(record);
      return { etag: response.etag ?? '' };
    } catch (error) {
      if (cosmosStatus(error) === 409) return null;
      throw error;
    }
  }

  async replace(record: MailRecord, etag: string) {
    try {
      const response = await this.mail
        .item(record.id, record.mailboxKey)
        .replace(record, { accessCondition: { type: 'IfMatch', condition: etag } });
      return { etag: response.etag ?? '' };
    } catch (error) {
      if (cosmosStatus(error) === 412) return null;
      throw error;
    }
  }

  async withState(
    helpdeskId: string,
    mailboxIds: string[],
    state: 'keptAside' | 'flagged',
  ): Promise<MailRecord[]> {
    const records: MailRecord[] = [];
    for (const mailboxId of mailboxIds) {
      const partition = mailboxKey(helpdeskId, mailboxId);
      const { resources } = await this.mail.items
        .query<MailRecord>(
          {
            query:
              'SELECT * FROM c WHERE c.mailboxKey = @partition AND c.state = @state ORDER BY c.receivedDateTime',
            parameters: [
              { name: '@partition', value: partition },
              { name: '@state', value: state },
            ],
          },
          { partitionKey: partition },
        )
        .fetchAll();
      records.push(...resources);
    }
    return records;
  }
}

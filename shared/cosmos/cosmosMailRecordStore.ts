import { BulkOperationType, type Container, type Database, type JSONObject } from '@azure/cosmos';
import {
  InvalidContinuationToken,
  type MailRecord,
  type MailRecordQuery,
  type MailRecordStore,
  mailboxKey,
} from '../import/mailRecord.js';
import { batchInPartition, container, cosmosStatus, readOrNull } from './containers.js';

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

  async replaceGroup(entries: Array<{ record: MailRecord; etag: string }>) {
    const results: Array<{ etag: string } | null | Error | undefined> = entries.map(() => undefined);
    const first = entries[0];
    if (entries.length > 1 && first) {
      const responses = await batchInPartition(
        this.mail,
        first.record.mailboxKey,
        entries.map(({ record, etag }) => ({
          operationType: BulkOperationType.Replace,
          id: record.id,
          ifMatch: etag,
          resourceBody: record as unknown as JSONObject,
        })),
      );
      for (const [index, operation] of (responses ?? []).entries()) {
        if (operation.statusCode < 400) results[index] = { etag: operation.eTag ?? '' };
      }
    }
    // What the batch did not write (all of it in Azure when one failed, the rest on the emulator), one by
    // one: a record that cannot be written is that record's failure, not the others'.
    for (const [index, entry] of entries.entries()) {
      results[index] ??= await this.replace(entry.record, entry.etag).catch((error: unknown) =>
        error instanceof Error ? error : new Error(String(error)),
      );
    }
    return results.map((result) => result ?? null);
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

  async countNeedingAttention(helpdeskId: string, mailboxId: string): Promise<number> {
    const partition = mailboxKey(helpdeskId, mailboxId);
    const { resources } = await this.mail.items
      .query<number>(
        {
          query:
            "SELECT VALUE COUNT(1) FROM c WHERE c.mailboxKey = @partition AND (c.state = 'keptAside' OR c.state = 'flagged')",
          parameters: [{ name: '@partition', value: partition }],
        },
        { partitionKey: partition },
      )
      .fetchAll();
    return resources[0] ?? 0;
  }

  /**
   * Across the helpdesk's mailbox partitions, ordered by the query itself so Cosmos DB's own continuation
   * token carries the position; handed out as base64url so callers treat it as opaque. A page is filled
   * up to its size by following the token, since Cosmos DB may return fewer items than asked for.
   */
  async page(query: MailRecordQuery): Promise<{ records: MailRecord[]; continuationToken: string | null }> {
    if (query.mailboxIds.length === 0) return { records: [], continuationToken: null };
    const conditions = [
      'c.helpdeskId = @helpdeskId',
      'ARRAY_CONTAINS(@partitions, c.mailboxKey)',
      'ARRAY_CONTAINS(@states, c.state)',
    ];
    const parameters = [
      { name: '@helpdeskId', value: query.helpdeskId },
      { name: '@partitions', value: query.mailboxIds.map((id) => mailboxKey(query.helpdeskId, id)) },
      { name: '@states', value: query.states },
    ];
    for (const field of ['from', 'subject'] as const) {
      const value = query[field];
      if (!value) continue;
      // Bracketed: FROM is a keyword of the query language.
      conditions.push(`IS_STRING(c["${field}"]) AND CONTAINS(LOWER(c["${field}"]), @${field})`);
      parameters.push({ name: `@${field}`, value: value.toLowerCase() });
    }
    const spec = {
      query: `SELECT * FROM c WHERE ${conditions.join(' AND ')} ORDER BY c.receivedDateTime DESC`,
      parameters,
    };
    const records: MailRecord[] = [];
    let token = query.continuationToken === undefined ? undefined : decodeToken(query.continuationToken);
    do {
      const iterator = this.mail.items.query<MailRecord>(spec, {
        maxItemCount: query.pageSize - records.length,
        ...(token === undefined ? {} : { continuationToken: token }),
      });
      let page: Awaited<ReturnType<typeof iterator.fetchNext>>;
      try {
        page = await iterator.fetchNext();
      } catch (error) {
        if (token !== undefined && cosmosStatus(error) === 400) {
          throw new InvalidContinuationToken('not a continuation token of this listing');
        }
        throw error;
      }
      records.push(...page.resources);
      token = page.continuationToken || undefined;
    } while (token !== undefined && records.length < query.pageSize);
    return { records, continuationToken: token === undefined ? null : encodeToken(token) };
  }
}

function encodeToken(token: string): string {
  return Buffer.from(token, 'utf8').toString('base64url');
}

function decodeToken(token: string): string {
  const decoded = Buffer.from(token, 'base64url').toString('utf8');
  if (!token || encodeToken(decoded) !== token) {
    throw new InvalidContinuationToken('not a continuation token of this listing');
  }
  return decoded;
}

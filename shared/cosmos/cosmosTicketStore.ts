import { createHash } from 'node:crypto';
import {
  BulkOperationType,
  type Container,
  type Database,
  type JSONObject,
  type PatchOperation,
} from '@azure/cosmos';
import { MAX_CONCURRENT_CHANGE_ATTEMPTS, TicketChangedMeanwhile, type TicketStore } from '../import/ports.js';
import { type HistoryEntry, type Supplement, type Ticket, ticketKey } from '../tickets/model.js';
import { threadKey } from '../tickets/threading.js';
import type { TicketChangeOnSupplement } from '../tickets/ticketFields.js';
import { allWritten, batchInPartition, container, cosmosStatus, readOrNull } from './containers.js';

interface ThreadDocument {
  id: string;
  helpdeskId: string;
  docType: 'thread';
  messageId: string;
  ticketNumber: number;
}

/** A thread entry's id: the Message-ID as threading compares it, hashed to a safe id. */
function threadId(messageId: string): string {
  return createHash('sha256').update(threadKey(messageId)).digest('base64url').slice(0, 40);
}

const MAX_THREAD_LOOKUPS = 20;
/** The most operations Cosmos DB takes in one transactional batch. */
const MAX_BATCH_OPERATIONS = 100;
/** The most operations Cosmos DB takes in one patch. */
const MAX_PATCH_OPERATIONS = 10;

/** Cosmos DB's ETag on a ticket as read (absent on one not read from Cosmos DB). */
function etagOf(ticket: Ticket): string | undefined {
  const etag: unknown = Reflect.get(ticket, '_etag');
  return typeof etag === 'string' ? etag : undefined;
}

/** The batch API types its bodies as JSON; the documents are plain JSON data, only typed more narrowly. */
function asJson(document: Ticket | Supplement | HistoryEntry): JSONObject {
  return document as unknown as JSONObject;
}

export class CosmosTicketStore implements TicketStore {
  private readonly tickets: Container;
  private readonly threads: Container;

  constructor(database: Database) {
    this.tickets = container(database, 'tickets');
    this.threads = container(database, 'threads');
  }

  async getTicket(helpdeskId: string, ticketNumber: number): Promise<Ticket | null> {
    const found = await readOrNull<Ticket>(this.tickets, 'ticket', ticketKey(helpdeskId, ticketNumber));
    return found?.resource ?? null;
  }

  async createTicket(ticket: Ticket): Promise<'created' | 'exists'> {
    try {
      await this.tickets.items.create(ticket);
      return 'created';
    } catch (error) {
      if (cosmosStatus(error) === 409) return 'exists';
      throw error;
    }
  }

  /**
   * One transactional batch in the ticket's partition: the document created, the entry upserted. Used for
   * the single round trip, not for atomicity: every caller also copes with either write made alone (the
   * local emulator runs a batch operation by operation, keeping what went through before a failure), so
   * anything short of both succeeding is false, whatever the service did.
   */
  async createWithHistory(document: Ticket | Supplement, history: HistoryEntry): Promise<boolean> {
    return allWritten(
      await batchInPartition(this.tickets, document.ticketKey, [
        { operationType: BulkOperationType.Create, resourceBody: asJson(document) },
        { operationType: BulkOperationType.Upsert, resourceBody: asJson(history) },
      ]),
    );
  }

  async createSupplement(supplement: Supplement): Promise<void> {
    try {
      await this.tickets.items.create(supplement);
    } catch (error) {
      if (cosmosStatus(error) !== 409) throw error;
    }
  }

  async changeOnSupplement(ticket: Ticket, change: TicketChangeOnSupplement): Promise<boolean> {
    // Setting values (not adding to them) keeps a repeated change harmless. A patch holds at most 10
    // operations: 6 fixed ones and the fields rules change. Only when rules change five or more fields at
    // once does it take a second patch; a crash between the two is repaired by the retry setting all again.
    const operations: PatchOperation[] = [
      { op: 'set', path: '/statusId', value: change.statusId },
      ...Object.entries(change.fields).map(([field, value]) => ({
        op: 'set' as const,
        path: `/${field}`,
        value,
      })),
      { op: 'set', path: '/links', value: change.links },
      { op: 'set', path: '/deadline', value: change.deadline },
      { op: 'set', path: '/participants', value: change.participants },
      { op: 'set', path: '/lastModifiedAt', value: change.lastModifiedAt },
      { op: 'set', path: '/lastModifiedBy', value: change.lastModifiedBy },
    ];
    let etag = etagOf(ticket);
    for (let start = 0; start < operations.length; start += MAX_PATCH_OPERATIONS) {
      const changed = await this.patchIfUnchanged(
        ticket.ticketKey,
        operations.slice(start, start + MAX_PATCH_OPERATIONS),
        etag,
      );
      if (changed === null) return false;
      etag = changed;
    }
    return true;
  }

  async reviseSupplement(
    helpdeskId: string,
    ticketNumber: number,
    supplementId: string,
    change: Pick<Supplement, 'flagged' | 'visibleToCustomer' | 'lastModifiedAt' | 'lastModifiedBy'>,
  ): Promise<boolean> {
    try {
      await this.tickets
        .item(supplementId, ticketKey(helpdeskId, ticketNumber))
        .patch(
          Object.entries(change).map(([field, value]) => ({ op: 'set' as const, path: `/${field}`, value })),
        );
      return true;
    } catch (error) {
      if (cosmosStatus(error) === 404) return false;
      throw error;
    }
  }

  async removeSupplement(helpdeskId: string, ticketNumber: number, supplementId: string): Promise<void> {
    try {
      await this.tickets.item(supplementId, ticketKey(helpdeskId, ticketNumber)).delete();
    } catch (error) {
      if (cosmosStatus(error) !== 404) throw error;
    }
  }

  async addParticipant(helpdeskId: string, ticketNumber: number, address: string): Promise<void> {
    // The list is set whole, so only onto the ticket as read: a participant added meanwhile (an import's
    // sender, a reply's recipient) is read again and kept. Adding twice leaves one.
    for (let attempt = 1; ; attempt++) {
      const ticket = await this.getTicket(helpdeskId, ticketNumber);
      if (!ticket || ticket.participants.includes(address)) return;
      const operations: PatchOperation[] = [
        { op: 'set', path: '/participants', value: [...ticket.participants, address] },
      ];
      if ((await this.patchIfUnchanged(ticket.ticketKey, operations, etagOf(ticket))) !== null) return;
      if (attempt >= MAX_CONCURRENT_CHANGE_ATTEMPTS) throw new TicketChangedMeanwhile(ticketNumber, attempt);
    }
  }

  /** The ticket's new ETag; null when it changed since `etag` and nothing was written. */
  private async patchIfUnchanged(
    key: string,
    operations: PatchOperation[],
    etag: string | undefined,
  ): Promise<string | null> {
    try {
      const response = await this.tickets
        .item('ticket', key)
        .patch(operations, etag ? { accessCondition: { type: 'IfMatch', condition: etag } } : {});
      return response.etag ?? '';
    } catch (error) {
      if (cosmosStatus(error) === 412) return null;
      throw error;
    }
  }

  async putHistory(entry: HistoryEntry): Promise<void> {
    await this.tickets.items.upsert(entry);
  }

  async ticketWithEverything(helpdeskId: string, ticketNumber: number) {
    const key = ticketKey(helpdeskId, ticketNumber);
    const { resources } = await this.tickets.items
      .query<Ticket | Supplement | HistoryEntry>(
        { query: 'SELECT * FROM c WHERE c.ticketKey = @key', parameters: [{ name: '@key', value: key }] },
        { partitionKey: key },
      )
      .fetchAll();
    const ticket = resources.find((doc): doc is Ticket => doc.docType === 'ticket');
    if (!ticket) return null;
    return {
      ticket,
      supplements: resources
        .filter((doc): doc is Supplement => doc.docType === 'supplement')
        .sort((a, b) => a.reportedAt.localeCompare(b.reportedAt)),
      history: resources
        .filter((doc): doc is HistoryEntry => doc.docType === 'history')
        .sort((a, b) => a.at.localeCompare(b.at)),
    };
  }

  async listTickets(helpdeskId: string): Promise<Ticket[]> {
    const { resources } = await this.tickets.items
      .query<Ticket>({
        query: 'SELECT * FROM c WHERE c.helpdeskId = @helpdeskId AND c.docType = @docType ORDER BY c.number',
        parameters: [
          { name: '@helpdeskId', value: helpdeskId },
          { name: '@docType', value: 'ticket' },
        ],
      })
      .fetchAll();
    return resources;
  }

  rememberMessageIds(helpdeskId: string, ticketNumber: number, messageIds: string[]): Promise<void> {
    return this.rememberMessageIdsOfGroup(helpdeskId, [{ ticketNumber, messageIds }]);
  }

  async rememberMessageIdsOfGroup(
    helpdeskId: string,
    entries: Array<{ ticketNumber: number; messageIds: string[] }>,
  ): Promise<void> {
    const documents = new Map<string, ThreadDocument>();
    for (const { ticketNumber, messageIds } of entries) {
      for (const messageId of messageIds) {
        const id = threadId(messageId);
        documents.set(id, { id, helpdeskId, docType: 'thread', messageId, ticketNumber });
      }
    }
    const all = [...documents.values()];
    for (let start = 0; start < all.length; start += MAX_BATCH_OPERATIONS) {
      const part = all.slice(start, start + MAX_BATCH_OPERATIONS);
      const together =
        part.length > 1 &&
        allWritten(
          await batchInPartition(
            this.threads,
            helpdeskId,
            part.map((document) => ({
              operationType: BulkOperationType.Upsert,
              resourceBody: document as unknown as JSONObject,
            })),
          ),
        );
      // Upserts are idempotent: whatever a failed batch wrote is written again.
      if (!together) for (const document of part) await this.threads.items.upsert<ThreadDocument>(document);
    }
  }

  async ticketForMessageIds(helpdeskId: string, messageIds: string[]): Promise<number | null> {
    for (const messageId of messageIds.slice(0, MAX_THREAD_LOOKUPS)) {
      const found = await readOrNull<ThreadDocument>(this.threads, threadId(messageId), helpdeskId);
      if (found) return found.resource.ticketNumber;
    }
    return null;
  }
}

import type { Container, Database } from '@azure/cosmos';
import type { AgentReply, ReplyStore } from '../replies/ports.js';
import { replyDocumentId } from '../replies/replyJob.js';
import { ticketKey } from '../tickets/model.js';
import { container, cosmosStatus, readOrNull } from './containers.js';

/** Agent replies live with their ticket's documents (one partition), as supplements. */
export class CosmosReplyStore implements ReplyStore {
  private readonly tickets: Container;

  constructor(database: Database) {
    this.tickets = container(database, 'tickets');
  }

  async create(reply: AgentReply): Promise<string | null> {
    try {
      return (await this.tickets.items.create(reply)).etag;
    } catch (error) {
      if (cosmosStatus(error) === 409) return null;
      throw error;
    }
  }

  async get(helpdeskId: string, ticketNumber: number, replyId: string) {
    const found = await readOrNull<AgentReply>(
      this.tickets,
      replyDocumentId(replyId),
      ticketKey(helpdeskId, ticketNumber),
    );
    if (found?.resource.supplementType !== 'agentReply') return null;
    return { reply: found.resource, etag: found.etag };
  }

  async queuedUnchangedSince(before: string, limit: number) {
    // fetchAll: across partitions one page may come back empty while later ones hold matches.
    const { resources } = await this.tickets.items
      .query<AgentReply & { _etag: string }>({
        query: `SELECT TOP ${Math.max(1, Math.trunc(limit))} * FROM c WHERE c.supplementType = 'agentReply' AND c.delivery.status = 'queued' AND c.lastModifiedAt <= @before`,
        parameters: [{ name: '@before', value: before }],
      })
      .fetchAll();
    return resources.map(({ _etag, ...reply }) => ({ reply, etag: _etag }));
  }

  async replace(reply: AgentReply, etag: string): Promise<string | null> {
    try {
      const response = await this.tickets
        .item(reply.id, reply.ticketKey)
        .replace(reply, { accessCondition: { type: 'IfMatch', condition: etag } });
      return response.etag;
    } catch (error) {
      if (cosmosStatus(error) === 412) return null;
      throw error;
    }
  }
}

import { randomUUID } from 'node:crypto';
import type { Container, Database } from '@azure/cosmos';
import { type Helpdesk, helpdeskSchema, type ImporterSettings } from '../helpdesk/settings.js';
import type { HelpdeskStore, Lease, MailboxRef, MailboxStatus } from '../import/ports.js';
import { container, cosmosStatus, readOrNull } from './containers.js';

interface HelpdeskDocument {
  id: 'settings';
  helpdeskId: string;
  docType: 'helpdesk';
  /** Denormalised so the timer's query reads two small fields instead of whole settings. */
  importerEnabled: boolean;
  mailboxIds: string[];
  helpdesk: Helpdesk;
}

interface StatusDocument extends MailboxStatus {
  id: string;
  docType: 'mailboxStatus';
}

interface LeaseDocument {
  id: string;
  helpdeskId: string;
  docType: 'lease';
  owner: string;
  expiresAt: number;
}

interface CounterDocument {
  id: typeof COUNTER_ID;
  helpdeskId: string;
  docType: 'ticketCounter';
  lastNumber: number;
}

interface AcknowledgementLogDocument {
  id: string;
  helpdeskId: string;
  docType: 'acknowledgementLog';
  sentAt: number[];
}

const DAY_MS = 86_400_000;
const COUNTER_ID = 'ticket-counter';
const MAX_COUNTER_ATTEMPTS = 50;

function statusId(mailboxId: string): string {
  return `mailbox-status-${mailboxId}`;
}

function emptyStatus(helpdeskId: string, mailboxId: string): MailboxStatus {
  return {
    helpdeskId,
    mailboxId,
    lastSuccessfulCheckAt: null,
    lastScanStartedAt: null,
    lastRunAt: null,
    lastRunComplete: null,
    lastCounts: null,
    lastError: null,
    resolvedAddress: null,
    delta: null,
  };
}

function senderLogId(sender: string): string {
  return `ack-log-${Buffer.from(sender.toLowerCase()).toString('base64url').slice(0, 200)}`;
}

/** One log of every acknowledgement of the helpdesk, for its hourly cap; no sender log id looks like it. */
const HELPDESK_ACK_LOG_ID = 'ack-log-all';
const HOUR_MS = 3_600_000;

export class CosmosHelpdeskStore implements HelpdeskStore {
  private readonly helpdesks: Container;

  constructor(database: Database) {
    this.helpdesks = container(database, 'helpdesks');
  }

  async get(helpdeskId: string): Promise<Helpdesk | null> {
    const found = await readOrNull<HelpdeskDocument>(this.helpdesks, 'settings', helpdeskId);
    return found ? helpdeskSchema.parse(found.resource.helpdesk) : null;
  }

  async put(helpdesk: Helpdesk): Promise<void> {
    await this.helpdesks.items.upsert<HelpdeskDocument>(this.document(helpdesk));
  }

  async importerSettings(
    helpdeskId: string,
  ): Promise<{ importer: ImporterSettings; version: string } | null> {
    const found = await readOrNull<HelpdeskDocument>(this.helpdesks, 'settings', helpdeskId);
    return found
      ? { importer: helpdeskSchema.parse(found.resource.helpdesk).importer, version: found.etag ?? '' }
      : null;
  }

  async saveImporterSettings(
    helpdeskId: string,
    importer: ImporterSettings,
    version?: string,
  ): Promise<{ helpdesk: Helpdesk; version: string } | 'conflict' | null> {
    const found = await readOrNull<HelpdeskDocument>(this.helpdesks, 'settings', helpdeskId);
    if (!found) return null;
    if (version !== undefined && found.etag !== version) return 'conflict';
    const helpdesk = helpdeskSchema.parse({ ...found.resource.helpdesk, importer });
    try {
      // Conditional on the version read, so a concurrent change of the other settings is not lost.
      const saved = await this.helpdesks.item('settings', helpdeskId).replace(this.document(helpdesk), {
        accessCondition: { type: 'IfMatch', condition: found.etag ?? '' },
      });
      return { helpdesk, version: saved.etag ?? '' };
    } catch (error) {
      if (cosmosStatus(error) === 412) return 'conflict';
      throw error;
    }
  }

  async *enabledMailboxes(pageSize = 500): AsyncIterable<MailboxRef[]> {
    const iterator = this.helpdesks.items.query<{ helpdeskId: string; mailboxIds: string[] }>(
      {
        query:
          'SELECT c.helpdeskId, c.mailboxIds FROM c WHERE c.docType = @docType AND c.importerEnabled = true',
        parameters: [{ name: '@docType', value: 'helpdesk' }],
      },
      { maxItemCount: pageSize },
    );
    while (iterator.hasMoreResults()) {
      const page = await iterator.fetchNext();
      const mailboxes = page.resources.flatMap((row) =>
        row.mailboxIds.map((mailboxId) => ({ helpdeskId: row.helpdeskId, mailboxId })),
      );
      if (mailboxes.length > 0) yield mailboxes;
    }
  }

  async mailboxStatuses(helpdeskId: string): Promise<MailboxStatus[]> {
    const helpdesk = await this.get(helpdeskId);
    if (!helpdesk) return [];
    const { resources } = await this.helpdesks.items
      .query<StatusDocument>(
        {
          query: 'SELECT * FROM c WHERE c.helpdeskId = @helpdeskId AND c.docType = @docType',
          parameters: [
            { name: '@helpdeskId', value: helpdeskId },
            { name: '@docType', value: 'mailboxStatus' },
          ],
        },
        { partitionKey: helpdeskId },
      )
      .fetchAll();
    return helpdesk.importer.mailboxes.map((mailbox) => {
      const stored = resources.find((status) => status.mailboxId === mailbox.id);
      return stored ? toStatus(stored) : emptyStatus(helpdeskId, mailbox.id);
    });
  }

  async mailboxStatus(helpdeskId: string, mailboxId: string): Promise<MailboxStatus> {
    const found = await readOrNull<StatusDocument>(this.helpdesks, statusId(mailboxId), helpdeskId);
    return found ? toStatus(found.resource) : emptyStatus(helpdeskId, mailboxId);
  }

  async saveMailboxStatus(status: MailboxStatus): Promise<void> {
    await this.helpdesks.items.upsert<StatusDocument>({
      ...status,
      id: statusId(status.mailboxId),
      docType: 'mailboxStatus',
    });
  }

  async acquireLease(mailbox: MailboxRef, owner: string, ttlMs: number): Promise<Lease | null> {
    const id = `lease-${mailbox.mailboxId}`;
    const fresh: LeaseDocument = {
      id,
      helpdeskId: mailbox.helpdeskId,
      docType: 'lease',
      owner,
      expiresAt: Date.now() + ttlMs,
    };
    const found = await readOrNull<LeaseDocument>(this.helpdesks, id, mailbox.helpdeskId);
    let etag: string | undefined;
    try {
      if (!found) {
        etag = (await this.helpdesks.items.create(fresh)).etag;
      } else if (found.resource.expiresAt < Date.now() || found.resource.owner === owner) {
        etag = (
          await this.helpdesks
            .item(id, mailbox.helpdeskId)
            .replace(fresh, { accessCondition: { type: 'IfMatch', condition: found.etag ?? '' } })
        ).etag;
      } else {
        return null;
      }
    } catch (error) {
      const status = cosmosStatus(error);
      if (status === 409 || status === 412) return null;
      throw error;
    }
    // A released lease is deleted: one still there was never released, unless it is this owner's own.
    const tookOver = !!found && found.resource.owner !== owner;
    return this.lease(mailbox, id, owner, etag, tookOver);
  }

  private lease(
    mailbox: MailboxRef,
    id: string,
    owner: string,
    initialEtag: string | undefined,
    tookOver: boolean,
  ): Lease {
    let etag = initialEtag ?? '';
    const item = this.helpdesks.item(id, mailbox.helpdeskId);
    return {
      tookOver,
      renew: async (ttlMs) => {
        try {
          const response = await item.replace<LeaseDocument>(
            { id, helpdeskId: mailbox.helpdeskId, docType: 'lease', owner, expiresAt: Date.now() + ttlMs },
            { accessCondition: { type: 'IfMatch', condition: etag } },
          );
          etag = response.etag ?? etag;
          return true;
        } catch (error) {
          if (cosmosStatus(error) === 412 || cosmosStatus(error) === 404) return false;
          throw error;
        }
      },
      release: async () => {
        try {
          await item.delete({ accessCondition: { type: 'IfMatch', condition: etag } });
        } catch (error) {
          // Lost or already gone: someone else's lease now, leave it alone.
          if (cosmosStatus(error) !== 412 && cosmosStatus(error) !== 404) throw error;
        }
      },
    };
  }

  /**
   * One request per number: the counter is incremented on the server (a patch is atomic per document),
   * so concurrent creators get distinct numbers without reading first and without 412 retries. Only
   * the helpdesk's very first number creates the counter.
   */
  async allocateTicketNumber(helpdeskId: string): Promise<number> {
    const counter = this.helpdesks.item(COUNTER_ID, helpdeskId);
    for (let attempt = 0; attempt < MAX_COUNTER_ATTEMPTS; attempt++) {
      try {
        const { resource } = await counter.patch<CounterDocument>([
          { op: 'incr', path: '/lastNumber', value: 1 },
        ]);
        if (!resource) throw new Error(`the ticket counter of helpdesk ${helpdeskId} came back empty`);
        return resource.lastNumber;
      } catch (error) {
        if (cosmosStatus(error) !== 404) throw error;
      }
      try {
        await this.helpdesks.items.create<CounterDocument>({
          id: COUNTER_ID,
          helpdeskId,
          docType: 'ticketCounter',
          lastNumber: 1,
        });
        return 1;
      } catch (error) {
        // Another creator made the counter meanwhile: increment that one.
        if (cosmosStatus(error) !== 409) throw error;
      }
    }
    throw new Error(`could not allocate a ticket number for helpdesk ${helpdeskId}`);
  }

  async acknowledgementCounts(
    helpdeskId: string,
    sender: string,
    now: Date,
  ): Promise<{ lastHour: number; lastDay: number; helpdeskLastHour: number }> {
    const [bySender, byHelpdesk] = await Promise.all([
      readOrNull<AcknowledgementLogDocument>(this.helpdesks, senderLogId(sender), helpdeskId),
      readOrNull<AcknowledgementLogDocument>(this.helpdesks, HELPDESK_ACK_LOG_ID, helpdeskId),
    ]);
    const sentAt = bySender?.resource.sentAt ?? [];
    const t = now.getTime();
    return {
      lastHour: sentAt.filter((at) => at > t - HOUR_MS).length,
      lastDay: sentAt.filter((at) => at > t - DAY_MS).length,
      helpdeskLastHour: (byHelpdesk?.resource.sentAt ?? []).filter((at) => at > t - HOUR_MS).length,
    };
  }

  async recordAcknowledgement(helpdeskId: string, sender: string, now: Date): Promise<void> {
    await this.appendToLog(helpdeskId, senderLogId(sender), now, DAY_MS);
    await this.appendToLog(helpdeskId, HELPDESK_ACK_LOG_ID, now, HOUR_MS);
  }

  /** Adds one send time to a log, keeping only the window it is read over. */
  private async appendToLog(helpdeskId: string, id: string, now: Date, windowMs: number): Promise<void> {
    for (let attempt = 0; attempt < MAX_COUNTER_ATTEMPTS; attempt++) {
      const found = await readOrNull<AcknowledgementLogDocument>(this.helpdesks, id, helpdeskId);
      const recent = (found?.resource.sentAt ?? []).filter((at) => at > now.getTime() - windowMs);
      const document: AcknowledgementLogDocument = {
        id,
        helpdeskId,
        docType: 'acknowledgementLog',
        sentAt: [...recent, now.getTime()],
      };
      try {
        if (found) {
          await this.helpdesks
            .item(id, helpdeskId)
            .replace(document, { accessCondition: { type: 'IfMatch', condition: found.etag ?? '' } });
        } else {
          await this.helpdesks.items.create(document);
        }
        return;
      } catch (error) {
        const status = cosmosStatus(error);
        if (status !== 409 && status !== 412) throw error;
      }
    }
  }

  private document(helpdesk: Helpdesk): HelpdeskDocument {
    return {
      id: 'settings',
      helpdeskId: helpdesk.id,
      docType: 'helpdesk',
      importerEnabled: helpdesk.importer.enabled,
      mailboxIds: helpdesk.importer.mailboxes.map((m) => m.id),
      helpdesk,
    };
  }
}

function toStatus(document: StatusDocument): MailboxStatus {
  return {
    helpdeskId: document.helpdeskId,
    mailboxId: document.mailboxId,
    lastSuccessfulCheckAt: document.lastSuccessfulCheckAt,
    lastScanStartedAt: document.lastScanStartedAt,
    lastRunAt: document.lastRunAt,
    lastRunComplete: document.lastRunComplete,
    lastCounts: document.lastCounts,
    lastError: document.lastError,
    // Statuses written before it existed lack it.
    resolvedAddress: document.resolvedAddress ?? null,
    delta: document.delta ?? null,
  };
}

export function leaseOwner(): string {
  return randomUUID();
}

import { beforeAll, describe, expect, it } from 'vitest';
import { readEnvironment } from '../../shared/config/environment.js';
import { ensureContainers } from '../../shared/cosmos/containers.js';
import { connectCosmos } from '../../shared/cosmos/cosmosClient.js';
import { CosmosContactDirectory } from '../../shared/cosmos/cosmosContactDirectory.js';
import { CosmosHelpdeskStore } from '../../shared/cosmos/cosmosHelpdeskStore.js';
import { CosmosMailRecordStore } from '../../shared/cosmos/cosmosMailRecordStore.js';
import { CosmosTicketStore } from '../../shared/cosmos/cosmosTicketStore.js';
import type { MailRecord } from '../../shared/import/mailRecord.js';
import { ticketKey } from '../../shared/tickets/model.js';
import { historyEntry, newTicketFields } from '../../shared/tickets/ticketFields.js';
import { testContacts, testHelpdesk } from '../support/helpdeskFixtures.js';
import { testEnvironment } from '../support/testEnvironment.js';

const env = readEnvironment(testEnvironment());
const database = connectCosmos({
  endpoint: env.COSMOS_ENDPOINT,
  key: env.COSMOS_KEY ?? '',
  database: env.COSMOS_DATABASE,
});
const helpdesks = new CosmosHelpdeskStore(database);
const contacts = new CosmosContactDirectory(database);
const tickets = new CosmosTicketStore(database);
const records = new CosmosMailRecordStore(database);

beforeAll(async () => {
  await ensureContainers(database);
});

describe('CosmosHelpdeskStore', () => {
  it('allocates unique ticket numbers to concurrent creators', async () => {
    const creators = 4;
    const perCreator = 15;
    const numbers = (
      await Promise.all(
        Array.from({ length: creators }, async () => {
          const mine: number[] = [];
          for (let i = 0; i < perCreator; i++)
            mine.push(await helpdesks.allocateTicketNumber('counter-test'));
          return mine;
        }),
      )
    ).flat();
    expect(new Set(numbers).size).toBe(creators * perCreator);
    expect(Math.max(...numbers)).toBe(creators * perCreator);
  });

  it('pages through every enabled helpdesk and skips disabled ones', async () => {
    for (let i = 0; i < 25; i++) {
      await helpdesks.put(testHelpdesk(`page-${i}`, `desk${i}@x.test`, { enabled: i % 5 !== 0 }));
    }
    const seen: string[] = [];
    let pages = 0;
    for await (const page of helpdesks.enabledMailboxes(7)) {
      pages++;
      seen.push(...page.filter((m) => m.helpdeskId.startsWith('page-')).map((m) => m.helpdeskId));
    }
    expect(seen).toHaveLength(20);
    expect(seen).not.toContain('page-0');
    expect(pages).toBeGreaterThan(1);
  });

  it('gives a mailbox lease to one run at a time and hands it over after expiry', async () => {
    const mailbox = { helpdeskId: 'lease-test', mailboxId: 'main' };
    const first = await helpdesks.acquireLease(mailbox, 'run-a', 60_000);
    expect(first).toMatchObject({ tookOver: false });
    expect(await helpdesks.acquireLease(mailbox, 'run-b', 60_000)).toBeNull();
    await first?.release();
    const second = await helpdesks.acquireLease(mailbox, 'run-b', 1);
    // Released before: handed over, not taken over.
    expect(second).toMatchObject({ tookOver: false });
    await new Promise((resolve) => setTimeout(resolve, 10));
    const third = await helpdesks.acquireLease(mailbox, 'run-c', 60_000);
    expect(third).toMatchObject({ tookOver: true });
    expect(await second?.renew(60_000)).toBe(false);
    await third?.release();
  });

  it('stores importer settings conditionally and keeps the rest of the helpdesk', async () => {
    const helpdesk = testHelpdesk('settings-test', 'desk@settings.test');
    await helpdesks.put(helpdesk);
    const read = await helpdesks.importerSettings('settings-test');
    const saved = await helpdesks.saveImporterSettings(
      'settings-test',
      { ...helpdesk.importer, replySeparator: '--- reply above ---' },
      read?.version,
    );
    expect(saved).toMatchObject({ helpdesk: { importer: { replySeparator: '--- reply above ---' } } });
    expect((await helpdesks.get('settings-test'))?.statuses).toEqual(helpdesk.statuses);
    expect(await helpdesks.saveImporterSettings('no-such-helpdesk', helpdesk.importer)).toBeNull();
    // The version read before that save is gone: a second writer holding it is told, not overwritten.
    expect(await helpdesks.saveImporterSettings('settings-test', helpdesk.importer, read?.version)).toBe(
      'conflict',
    );
    expect((await helpdesks.importerSettings('settings-test'))?.version).toBe(
      saved !== 'conflict' ? saved?.version : undefined,
    );
  });

  it('counts acknowledgements per sender per hour and day', async () => {
    const now = new Date('2026-11-23T12:00:00Z');
    await helpdesks.recordAcknowledgement(
      'ack-test',
      'Someone@Example.com',
      new Date(now.getTime() - 2 * 3_600_000),
    );
    await helpdesks.recordAcknowledgement('ack-test', 'someone@example.com', now);
    expect(await helpdesks.acknowledgementCounts('ack-test', 'someone@example.com', now)).toEqual({
      lastHour: 1,
      lastDay: 2,
      helpdeskLastHour: 1,
    });
  });

  it('counts every acknowledgement of a helpdesk in the last hour, whoever it went to', async () => {
    const now = new Date('2026-11-23T12:00:00Z');
    for (const sender of ['a@one.example', 'b@two.example', 'c@three.example']) {
      await helpdesks.recordAcknowledgement('ack-cap', sender, now);
    }
    await helpdesks.recordAcknowledgement('ack-cap', 'd@four.example', new Date(now.getTime() - 3_700_000));
    expect(await helpdesks.acknowledgementCounts('ack-cap', 'new@five.example', now)).toEqual({
      lastHour: 0,
      lastDay: 0,
      helpdeskLastHour: 3,
    });
  });
});

describe('CosmosContactDirectory', () => {
  it('finds a contact by address, case-insensitively, within its helpdesk', async () => {
    for (const contact of testContacts('contacts-test')) await contacts.put(contact);
    expect((await contacts.findByAddress('contacts-test', 'KARIN@Customer.Example'))?.id).toBe(
      'known-customer',
    );
    expect(await contacts.findByAddress('other-helpdesk', 'karin@customer.example')).toBeNull();
  });
});

describe('CosmosTicketStore', () => {
  const helpdesk = testHelpdesk('tickets-test', 'desk@tickets.test');
  const contact = testContacts('tickets-test')[0];
  if (!contact) throw new Error('testContacts gives at least one contact');
  const employee = helpdesk.importer.defaultEmployee;
  const ticket = newTicketFields({
    helpdesk,
    ticketNumber: 1,
    sender: { contact, senderAddress: 'a@b.example', isDefault: true },
    content: {
      subject: 's',
      receivedAt: '2026-01-01T00:00:00.000Z',
      text: 't',
      html: '<p>t</p>',
      reply: null,
      images: [],
      files: [],
      attachmentsNotStored: [],
      origin: {
        messageKey: 'k1',
        mailboxId: 'main',
        internetMessageId: '<m1@x>',
        sender: { address: 'a@b.example', name: null },
        rawMailBlob: null,
        attachments: [],
      },
    },
    importedAt: '2026-01-01T00:00:01.000Z',
  });

  it('creates a ticket once and reads it by (helpdesk, number)', async () => {
    expect(await tickets.createTicket(ticket)).toBe('created');
    expect(await tickets.createTicket(ticket)).toBe('exists');
    expect((await tickets.getTicket('tickets-test', 1))?.title).toBe('s');
    expect(await tickets.getTicket('tickets-test', 2)).toBeNull();
  });

  it('creates a ticket with its history entry in one request, and only when the ticket is new', async () => {
    const second = { ...ticket, number: 2, ticketKey: ticketKey('tickets-test', 2), title: 'second' };
    const entry = (event: 'createdByMailImport' | 'supplementedByMailImport', messageKey: string) =>
      historyEntry({
        ticket: second,
        event,
        at: '2026-01-01T00:00:02.000Z',
        by: employee,
        text: event,
        messageKey,
      });
    expect(await tickets.createWithHistory(second, entry('createdByMailImport', 'k2'))).toBe(true);
    // Exists already: false, and the other entry is not written either (the caller writes one by one).
    expect(await tickets.createWithHistory(second, entry('supplementedByMailImport', 'k3'))).toBe(false);
    const stored = await tickets.ticketWithEverything('tickets-test', 2);
    expect(stored?.ticket.title).toBe('second');
    expect(stored?.history.map((h) => h.event)).toEqual(['createdByMailImport']);
  });

  it('finds a ticket by any remembered Message-ID, ignoring brackets and case', async () => {
    await tickets.rememberMessageIds('tickets-test', 1, ['<Mixed.Case@Example.COM>', '<ack-1@desk.test>']);
    expect(await tickets.ticketForMessageIds('tickets-test', ['<unknown@x>', 'mixed.case@example.com'])).toBe(
      1,
    );
    expect(await tickets.ticketForMessageIds('tickets-test', ['<unknown@x>'])).toBeNull();
  });
});

describe('CosmosMailRecordStore', () => {
  it('creates a record once and replaces it only with the current etag', async () => {
    const record: MailRecord = {
      id: 'record-1',
      docType: 'mail',
      mailboxKey: 'records-test/main',
      helpdeskId: 'records-test',
      mailboxId: 'main',
      graphMessageId: 'g1',
      internetMessageId: '<r1@x>',
      receivedDateTime: '2026-01-01T00:00:00Z',
      state: 'pending',
      attempts: 0,
      lastError: null,
      plan: null,
      classification: null,
      subject: null,
      senderDomain: null,
      keptAside: null,
      acknowledgement: null,
      createdAt: 'x',
      updatedAt: 'x',
    };
    const created = await records.create(record);
    if (!created) throw new Error('the first create must succeed');
    expect(await records.create(record)).toBeNull();
    const replaced = await records.replace(
      { ...record, state: 'keptAside', keptAside: { blobName: null, reason: 'r', at: 'x' } },
      created.etag,
    );
    expect(replaced).not.toBeNull();
    expect(await records.replace({ ...record, attempts: 5 }, created.etag)).toBeNull();
    expect((await records.withState('records-test', ['main'], 'keptAside')).map((r) => r.id)).toEqual([
      'record-1',
    ]);
  });
});

import type { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GraphEmulator, startGraphEmulator } from '../../local/graph-emulator/index.js';
import { createGraphClient } from '../../shared/graph/graphClient.js';
import { GraphMailSource } from '../../shared/graph/graphMailSource.js';
import { GraphRequestError } from '../../shared/graph/graphRequestError.js';
import type { MailSummary } from '../../shared/graph/mailSource.js';

const HELPDESK = 'helpdesk@contoso.test';
const AGENT = 'agent@contoso.test';
const VALUE_ROUTE = 'GET /users/{id}/messages/{id}/$value';

function mime(subject: string, extra: string[] = []): string {
  return [
    'From: Customer <customer@example.com>',
    `To: ${HELPDESK}`,
    `Subject: ${subject}`,
    ...extra,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `About: ${subject}`,
    '',
  ].join('\r\n');
}

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

async function allPages(
  source: GraphMailSource,
  userId: string,
  options: Parameters<GraphMailSource['listMessages']>[1],
) {
  const pages: MailSummary[][] = [];
  for await (const page of source.listMessages({ userId, folder: 'inbox' }, options)) pages.push(page);
  return pages;
}

function sourceFor(emulator: GraphEmulator, options: ConstructorParameters<typeof GraphMailSource>[1] = {}) {
  const client = createGraphClient({
    baseUrl: emulator.url,
    accessToken: 'test-token',
    caCertPem: emulator.caCertPem,
  });
  return new GraphMailSource(client, { backoffMs: 20, ...options });
}

describe('GraphMailSource against the Graph emulator', () => {
  let emulator: GraphEmulator;
  let source: GraphMailSource;
  let mailboxCount = 0;
  /** A fresh mailbox per test keeps counters and contents apart. */
  let mailbox: string;

  beforeAll(async () => {
    emulator = await startGraphEmulator();
    source = sourceFor(emulator);
  });

  afterAll(() => emulator.close());

  beforeEach(() => {
    mailboxCount += 1;
    mailbox = `helpdesk${mailboxCount}@contoso.test`;
    emulator.addMailbox(mailbox);
    emulator.addMailbox(AGENT);
    emulator.resetCounters();
    emulator.setLatency(0);
  });

  describe('mailboxAddress', () => {
    it('reads the primary address of a mailbox given by object id, once per call, through $select', async () => {
      const objectId = '7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d';
      emulator.addMailbox(objectId, { address: 'Frontdesk@Contoso.test' });
      expect(await source.mailboxAddress(objectId)).toBe('frontdesk@contoso.test');
      expect(emulator.counters()['GET /users/{id}']).toBe(1);
    });

    it('fails with the Graph error when the app may not read users', async () => {
      emulator.injectFault({ route: 'GET /users/{id}', status: 403, count: 1 });
      await expect(source.mailboxAddress(mailbox)).rejects.toMatchObject({
        status: 403,
        code: 'Authorization_RequestDenied',
      });
    });
  });

  describe('listMessages', () => {
    const start = Date.parse('2024-03-01T08:00:00Z');
    const at = (minute: number) => new Date(start + minute * 60_000).toISOString();

    beforeEach(() => {
      // Delivered out of time order, so storage order cannot pass for oldest first.
      const minutes = Array.from({ length: 1200 }, (_, index) => (index * 7919) % 1200);
      for (const minute of minutes)
        emulator.deliver(mailbox, mime(`m${minute}`), { receivedDateTime: at(minute) });
      for (let minute = 0; minute < 50; minute += 1) {
        emulator.deliver(mailbox, mime(`read${minute}`), { receivedDateTime: at(minute), isRead: true });
      }
    });

    it('lists 1,200 unread messages oldest first in two calls of 1,000', async () => {
      const pages = await allPages(source, mailbox, { scan: 'unread' });
      expect(pages.map((page) => page.length)).toEqual([1000, 200]);
      const listed = pages.flat();
      expect(listed.every((message) => !message.isRead)).toBe(true);
      const times = listed.map((message) => Date.parse(message.receivedDateTime));
      expect(times).toEqual([...times].sort((a, b) => a - b));
      expect(listed[0]).toMatchObject({ receivedDateTime: at(0).replace('.000', ''), categories: [] });
      expect(listed[0]?.internetMessageId).toMatch(/^<.+@contoso\.test>$/);
      expect(emulator.counters()['GET /users/{id}/mailFolders/{folder}/messages']).toBe(2);
    });

    it('hands out immutable ids', async () => {
      const [first] = (await allPages(source, mailbox, { scan: 'unread' })).flat();
      expect(emulator.messages(mailbox).find((message) => message.immutableId === first?.id)).toBeDefined();
    });

    it('lists everything received since the last scan, read or not', async () => {
      const listed = (await allPages(source, mailbox, { scan: 'sinceLastScan', since: at(1150) })).flat();
      expect(listed).toHaveLength(50);
      expect(listed[0]?.receivedDateTime).toBe(at(1150).replace('.000', ''));
      const early = (await allPages(source, mailbox, { scan: 'sinceLastScan', since: at(40) })).flat();
      expect(early).toHaveLength(1160 + 10);
      expect(early.filter((message) => message.isRead)).toHaveLength(10);
    });

    it('does not skip messages when the caller marks pages read while iterating', async () => {
      const seen: string[] = [];
      for await (const page of source.listMessages(
        { userId: mailbox, folder: 'inbox' },
        { scan: 'unread' },
      )) {
        seen.push(...page.map((message) => message.id));
        const results = await source.applyOperations(
          mailbox,
          page.map((message) => ({ messageId: message.id, operation: { kind: 'markRead' } })),
        );
        expect(results.every((result) => result.ok)).toBe(true);
      }
      expect(new Set(seen).size).toBe(1200);
    });
  });

  describe('fetchMime', () => {
    it('streams the raw message', async () => {
      const raw = mime('streamed', ['X-Mailer: test']);
      const id = emulator.deliver(mailbox, raw);
      const stream = await source.fetchMime(mailbox, id);
      expect(await text(stream)).toBe(emulator.rawMime(mailbox, id).toString('utf8'));
      expect(emulator.counters()[VALUE_ROUTE]).toBe(1);
    });

    it('can be closed before its end without an uncaught error', async () => {
      const id = emulator.deliver(mailbox, mime('closed early', [`X-Padding: ${'x'.repeat(200_000)}`]));
      const stream = await source.fetchMime(mailbox, id);
      await new Promise((resolve) => stream.once('data', resolve));
      stream.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(stream.destroyed).toBe(true);
    });

    it('fails with GraphRequestError for an unknown message', async () => {
      const error = await source.fetchMime(mailbox, 'AAkALgmissing=').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(GraphRequestError);
      expect(error).toMatchObject({ status: 404, code: 'ErrorItemNotFound', retryable: false });
    });
  });

  describe('applyOperations', () => {
    it('marks 45 messages read in 3 $batch calls', async () => {
      const ids = Array.from({ length: 45 }, (_, index) => emulator.deliver(mailbox, mime(`n${index}`)));
      const results = await source.applyOperations(
        mailbox,
        ids.map((messageId) => ({ messageId, operation: { kind: 'markRead' } })),
      );
      expect(results).toEqual(ids.map((messageId) => ({ messageId, ok: true })));
      expect(emulator.counters()).toEqual({
        'POST /$batch': 3,
        'batched:PATCH /users/{id}/messages/{id}': 45,
      });
      expect(emulator.messages(mailbox).every((message) => message.isRead)).toBe(true);
    });

    it('moves, deletes into Deleted Items and reports a missing message', async () => {
      const [moved, deleted] = [
        emulator.deliver(mailbox, mime('move me')),
        emulator.deliver(mailbox, mime('delete me')),
      ];
      const imported = await source.ensureFolder(mailbox, 'Imported');
      const results = await source.applyOperations(mailbox, [
        { messageId: moved, operation: { kind: 'move', folderId: imported } },
        { messageId: deleted, operation: { kind: 'delete' } },
        { messageId: 'AAkALgmissing=', operation: { kind: 'markRead' } },
      ]);
      expect(results).toEqual([
        { messageId: moved, ok: true },
        { messageId: deleted, ok: true },
        { messageId: 'AAkALgmissing=', ok: false, error: 'ErrorItemNotFound' },
      ]);
      expect(emulator.messages(mailbox, 'Imported').map((message) => message.immutableId)).toEqual([moved]);
      expect(emulator.messages(mailbox, 'deleteditems').map((message) => message.immutableId)).toEqual([
        deleted,
      ]);
    });

    it('keeps a message aside: adds the category, leaves it unread, then moves it', async () => {
      const id = emulator.deliver(mailbox, mime('odd one'), { isRead: true });
      const tagged = emulator.deliver(mailbox, mime('already tagged'));
      await source.applyOperations(mailbox, [
        { messageId: tagged, operation: { kind: 'keepAside', category: 'Customer' } },
      ]);
      const folderId = await source.ensureFolder(mailbox, 'Kept aside');
      const results = await source.applyOperations(mailbox, [
        { messageId: id, operation: { kind: 'keepAside', category: 'Kept aside', folderId } },
        { messageId: tagged, operation: { kind: 'keepAside', category: 'Kept aside' } },
      ]);
      expect(results.every((result) => result.ok)).toBe(true);
      const [keptMessage] = emulator.messages(mailbox, 'Kept aside');
      expect(keptMessage).toMatchObject({ immutableId: id, isRead: false, categories: ['Kept aside'] });
      const inboxMessage = emulator
        .messages(mailbox, 'inbox')
        .find((message) => message.immutableId === tagged);
      expect(inboxMessage?.categories).toEqual(['Customer', 'Kept aside']);
    });

    it('takes the keep-aside tag off a message handled after all, keeping its other categories', async () => {
      const read = emulator.deliver(mailbox, mime('read now'));
      const moved = emulator.deliver(mailbox, mime('moved now'));
      const deleted = emulator.deliver(mailbox, mime('deleted now'));
      await source.applyOperations(
        mailbox,
        [read, moved, deleted].map((messageId) => ({
          messageId,
          operation: { kind: 'keepAside', category: 'Kept aside' },
        })),
      );
      await source.applyOperations(mailbox, [
        { messageId: moved, operation: { kind: 'keepAside', category: 'Customer' } },
      ]);
      const folderId = await source.ensureFolder(mailbox, 'Handled');
      const results = await source.applyOperations(mailbox, [
        { messageId: read, operation: { kind: 'markRead', untag: 'Kept aside' } },
        { messageId: moved, operation: { kind: 'move', folderId, untag: 'Kept aside' } },
        { messageId: deleted, operation: { kind: 'delete', untag: 'Kept aside' } },
      ]);
      expect(results.every((result) => result.ok)).toBe(true);
      const find = (folder: string, id: string) =>
        emulator.messages(mailbox, folder).find((message) => message.immutableId === id);
      expect(find('inbox', read)).toMatchObject({ isRead: true, categories: [] });
      expect(find('Handled', moved)?.categories).toEqual(['Customer']);
      expect(find('deleteditems', deleted)?.categories).toEqual([]);
    });

    it('does not move a message whose tag failed', async () => {
      const folderId = await source.ensureFolder(mailbox, 'Kept aside');
      emulator.injectFault({ route: 'PATCH', status: 503, count: 2, inBatch: true });
      const id = emulator.deliver(mailbox, mime('unlucky'));
      const results = await sourceFor(emulator, { maxAttempts: 2 }).applyOperations(mailbox, [
        { messageId: id, operation: { kind: 'keepAside', category: 'Kept aside', folderId } },
      ]);
      expect(results).toEqual([{ messageId: id, ok: false, error: 'ServiceUnavailable' }]);
      expect(emulator.messages(mailbox, 'inbox').map((message) => message.immutableId)).toEqual([id]);
      expect(emulator.counters()['batched:PATCH /users/{id}/messages/{id}']).toBe(2);
      expect(emulator.counters()['batched:POST /users/{id}/messages/{id}/move']).toBeUndefined();
    });

    it('retries a request throttled inside a $batch after its Retry-After', async () => {
      const ids = Array.from({ length: 5 }, (_, index) => emulator.deliver(mailbox, mime(`t${index}`)));
      emulator.injectFault({ route: 'PATCH', status: 429, retryAfterSeconds: 1, count: 1, inBatch: true });
      const started = Date.now();
      const results = await source.applyOperations(
        mailbox,
        ids.map((messageId) => ({ messageId, operation: { kind: 'markRead' } })),
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      expect(results.every((result) => result.ok)).toBe(true);
      expect(emulator.counters()).toMatchObject({
        'POST /$batch': 2,
        'batched:PATCH /users/{id}/messages/{id}': 6,
      });
    });
  });

  describe('the folder a mailbox reads', () => {
    async function listed(folder: string): Promise<string[]> {
      const ids: string[] = [];
      for await (const page of source.listMessages({ userId: mailbox, folder }, { scan: 'unread' })) {
        ids.push(...page.map((m) => m.id));
      }
      return ids;
    }

    it.each(['..', '%2E%2E', '.', '../inbox'])(
      'path traversal: %s never lists mail outside the folder (the whole mailbox)',
      async (folder) => {
        emulator.deliver(mailbox, mime('In the inbox'));
        emulator.deliver(mailbox, mime('Private, deleted'), { folder: 'deleteditems' });
        await expect(listed(folder)).rejects.toMatchObject({ code: 'ErrorFolderNotFound' });
        expect(emulator.counters()['GET /users/{id}/messages'] ?? 0).toBe(0);
      },
    );

    it('reads a well-known folder, a folder id, and a folder by its display name', async () => {
      const inbox = emulator.deliver(mailbox, mime('In the inbox'));
      const folderId = await source.ensureFolder(mailbox, 'Support requests');
      const filed = emulator.deliver(mailbox, mime('Filed'), { folder: folderId });
      expect(await listed('Inbox')).toEqual([inbox]);
      expect(await listed(folderId)).toEqual([filed]);
      expect(await listed('support REQUESTS')).toEqual([filed]);
      expect(await source.resolveFolder(mailbox, 'Support requests')).toBe(folderId);
    });

    it('refuses a display name no folder has, without creating one', async () => {
      await expect(listed('No such folder')).rejects.toBeInstanceOf(GraphRequestError);
      expect(emulator.counters()['POST /users/{id}/mailFolders'] ?? 0).toBe(0);
    });
  });

  describe('ensureFolder', () => {
    it('creates the folder once and then answers from its cache', async () => {
      const [first, second] = await Promise.all([
        source.ensureFolder(mailbox, "Agent's queue"),
        source.ensureFolder(mailbox, "Agent's queue"),
      ]);
      expect(second).toBe(first);
      expect(await source.ensureFolder(mailbox, "agent's QUEUE")).toBe(first);
      expect(emulator.counters()).toEqual({
        'GET /users/{id}/mailFolders': 1,
        'POST /users/{id}/mailFolders': 1,
      });
      expect(await sourceFor(emulator).ensureFolder(mailbox, "Agent's queue")).toBe(first);
      expect(emulator.counters()['POST /users/{id}/mailFolders']).toBe(1);
    });

    it.each([400, 409] as const)(
      'reuses a folder created meanwhile (ErrorFolderExists as %i)',
      async (status) => {
        const racing = await startGraphEmulator({ folderExistsStatus: status });
        try {
          racing.addMailbox(HELPDESK);
          racing.setLatency(30);
          // Two importers look the folder up at the same time; both miss and both create it.
          const ids = await Promise.all([
            sourceFor(racing).ensureFolder(HELPDESK, 'Imported'),
            sourceFor(racing).ensureFolder(HELPDESK, 'Imported'),
          ]);
          expect(ids[0]).toBe(ids[1]);
          expect(racing.counters()['POST /users/{id}/mailFolders']).toBe(2);
        } finally {
          await racing.close();
        }
      },
    );
  });

  describe('sendMime and sentMessageExists', () => {
    const reply = (messageId: string) =>
      Buffer.from(
        [
          `From: Helpdesk <${mailbox}>`,
          `To: ${AGENT}`,
          'Subject: Re: Printer on fire',
          `Message-ID: ${messageId}`,
          'In-Reply-To: <original@example.com>',
          'References: <original@example.com>',
          'Auto-Submitted: auto-replied',
          'Content-Type: text/plain; charset=utf-8',
          '',
          'We are on it.',
          '',
        ].join('\r\n'),
      );

    it('delivers to another emulated mailbox with In-Reply-To kept, and finds it in Sent Items', async () => {
      const messageId = `<ack-${mailboxCount}@contoso.test>`;
      expect(await source.sentMessageExists(mailbox, messageId)).toBe(false);
      await source.sendMime(mailbox, reply(messageId));
      const delivered = emulator
        .messages(AGENT, 'inbox')
        .find((message) => message.internetMessageId === messageId);
      expect(delivered).toBeDefined();
      const raw = emulator.rawMime(AGENT, delivered?.immutableId ?? '').toString();
      expect(raw).toContain('In-Reply-To: <original@example.com>\r\n');
      expect(raw).toContain('Auto-Submitted: auto-replied\r\n');
      expect(await source.sentMessageExists(mailbox, messageId)).toBe(true);
      expect(await source.sentMessageExists(mailbox, "<o'other+1@contoso.test>")).toBe(false);
    });

    it('retries a send refused with 429 but never one that failed with 503', async () => {
      emulator.injectFault({ route: 'sendMail', status: 429, retryAfterSeconds: 0, count: 1 });
      await source.sendMime(mailbox, reply(`<retried-${mailboxCount}@contoso.test>`));
      expect(emulator.counters()['POST /users/{id}/sendMail']).toBe(2);
      emulator.resetCounters();
      emulator.injectFault({ route: 'sendMail', status: 503, count: 1 });
      const error = await source
        .sendMime(mailbox, reply(`<once-${mailboxCount}@contoso.test>`))
        .catch((caught: unknown) => caught);
      expect(error).toMatchObject({ status: 503, code: 'ServiceUnavailable', retryable: true });
      expect(emulator.counters()['POST /users/{id}/sendMail']).toBe(1);
    });
  });

  describe('throttling', () => {
    it('waits for Retry-After before trying again', async () => {
      const id = emulator.deliver(mailbox, mime('throttled'));
      emulator.injectFault({ route: '$value', status: 429, retryAfterSeconds: 1, count: 1 });
      const started = Date.now();
      await text(await source.fetchMime(mailbox, id));
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      expect(emulator.counters()[VALUE_ROUTE]).toBe(2);
    });

    it('retries 503 and 504 with backoff', async () => {
      emulator.deliver(mailbox, mime('flaky'));
      emulator.injectFault({ route: 'mailFolders/{folder}/messages', status: 503, count: 1 });
      emulator.injectFault({ route: 'mailFolders/{folder}/messages', status: 504, count: 1 });
      const listed = (await allPages(source, mailbox, { scan: 'unread' })).flat();
      expect(listed).toHaveLength(1);
      expect(emulator.counters()['GET /users/{id}/mailFolders/{folder}/messages']).toBe(3);
    });

    it('gives up at once when the wait would pass the retry budget', async () => {
      const id = emulator.deliver(mailbox, mime('too slow'));
      emulator.injectFault({ route: '$value', status: 429, retryAfterSeconds: 30, count: 1 });
      const started = Date.now();
      const error = await sourceFor(emulator, { maxRetryWaitMs: 5000 })
        .fetchMime(mailbox, id)
        .catch((caught: unknown) => caught);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(error).toMatchObject({ status: 429, code: 'TooManyRequests', retryable: true });
    });

    it('stops waiting when the signal aborts', async () => {
      const id = emulator.deliver(mailbox, mime('aborted'));
      emulator.injectFault({ route: '$value', status: 429, retryAfterSeconds: 10, count: 1 });
      const deadline = new Error('time budget used up');
      const controller = new AbortController();
      setTimeout(() => controller.abort(deadline), 100);
      await expect(source.fetchMime(mailbox, id, controller.signal)).rejects.toBe(deadline);
    });

    it('never has more than 4 requests in flight per mailbox', async () => {
      emulator.setLatency(25);
      const ids = Array.from({ length: 30 }, (_, index) => emulator.deliver(mailbox, mime(`c${index}`)));
      const [mimes, results] = await Promise.all([
        Promise.all(ids.slice(0, 16).map(async (id) => text(await source.fetchMime(mailbox, id)))),
        source.applyOperations(
          mailbox,
          ids.slice(16).map((messageId) => ({ messageId, operation: { kind: 'markRead' } })),
        ),
        allPages(source, mailbox, { scan: 'unread' }),
        source.ensureFolder(mailbox, 'Imported'),
      ]);
      expect(mimes.every((raw) => raw.includes('Subject: c'))).toBe(true);
      expect(results.every((result) => result.ok)).toBe(true);
      expect(emulator.peakConcurrency(mailbox)).toBe(4);
    });
  });
});

import { HttpRequest, type HttpResponseInit } from '@azure/functions';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importerSettingsHandler } from '../../functions/importerSettings.js';
import { importerStatusHandler } from '../../functions/importerStatus.js';
import { importHelpdeskHandler } from '../../functions/importHelpdesk.js';
import { importMailboxHandler } from '../../functions/importMailbox.js';
import { pollMailboxesHandler } from '../../functions/pollMailboxes.js';
import { provisionLocalResources } from '../../local/provision.js';
import { type LocalGraph, startLocalGraph } from '../../local/stack.js';
import { appServices } from '../../shared/app/services.js';
import { readEnvironment } from '../../shared/config/environment.js';
import type { Helpdesk } from '../../shared/helpdesk/settings.js';
import type { ImportDependencies } from '../../shared/import/dependencies.js';
import { importMailbox } from '../../shared/import/importMailbox.js';
import { invocation, runTimerAndDrainQueue } from '../support/functionRuns.js';
import { testContacts, testHelpdesk } from '../support/helpdeskFixtures.js';
import { pngImage, rawMail } from '../support/mail.js';
import { testEnvironment } from '../support/testEnvironment.js';

const DESK_A = 'desk@alpha.test';
const DESK_B = 'desk@beta.test';
const SEPARATOR = '==== vul boven deze regel uw reactie ====';

let local: LocalGraph;
let env: Record<string, string>;
let deps: ImportDependencies;
const alpha: Helpdesk = testHelpdesk('alpha', DESK_A);
const beta: Helpdesk = testHelpdesk('beta', DESK_B);

async function seed(helpdesk: Helpdesk) {
  await deps.helpdesks.put(helpdesk);
  for (const contact of testContacts(helpdesk.id)) await deps.contacts.put(contact);
}

/** The ETag our functions set (a plain header object). */
function etagOf(response: HttpResponseInit): string {
  return (response.headers as Record<string, string> | undefined)?.ETag ?? '';
}

function request(method: string, path: string, params: Record<string, string>, body?: unknown) {
  return new HttpRequest({
    method,
    url: `http://localhost:7071/api/${path}`,
    params,
    ...(body === undefined
      ? {}
      : { body: { string: typeof body === 'string' ? body : JSON.stringify(body) } }),
  });
}

const subjectHas = { field: 'subject', op: 'contains', value: 'factuur' };

/** The settings with a valid first rule and the given second one on the first mailbox. */
function withRule(
  settings: Helpdesk['importer'],
  when: unknown,
  actions: unknown[] = [{ action: 'ignore' }],
) {
  const first = Object.fromEntries([
    ['id', 'ok'],
    ['name', 'Fine'],
    ['when', subjectHas],
    ['then', [{ action: 'noAcknowledgement' }]],
  ]);
  const second = Object.fromEntries([
    ['id', 'bad'],
    ['name', 'Bad'],
    ['when', when],
    ['then', actions],
  ]);
  return { ...settings, mailboxes: [{ ...settings.mailboxes[0], rules: [first, second] }] };
}

beforeAll(async () => {
  local = await startLocalGraph();
  env = { ...testEnvironment(), ...local.env };
  Object.assign(process.env, env);
  await provisionLocalResources(readEnvironment(env));
  deps = appServices().dependencies({ info: () => {}, warn: () => {}, error: () => {} });
  await seed(alpha);
  await seed(beta);
  local.graph.addMailbox(DESK_A);
  local.graph.addMailbox(DESK_B);
});

afterAll(async () => {
  await local?.close();
});

describe('the timer (R2)', () => {
  it('defect: the timer enqueues exactly one job per mailbox of every enabled helpdesk, helpdesks of several mailboxes included', async () => {
    const mailboxes = ['m1', 'm2', 'm3'].map((id) => ({ id, userId: `${id}@multi.test` }));
    await seed(testHelpdesk('multi', 'm1@multi.test', { mailboxes }));
    await seed(
      testHelpdesk('off', 'a@off.test', {
        enabled: false,
        mailboxes: [
          { id: 'a', userId: 'a@off.test' },
          { id: 'b', userId: 'b@off.test' },
        ],
      }),
    );
    // Later timer runs in this file import them too.
    for (const mailbox of mailboxes) local.graph.addMailbox(mailbox.userId);

    await pollMailboxesHandler(
      {
        isPastDue: false,
        schedule: { adjustForDST: false },
        scheduleStatus: { last: '', next: '', lastUpdated: '' },
      },
      invocation('pollMailboxes'),
    );
    const queue = new QueueClient(env.AzureWebJobsStorage ?? '', env.IMPORT_QUEUE_NAME ?? '');
    const jobs: string[] = [];
    for (;;) {
      const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
      if (receivedMessageItems.length === 0) break;
      for (const message of receivedMessageItems) {
        const job = JSON.parse(Buffer.from(message.messageText, 'base64').toString('utf8')) as {
          helpdeskId: string;
          mailboxId: string;
        };
        jobs.push(`${job.helpdeskId}/${job.mailboxId}`);
        await queue.deleteMessage(message.messageId, message.popReceipt);
      }
    }
    expect(jobs.sort()).toEqual(['alpha/main', 'beta/main', 'multi/m1', 'multi/m2', 'multi/m3']);
  });
});

describe('timer → queue → import, two helpdesks', () => {
  const screenshot = pngImage(1);
  const inlineLogo = pngImage(2);

  it('turns new mail into tickets and replies into supplements, with every field of R7 and R8', async () => {
    local.graph.deliver(
      DESK_A,
      await rawMail({
        from: 'Karin Klant <karin@customer.example>',
        to: DESK_A,
        subject: 'Printer broken',
        text: 'The printer on floor 2 does not print.\n',
        html: '<p>The printer on floor 2 does not print.</p><p><img src="cid:logo@customer.example"></p>',
        messageId: '<req-1@customer.example>',
        attachments: [
          { filename: 'screenshot.png', content: screenshot, contentType: 'image/png' },
          {
            filename: 'manual.pdf',
            content: Buffer.from('%PDF-1.4\n%%EOF\n'),
            contentType: 'application/pdf',
          },
          { content: inlineLogo, contentType: 'image/png', cid: 'logo@customer.example' },
        ],
      }),
      { receivedDateTime: '2026-11-23T08:00:00Z' },
    );
    local.graph.deliver(
      DESK_B,
      await rawMail({
        from: 'Stranger <someone@nowhere.example>',
        to: DESK_B,
        subject: 'Question',
        text: 'Hello?',
      }),
      { receivedDateTime: '2026-11-23T08:01:00Z' },
    );
    const lines: string[] = [];
    // One job per enabled mailbox: alpha's, beta's and the three of multi (above).
    expect(await runTimerAndDrainQueue(env, lines)).toBe(5);

    const first = await deps.tickets.ticketWithEverything('alpha', 1);
    expect(first?.ticket).toMatchObject({
      helpdeskId: 'alpha',
      number: 1,
      organisation: { id: 'org-customer', name: 'Customer Ltd' },
      contact: { id: 'known-customer', name: 'Karin Klant', email: 'karin@customer.example' },
      createdBy: alpha.importer.defaultEmployee,
      reportedAt: '2026-11-23T08:00:00Z',
      channel: 'mail',
      mailSubject: 'Printer broken',
      title: 'Printer broken',
      typeId: 'question',
      priorityId: 'p3',
      environmentId: 'production',
      categoryId: null,
      subcategoryId: null,
      ticketManager: alpha.defaults.ticketManager,
      assignee: alpha.defaults.assignee,
      relatedTicketNumber: null,
      externalId: null,
      plannedDate: null,
      deadline: null,
      recalculateDeadline: false,
      inProgressDate: null,
      completedDate: null,
      projectId: null,
      evaluation: null,
      timeEstimateHours: null,
      statusId: 'imported',
      lastModifiedBy: alpha.importer.defaultEmployee,
    });
    expect(first?.ticket.requestText).toContain('does not print');
    expect(first?.ticket.requestHtml).toContain('does not print');
    expect(first?.ticket.images.map((i) => i.contentType)).toEqual(['image/png', 'image/png']);
    // Served by the app (GET …/tickets/{number}/images/{name}), not at the private blob.
    const inline = first?.ticket.images
      .find((i) => i.contentId)
      ?.blobName.split('/')
      .pop();
    expect(first?.ticket.requestHtml).toContain(
      `src="/api/helpdesks/${alpha.id}/tickets/${first?.ticket.number}/images/${inline}"`,
    );
    expect(first?.history.map((h) => h.event)).toEqual(['createdByMailImport']);
    expect(first?.history[0]?.attachmentsNotStored).toEqual([
      expect.objectContaining({ filename: 'manual.pdf', contentType: 'application/pdf' }),
    ]);

    const blobs = BlobServiceClient.fromConnectionString(env.AzureWebJobsStorage ?? '').getContainerClient(
      env.IMAGES_CONTAINER ?? '',
    );
    for (const image of first?.ticket.images ?? []) {
      const blob = blobs.getBlobClient(image.blobName);
      expect((await blob.getProperties()).contentType).toBe('image/png');
      expect(await blob.downloadToBuffer()).toEqual(
        image.filename === 'screenshot.png' ? screenshot : inlineLogo,
      );
    }

    const other = await deps.tickets.getTicket('beta', 1);
    expect(other).toMatchObject({
      number: 1,
      contact: { id: 'default-contact' },
      organisation: { id: 'org-default', name: 'Default Organisation' },
    });
    expect(local.graph.messages(DESK_A).every((m) => m.isRead)).toBe(true);
    expect(local.graph.messages(DESK_B).every((m) => m.isRead)).toBe(true);
    expect(lines.some((line) => line.includes('mail-import.message'))).toBe(true);
  });

  it('adds a reply with the ticket number in the subject as a supplement of that ticket', async () => {
    local.graph.deliver(
      DESK_A,
      await rawMail({
        from: 'Karin Klant <karin@customer.example>',
        to: DESK_A,
        subject: 'RE: [#1] Printer broken',
        text: `Still broken after a restart.\n\n${SEPARATOR}\n\nDear Karin, we registered ticket 1.\n`,
        messageId: '<reply-1@customer.example>',
        inReplyTo: '<req-1@customer.example>',
      }),
      { receivedDateTime: '2026-11-23T09:30:00Z' },
    );
    await runTimerAndDrainQueue(env);
    const everything = await deps.tickets.ticketWithEverything('alpha', 1);
    expect(everything?.supplements).toHaveLength(1);
    expect(everything?.supplements[0]).toMatchObject({
      ticketNumber: 1,
      reportedAt: '2026-11-23T09:30:00Z',
      supplementType: 'importedFromMail',
      informationProvider: { id: 'known-customer', name: 'Karin Klant' },
      createdBy: { id: 'known-customer', name: 'Karin Klant' },
      visibleToCustomer: true,
      expanded: false,
      lastModifiedBy: alpha.importer.defaultEmployee,
    });
    expect(everything?.supplements[0]?.description.trim()).toBe('Still broken after a restart.');
    expect(everything?.supplements[0]?.fullText).toContain('we registered ticket 1');
    expect(everything?.ticket).toMatchObject({
      statusId: 'supplemented',
      priorityId: 'p3',
      assignee: alpha.defaults.assignee,
      lastModifiedBy: alpha.importer.defaultEmployee,
    });
    expect(everything?.history.map((h) => h.event)).toEqual([
      'createdByMailImport',
      'supplementedByMailImport',
    ]);
    expect(await deps.tickets.getTicket('alpha', 2)).toBeNull();
  });

  it('makes a new ticket for a number that is not known in this helpdesk', async () => {
    local.graph.deliver(
      DESK_B,
      await rawMail({
        from: 'karin@customer.example',
        to: DESK_B,
        subject: 'RE: [#77] Something',
        text: 'x',
      }),
    );
    await runTimerAndDrainQueue(env);
    expect((await deps.tickets.getTicket('beta', 2))?.title).toBe('RE: [#77] Something');
  });
});

describe('unknown senders, filed under the default contact', () => {
  const DESK = 'desk@names.test';
  const names: Helpdesk = testHelpdesk('names', DESK);

  beforeAll(async () => {
    await seed(names);
    local.graph.addMailbox(DESK);
    local.graph.deliver(
      DESK,
      await rawMail({
        from: 'Stranger <someone@nowhere.example>',
        to: DESK,
        subject: 'Question',
        text: 'Hello?',
      }),
    );
    await importHelpdeskHandler(request('POST', 'x', { helpdeskId: 'names' }), invocation('importHelpdesk'));
    local.graph.deliver(
      DESK,
      await rawMail({
        from: '"Stranger, Susan" <someone@nowhere.example>',
        to: DESK,
        subject: 'RE: [#1] Question',
        text: 'Any news?',
        messageId: '<stranger-2@nowhere.example>',
      }),
    );
    await importHelpdeskHandler(request('POST', 'x', { helpdeskId: 'names' }), invocation('importHelpdesk'));
  });

  it('defect: an unknown sender keeps the display name on the ticket and supplement source', async () => {
    const everything = await deps.tickets.ticketWithEverything('names', 1);
    expect(everything?.ticket.contact.id).toBe('default-contact');
    expect(everything?.ticket.source.sender).toEqual({
      address: 'someone@nowhere.example',
      name: 'Stranger',
    });
    expect(everything?.supplements.map((s) => s.source.sender)).toEqual([
      { address: 'someone@nowhere.example', name: 'Stranger, Susan' },
    ]);
  });

  it('defect: a supplement whose sender is the default contact is filed like any supplement (R8)', async () => {
    const everything = await deps.tickets.ticketWithEverything('names', 1);
    expect(everything?.supplements).toHaveLength(1);
    expect(everything?.supplements[0]).toMatchObject({
      ticketNumber: 1,
      supplementType: 'importedFromMail',
      informationProvider: { id: 'default-contact', name: 'Default Contact' },
      createdBy: { id: 'default-contact', name: 'Default Contact' },
      flagged: null,
      lastModifiedBy: names.importer.defaultEmployee,
    });
    expect(everything?.supplements[0]?.description.trim()).toBe('Any news?');
    expect(everything?.ticket).toMatchObject({
      contact: { id: 'default-contact' },
      statusId: names.statusAfterCustomerSupplementId,
      participants: expect.arrayContaining(['someone@nowhere.example']),
    });
    expect(everything?.history.map((h) => h.event)).toEqual([
      'createdByMailImport',
      'supplementedByMailImport',
    ]);
    expect(everything?.history[1]?.text).toContain('someone@nowhere.example');
  });
});

describe('HTTP functions', () => {
  it('imports a helpdesk on demand and reports per mailbox', async () => {
    local.graph.deliver(
      DESK_A,
      await rawMail({ from: 'cees@customer.example', to: DESK_A, subject: 'Laptop', text: 'slow' }),
    );
    const response = await importHelpdeskHandler(
      request('POST', 'helpdesks/alpha/import', { helpdeskId: 'alpha' }),
      invocation('importHelpdesk'),
    );
    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({
      helpdeskId: 'alpha',
      mailboxes: [{ mailboxId: 'main', status: 'done', created: [2], supplemented: [], failed: 0 }],
    });
  });

  it('answers 404 for an unknown helpdesk, 400 for bad input and 409 while the mailbox is being imported', async () => {
    const unknown = await importHelpdeskHandler(
      request('POST', 'x', { helpdeskId: 'nope' }),
      invocation('importHelpdesk'),
    );
    expect(unknown.status).toBe(404);
    const badId = await importHelpdeskHandler(
      request('POST', 'x', { helpdeskId: 'bad id!' }),
      invocation('importHelpdesk'),
    );
    expect(badId.status).toBe(400);
    expect(JSON.stringify(badId.jsonBody)).toContain('helpdeskId');
    const badBody = await importHelpdeskHandler(
      request('POST', 'x', { helpdeskId: 'alpha' }, { mailboxId: 42 }),
      invocation('importHelpdesk'),
    );
    expect(badBody.status).toBe(400);
    expect(JSON.stringify(badBody.jsonBody)).toContain('body.mailboxId');
    const notJson = await importHelpdeskHandler(
      request('POST', 'x', { helpdeskId: 'alpha' }, '{'),
      invocation('importHelpdesk'),
    );
    expect(notJson.status).toBe(400);

    const lease = await deps.helpdesks.acquireLease(
      { helpdeskId: 'alpha', mailboxId: 'main' },
      'someone-else',
      60_000,
    );
    const busy = await importHelpdeskHandler(
      request('POST', 'x', { helpdeskId: 'alpha' }),
      invocation('importHelpdesk'),
    );
    await lease?.release();
    expect(busy.status).toBe(409);
  });

  it('reads and changes importer settings with full validation, changing nothing on bad input', async () => {
    const read = await importerSettingsHandler(
      request('GET', 'x', { helpdeskId: 'alpha' }),
      invocation('importerSettings'),
    );
    expect(read.status).toBe(200);
    const settings = read.jsonBody as Helpdesk['importer'];
    expect(settings.replySeparator).toBe(SEPARATOR);

    const changed = await importerSettingsHandler(
      request('PUT', 'x', { helpdeskId: 'alpha' }, { ...settings, replySeparator: '--- reply above ---' }),
      invocation('importerSettings'),
    );
    expect(changed.status).toBe(200);
    expect((await deps.helpdesks.get('alpha'))?.importer.replySeparator).toBe('--- reply above ---');

    for (const [body, field] of [
      [
        { ...settings, subjectPatterns: [String.raw`#((?:\d+)+)x`, '(?<=#)(\\d+)'] },
        'body.subjectPatterns.1',
      ],
      [{ ...settings, mailboxes: [] }, 'body.mailboxes'],
      [{ ...settings, defaultContactId: 'nobody' }, 'body.defaultContactId'],
      [
        { ...settings, mailboxes: [{ id: 'x', userId: 'x@y.z', postProcessing: { action: 'move' } }] },
        'body.mailboxes.0.postProcessing.folder',
      ],
      [
        { ...settings, acknowledgement: { newTicket: { subject: 'Hi\r\nBcc: x@evil.example' } } },
        'body.acknowledgement.newTicket.subject',
      ],
      [
        withRule(settings, { any: [subjectHas, { field: 'body', op: 'matches', value: '(a)\\1' }] }),
        'body.mailboxes.0.rules.1.when.any.1.value',
      ],
      [
        withRule(settings, subjectHas, [{ action: 'setField', field: 'statusId', value: 'nope' }]),
        'body.mailboxes.0.rules.1.then.0.value',
      ],
      [
        withRule(settings, { not: { ...subjectHas, kaseSensitive: true } }),
        'body.mailboxes.0.rules.1.when.not.kaseSensitive',
      ],
      [
        { ...settings, linkCriteria: [{ keyword: 'relnr', entity: 'relation', numberPattern: '(?=1)' }] },
        'body.linkCriteria.0.numberPattern',
      ],
    ] as const) {
      const rejected = await importerSettingsHandler(
        request('PUT', 'x', { helpdeskId: 'alpha' }, body),
        invocation('importerSettings'),
      );
      expect(rejected.status).toBe(400);
      expect((rejected.jsonBody as { error: { field: string } }).error.field).toBe(field);
    }
    expect((await deps.helpdesks.get('alpha'))?.importer.replySeparator).toBe('--- reply above ---');
    const missing = await importerSettingsHandler(
      request('PUT', 'x', { helpdeskId: 'nope' }, settings),
      invocation('importerSettings'),
    );
    expect(missing.status).toBe(404);
  });

  it('defect: a misspelt or unknown setting is refused with a 400 naming the key, not silently dropped', async () => {
    const read = await importerSettingsHandler(
      request('GET', 'x', { helpdeskId: 'alpha' }),
      invocation('importerSettings'),
    );
    const settings = read.jsonBody as Helpdesk['importer'];
    const before = (await deps.helpdesks.get('alpha'))?.importer;
    for (const [body, field] of [
      [{ ...settings, acknowledgment: { newTicket: { enabled: true } } }, 'body.acknowledgment'],
      [
        { ...settings, attachments: { ...settings.attachments, maxImageByte: 5 } },
        'body.attachments.maxImageByte',
      ],
      [
        { ...settings, mailboxes: [{ ...settings.mailboxes[0], postprocessing: { action: 'delete' } }] },
        'body.mailboxes.0.postprocessing',
      ],
    ] as const) {
      const rejected = await importerSettingsHandler(
        request('PUT', 'x', { helpdeskId: 'alpha' }, body),
        invocation('importerSettings'),
      );
      expect(rejected.status).toBe(400);
      expect(rejected.jsonBody).toEqual({
        error: {
          code: 'badRequest',
          message: `${field}: unknown key`,
          field,
          correlationId: expect.any(String),
        },
      });
    }
    expect((await deps.helpdesks.get('alpha'))?.importer).toEqual(before);
  });

  it('defect: concurrent PUTs of the importer settings give a 409 with a clear message, never a 500', async () => {
    const read = await importerSettingsHandler(
      request('GET', 'x', { helpdeskId: 'alpha' }),
      invocation('importerSettings'),
    );
    const settings = read.jsonBody as Helpdesk['importer'];
    const separators = ['--- one ---', '--- two ---', '--- three ---', '--- four ---'];
    const responses = await Promise.all(
      separators.map((replySeparator) =>
        importerSettingsHandler(
          request('PUT', 'x', { helpdeskId: 'alpha' }, { ...settings, replySeparator }),
          invocation('importerSettings'),
        ),
      ),
    );
    const statuses = responses.map((r) => r.status);
    // Never a 500: each request either saved or was told that another one saved first.
    expect(statuses.every((status) => status === 200 || status === 409)).toBe(true);
    expect(statuses).toContain(200);
    expect(statuses).toContain(409);
    const conflict = responses.find((r) => r.status === 409)?.jsonBody as {
      error: { code: string; message: string };
    };
    expect(conflict.error).toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('another request'),
    });
    const saved = separators.filter((_, i) => statuses[i] === 200);
    expect(saved).toContain((await deps.helpdesks.get('alpha'))?.importer.replySeparator);
  });

  it('defect: GET of the importer settings gives an ETag and PUT honours If-Match (412 for a stale one)', async () => {
    const read = await importerSettingsHandler(
      request('GET', 'x', { helpdeskId: 'alpha' }),
      invocation('importerSettings'),
    );
    const etag = etagOf(read);
    expect(etag).toMatch(/^".+"$/);
    const settings = read.jsonBody as Helpdesk['importer'];
    const put = (replySeparator: string, ifMatch: string) =>
      importerSettingsHandler(
        new HttpRequest({
          method: 'PUT',
          url: 'http://localhost:7071/api/helpdesks/alpha/importer',
          params: { helpdeskId: 'alpha' },
          headers: { 'if-match': ifMatch },
          body: { string: JSON.stringify({ ...settings, replySeparator }) },
        }),
        invocation('importerSettings'),
      );
    const first = await put('--- matched ---', etag);
    expect(first.status).toBe(200);
    const newTag = etagOf(first);
    expect(newTag).not.toBe(etag);
    const stale = await put('--- stale ---', etag);
    expect(stale.status).toBe(412);
    expect(stale.jsonBody).toMatchObject({ error: { code: 'preconditionFailed' } });
    expect((await deps.helpdesks.get('alpha'))?.importer.replySeparator).toBe('--- matched ---');
    expect((await put(SEPARATOR, newTag)).status).toBe(200);
    expect((await put(SEPARATOR, '*')).status).toBe(200);
  });

  it('defect: a disabled importer imports nothing through the queue or HTTP', async () => {
    const disabled = testHelpdesk('delta', 'desk@delta.test', { enabled: false });
    await seed(disabled);
    local.graph.addMailbox('desk@delta.test');
    local.graph.deliver(
      'desk@delta.test',
      await rawMail({ from: 'karin@customer.example', to: 'desk@delta.test', subject: 'Off', text: 'x' }),
    );
    const http = await importHelpdeskHandler(
      request('POST', 'x', { helpdeskId: 'delta' }),
      invocation('importHelpdesk'),
    );
    expect(http.status).toBe(409);
    expect(http.jsonBody).toMatchObject({ error: { code: 'importerDisabled' } });
    const lines: string[] = [];
    await importMailboxHandler(
      { helpdeskId: 'delta', mailboxId: 'main', reason: 'retry', enqueuedAt: new Date().toISOString() },
      invocation('importMailbox', lines),
    );
    expect(lines.join('\n')).toContain('importer of helpdesk delta is disabled');
    expect(await deps.tickets.listTickets('delta')).toEqual([]);
    expect(local.graph.messages('desk@delta.test', 'inbox')).toEqual([
      expect.objectContaining({ subject: 'Off', isRead: false }),
    ]);
  });

  it("shows each mailbox's last successful check, last error and last counts", async () => {
    const response = await importerStatusHandler(
      request('GET', 'x', { helpdeskId: 'alpha' }),
      invocation('importerStatus'),
    );
    expect(response.status).toBe(200);
    const body = response.jsonBody as { mailboxes: Array<Record<string, unknown>> };
    expect(body.mailboxes[0]).toMatchObject({ mailboxId: 'main', lastRunComplete: true, lastError: null });
    expect(typeof body.mailboxes[0]?.lastSuccessfulCheckAt).toBe('string');
    expect(body.mailboxes[0]?.lastCounts).toMatchObject({ created: 1 });
    expect(
      (await importerStatusHandler(request('GET', 'x', { helpdeskId: 'nope' }), invocation('importerStatus')))
        .status,
    ).toBe(404);
  });
});

describe('post-processing and the raw archive, end to end', () => {
  const MOVING = 'moving@post.test';
  const DELETING = 'deleting@post.test';

  beforeAll(async () => {
    await seed(
      testHelpdesk('post', MOVING, {
        mailboxes: [
          { id: 'moving', userId: MOVING, postProcessing: { action: 'move', folder: 'Imported' } },
          { id: 'deleting', userId: DELETING, postProcessing: { action: 'delete' } },
        ],
        attachments: { archiveRawMail: true },
      }),
    );
    local.graph.addMailbox(MOVING);
    local.graph.addMailbox(DELETING);
    for (const [mailbox, subject] of [
      [MOVING, 'Move me'],
      [DELETING, 'Delete me'],
    ] as const) {
      local.graph.deliver(
        mailbox,
        await rawMail({ from: 'karin@customer.example', to: mailbox, subject, text: `${subject}, please.` }),
      );
    }
    const response = await importHelpdeskHandler(
      request('POST', 'x', { helpdeskId: 'post' }),
      invocation('importHelpdesk'),
    );
    expect(response.jsonBody).toMatchObject({
      mailboxes: [
        { mailboxId: 'moving', status: 'done', created: [1] },
        { mailboxId: 'deleting', status: 'done', created: [2] },
      ],
    });
  });

  it('defect: post-processing "move" moves the imported mail into the folder, created on first use', () => {
    expect(local.graph.messages(MOVING, 'inbox')).toEqual([]);
    expect(local.graph.messages(MOVING, 'Imported')).toEqual([
      expect.objectContaining({ subject: 'Move me', folder: 'Imported' }),
    ]);
  });

  it('defect: post-processing "delete" moves the imported mail to Deleted Items', () => {
    expect(local.graph.messages(DELETING, 'inbox')).toEqual([]);
    expect(local.graph.messages(DELETING, 'deleteditems')).toEqual([
      expect.objectContaining({ subject: 'Delete me' }),
    ]);
  });

  it('defect: with archiveRawMail on, the raw .eml of each imported mail is in the raw-mail container, byte for byte (R12)', async () => {
    const blobs = BlobServiceClient.fromConnectionString(env.AzureWebJobsStorage ?? '').getContainerClient(
      env.RAW_MAIL_CONTAINER ?? '',
    );
    for (const [number, mailbox, folder] of [
      [1, MOVING, 'Imported'],
      [2, DELETING, 'deleteditems'],
    ] as const) {
      const ticket = await deps.tickets.getTicket('post', number);
      const blobName = ticket?.source.rawMailBlob ?? '';
      expect(blobName).toMatch(/^post\/(moving|deleting)\/.+\.eml$/);
      const [source] = local.graph.messages(mailbox, folder);
      const blob = blobs.getBlobClient(blobName);
      expect((await blob.getProperties()).contentType).toBe('message/rfc822');
      expect(await blob.downloadToBuffer()).toEqual(local.graph.rawMime(mailbox, source?.id ?? ''));
    }
  });
});

describe('mailbox status (R4)', () => {
  it('defect: lastError stays until a complete run clears it, and lastSuccessfulCheckAt moves only on complete runs', async () => {
    const userId = 'desk@status.test';
    await seed(testHelpdesk('status', userId));
    const ref = { helpdeskId: 'status', mailboxId: 'main' };
    const options = (deadline: number) => ({
      trigger: 'test',
      deadline,
      telemetry: { messageOutcome: () => {}, mailboxRun: () => {} },
    });
    // Graph does not know the mailbox yet: the run fails.
    await expect(importMailbox(deps, ref, options(Date.now() + 60_000))).rejects.toThrow();
    const failed = await deps.helpdesks.mailboxStatus('status', 'main');
    expect(failed).toMatchObject({ lastRunComplete: false, lastSuccessfulCheckAt: null });
    expect(failed.lastError?.message).toContain(userId);

    local.graph.addMailbox(userId);
    local.graph.deliver(
      userId,
      await rawMail({ from: 'karin@customer.example', to: userId, subject: 'A', text: 'a' }),
    );
    // Out of time before the first message: stopped early, which is neither a check nor a recovery.
    expect((await importMailbox(deps, ref, options(Date.now()))).status).toBe('incomplete');
    expect(await deps.helpdesks.mailboxStatus('status', 'main')).toMatchObject({
      lastRunComplete: false,
      lastSuccessfulCheckAt: null,
      lastError: failed.lastError,
    });

    expect((await importMailbox(deps, ref, options(Date.now() + 60_000))).status).toBe('done');
    const done = await deps.helpdesks.mailboxStatus('status', 'main');
    expect(done).toMatchObject({ lastRunComplete: true, lastError: null });
    expect(done.lastSuccessfulCheckAt).toBe(done.lastRunAt);
  });
});

describe('a large mailbox', () => {
  it('imports 1,200 messages in one job run, oldest first', async () => {
    const big = testHelpdesk('gamma', 'desk@gamma.test');
    await seed(big);
    local.graph.addMailbox('desk@gamma.test');
    const start = Date.parse('2026-01-01T00:00:00Z');
    // Delivered newest first, so only sorting by received time gives the right order.
    for (let i = 1199; i >= 0; i--) {
      local.graph.deliver(
        'desk@gamma.test',
        `From: karin@customer.example\r\nTo: desk@gamma.test\r\nSubject: Mail ${i}\r\nMessage-ID: <bulk-${i}@customer.example>\r\n\r\nbody ${i}\r\n`,
        { receivedDateTime: new Date(start + i * 60_000).toISOString() },
      );
    }
    const response = await importHelpdeskHandler(
      request('POST', 'x', { helpdeskId: 'gamma' }),
      invocation('importHelpdesk'),
    );
    expect(response.status).toBe(200);
    const tickets = await deps.tickets.listTickets('gamma');
    expect(tickets).toHaveLength(1200);
    expect(tickets.map((t) => t.title)).toEqual(Array.from({ length: 1200 }, (_, i) => `Mail ${i}`));
    expect(local.graph.messages('desk@gamma.test').filter((m) => !m.isRead)).toHaveLength(0);
  }, 600_000);
});

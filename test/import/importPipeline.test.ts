import { HttpRequest } from '@azure/functions';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importerSettingsHandler } from '../../functions/importerSettings.js';
import { importerStatusHandler } from '../../functions/importerStatus.js';
import { importHelpdeskHandler } from '../../functions/importHelpdesk.js';
import { provisionLocalResources } from '../../local/provision.js';
import { type LocalGraph, startLocalGraph } from '../../local/stack.js';
import { appServices } from '../../shared/app/services.js';
import { readEnvironment } from '../../shared/config/environment.js';
import type { Helpdesk } from '../../shared/helpdesk/settings.js';
import type { ImportDependencies } from '../../shared/import/dependencies.js';
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
    expect(await runTimerAndDrainQueue(env, lines)).toBeGreaterThanOrEqual(2);

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
    expect(first?.ticket.requestHtml).toContain(first?.ticket.images.find((i) => i.contentId)?.blobName);
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

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalHost } from '../../local/host.js';
import type { Helpdesk } from '../../shared/helpdesk/settings.js';
import type { ImportDependencies } from '../../shared/import/dependencies.js';
import type { ListedMessage } from '../../shared/import/keptAside.js';
import { type MailRecord, mailboxKey } from '../../shared/import/mailRecord.js';
import { PREVIEW_IMAGE_MAX_BYTES } from '../../shared/import/previewMail.js';
import { resolveMessage } from '../../shared/import/resolveMessage.js';
import { ticketImageUrl } from '../../shared/tickets/ticketImages.js';
import { formatTicketReference } from '../../shared/tickets/ticketNumber.js';
import { testHelpdesk } from '../support/helpdeskFixtures.js';
import { startHostWithoutTimers } from '../support/hostApi.js';
import {
  type ImportScenario,
  mailRecords,
  seedHelpdesk,
  startImportScenario,
} from '../support/importScenario.js';
import { pngImage, rawMail } from '../support/mail.js';

/**
 * Mail that needs a person (R20) through the local host: the listing with paging over 250 kept-aside
 * mails, filters, and keys of one helpdesk refused under another. The paged helpdesk's records are
 * written straight to Cosmos DB (importing 250 mails would test the import, not the listing); the mail
 * of the `desk` helpdesk is delivered by the Graph emulator and imported over HTTP.
 */

const DESK = 'desk@messages.test';
// Built from entries: a literal `then` key makes the object look like a promise to the linter.
const legal = Object.fromEntries([
  ['id', 'legal'],
  ['name', 'legal'],
  ['when', { field: 'subject', op: 'contains', value: 'legal' }],
  ['then', [{ action: 'keepAside' }]],
  ['stop', true],
]);
const desk: Helpdesk = testHelpdesk(
  'messages',
  DESK,
  { mailboxes: [{ id: 'main', userId: DESK, rules: [legal] }], attachments: { archiveRawMail: true } },
  { employees: [{ id: 'emp-7', name: 'Eva Expert' }] },
);
const IMPORT_FAILED = desk.importer.keepAside.category;
const FILES = 'desk@messagesfiles.test';
const keepsAll: Helpdesk = testHelpdesk('messagesfiles', FILES, { attachments: { keep: 'all' } });
const paged: Helpdesk = testHelpdesk('messagespaged', 'paged-a@messages.test', {
  mailboxes: [
    { id: 'a', userId: 'paged-a@messages.test' },
    { id: 'b', userId: 'paged-b@messages.test' },
  ],
});

let scenario: ImportScenario;
let host: LocalHost;
const lines: string[] = [];

async function api(method: string, path: string, body?: unknown) {
  const response = await fetch(`${host.httpUrl}/api/${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  const isJson = response.headers.get('content-type')?.includes('json') ?? false;
  return {
    status: response.status,
    headers: response.headers,
    bytes,
    json: isJson && bytes.length > 0 ? (JSON.parse(bytes.toString('utf8')) as Record<string, unknown>) : null,
  };
}

type Page = { messages: ListedMessage[]; continuationToken: string | null };

/** Every page of a listing, following the continuation tokens; the page sizes as well. */
async function allPages(path: string): Promise<{ messages: ListedMessage[]; sizes: number[] }> {
  const messages: ListedMessage[] = [];
  const sizes: number[] = [];
  let token: string | null = null;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const url: string = token ? `${path}${separator}continuationToken=${encodeURIComponent(token)}` : path;
    const response = await api('GET', url);
    expect(response.status).toBe(200);
    const page = response.json as unknown as Page;
    messages.push(...page.messages);
    sizes.push(page.messages.length);
    token = page.continuationToken;
  } while (token);
  return { messages, sizes };
}

/** A record as the import leaves it, minute `i` after a start, alternating between the two mailboxes. */
function seededRecord(i: number, state: MailRecord['state']): MailRecord {
  const mailboxId = i % 2 === 0 ? 'a' : 'b';
  const from = i % 5 === 0 ? `alice${i}@customer.example` : `bob${i}@supplier.example`;
  const at = new Date(Date.parse('2026-11-01T00:00:00Z') + i * 60_000).toISOString();
  return {
    id: `seeded-${state}-${String(i).padStart(4, '0')}`,
    docType: 'mail',
    mailboxKey: mailboxKey(paged.id, mailboxId),
    helpdeskId: paged.id,
    mailboxId,
    graphMessageId: `graph-${i}`,
    internetMessageId: `<${i}@customer.example>`,
    receivedDateTime: at,
    state,
    attempts: state === 'keptAside' ? 3 : 1,
    lastError: state === 'keptAside' ? 'ticket store refused the write' : null,
    plan:
      state === 'flagged'
        ? {
            action: 'supplement',
            ticketNumber: 7,
            via: 'subject',
            flagged: 'unrelated sender',
            automatic: null,
          }
        : state === 'skipped'
          ? { action: 'skip', reason: 'ignored by rule newsletters' }
          : null,
    rules: null,
    classification: { kind: 'normal', reasons: [] },
    subject: i % 7 === 0 ? `Invoice ${i}` : `Question ${i}`,
    senderDomain: from.split('@')[1] ?? null,
    from,
    keptAside:
      state === 'keptAside' ? { blobName: null, reason: 'ticket store refused the write', at } : null,
    acknowledgement: null,
    createdAt: at,
    updatedAt: at,
  };
}

beforeAll(async () => {
  scenario = await startImportScenario();
  await seedHelpdesk(scenario, desk);
  await seedHelpdesk(scenario, paged);
  await seedHelpdesk(scenario, keepsAll);
  const seeded = [
    ...Array.from({ length: 250 }, (_, i) => seededRecord(i, 'keptAside')),
    ...Array.from({ length: 20 }, (_, i) => seededRecord(1000 + i, 'flagged')),
    ...Array.from({ length: 10 }, (_, i) => seededRecord(2000 + i, 'skipped')),
  ];
  for (let i = 0; i < seeded.length; i += 25) {
    await Promise.all(seeded.slice(i, i + 25).map((record) => scenario.deps.records.create(record)));
  }
  host = await startHostWithoutTimers({
    env: scenario.env,
    log: (line) => lines.push(line),
  });
  scenario.local.graph.deliver(
    DESK,
    await rawMail({
      from: 'Karin <Karin@Customer.example>',
      to: DESK,
      subject: 'A legal question',
      text: 'About the contract.\n',
      html: '<p>About the <b>contract</b>.</p><script>alert(1)</script>',
      attachments: [
        {
          filename: 'contract.pdf',
          content: Buffer.from('%PDF-1.4 not much'),
          contentType: 'application/pdf',
        },
      ],
    }),
    { receivedDateTime: '2026-12-01T08:00:00Z' },
  );
  scenario.local.graph.deliver(
    DESK,
    await rawMail({ from: 'Piet <piet@customer.example>', to: DESK, subject: 'Printer', text: 'Broken.\n' }),
    { receivedDateTime: '2026-12-01T08:01:00Z' },
  );

  scenario.local.graph.deliver(
    DESK,
    await rawMail({
      from: 'Piet <piet@customer.example>',
      to: DESK,
      subject: 'Screenshot',
      html: '<p>See the error:</p><p><img src="cid:shot@customer.example"></p>',
      attachments: [
        {
          filename: 'shot.png',
          content: pngImage(5),
          contentType: 'image/png',
          cid: 'shot@customer.example',
        },
      ],
    }),
    { receivedDateTime: '2026-12-01T08:02:00Z' },
  );
  expect((await api('POST', `helpdesks/${desk.id}/import`)).status).toBe(200);
}, 120_000);

afterAll(async () => {
  await host?.stop();
  await scenario?.local.close();
});

describe('GET …/messages: mail that needs a person', () => {
  it('pages through 250 kept-aside mails of two mailboxes, newest first, at most 100 a page, each once', async () => {
    const { messages, sizes } = await allPages(`helpdesks/${paged.id}/messages?state=keptAside`);
    expect(sizes).toEqual([100, 100, 50]);
    expect(new Set(messages.map((m) => m.key)).size).toBe(250);
    const received = messages.map((m) => m.receivedDateTime);
    expect(received).toEqual([...received].sort().reverse());
    expect(new Set(messages.map((m) => m.mailboxId))).toEqual(new Set(['a', 'b']));
    expect(messages[0]).toEqual({
      key: 'seeded-keptAside-0249',
      mailboxId: 'b',
      state: 'keptAside',
      receivedDateTime: '2026-11-01T04:09:00.000Z',
      from: 'bob249@supplier.example',
      senderDomain: 'supplier.example',
      subject: 'Question 249',
      classification: { kind: 'normal', reasons: [] },
      reason: 'ticket store refused the write',
      attempts: 3,
      rulesMatched: [],
      ticketNumber: null,
      keptAsideAt: '2026-11-01T04:09:00.000Z',
      updatedAt: '2026-11-01T04:09:00.000Z',
    });
  });

  it('a smaller page size, and the other states: flagged, ignored, all', async () => {
    const small = await allPages(`helpdesks/${paged.id}/messages?state=flagged&pageSize=7`);
    expect(small.sizes).toEqual([7, 7, 6]);
    expect(small.messages[0]).toMatchObject({
      state: 'flagged',
      reason: 'unrelated sender',
      ticketNumber: 7,
    });
    const ignored = await allPages(`helpdesks/${paged.id}/messages?state=ignored`);
    expect(ignored.messages.map((m) => [m.state, m.reason])).toEqual(
      Array.from({ length: 10 }, () => ['ignored', 'ignored by rule newsletters']),
    );
    const all = await allPages(`helpdesks/${paged.id}/messages?state=all`);
    expect(all.sizes).toEqual([100, 100, 80]);
    // Newest first across states: the ignored ones came last.
    expect(all.messages.slice(0, 10).every((m) => m.state === 'ignored')).toBe(true);
  });

  it('finds mail by part of the sender or the subject, in any case', async () => {
    const alice = await allPages(`helpdesks/${paged.id}/messages?from=ALICE`);
    expect(alice.messages.length).toBe(50);
    expect(alice.messages.every((m) => m.from?.startsWith('alice'))).toBe(true);
    const invoices = await allPages(`helpdesks/${paged.id}/messages?from=alice&subject=invoice`);
    // i a multiple of both 5 and 7 below 250.
    expect(invoices.messages.map((m) => m.subject)).toEqual(
      [245, 210, 175, 140, 105, 70, 35, 0].map((i) => `Invoice ${i}`),
    );
  });

  it('lists a mail the import kept aside with its sender, rules and classification', async () => {
    const response = await api('GET', `helpdesks/${desk.id}/messages`);
    expect(response.status).toBe(200);
    const [record] = (await mailRecords(scenario, desk.id)).filter((r) => r.state === 'keptAside');
    expect(response.json).toMatchObject({
      helpdeskId: desk.id,
      state: 'keptAside',
      continuationToken: null,
      messages: [
        {
          key: record?.id,
          mailboxId: 'main',
          state: 'keptAside',
          from: 'karin@customer.example',
          subject: 'A legal question',
          classification: { kind: 'normal' },
          reason: 'kept aside by rule legal for manual handling',
          rulesMatched: ['legal'],
        },
      ],
    });
  });

  it('refuses bad input with a 400 naming the field, and an unknown helpdesk with a 404', async () => {
    const cases: Array<[string, string]> = [
      ['state=bogus', 'query.state'],
      ['pageSize=101', 'query.pageSize'],
      ['pageSize=0', 'query.pageSize'],
      ['continuationToken=not-a-token', 'continuationToken'],
      ['colour=red', 'query.colour'],
    ];
    for (const [query, field] of cases) {
      const response = await api('GET', `helpdesks/${paged.id}/messages?${query}`);
      expect(response.status, query).toBe(400);
      expect((response.json as { error: { field: string } }).error.field, query).toBe(field);
    }
    expect((await api('GET', 'helpdesks/nosuchdesk/messages')).status).toBe(404);
  });

  it("never lists one helpdesk's mail under another", async () => {
    const deskKeys = (await allPages(`helpdesks/${desk.id}/messages?state=all`)).messages.map((m) => m.key);
    expect(deskKeys.length).toBe(3);
    expect(deskKeys.some((key) => key.startsWith('seeded-'))).toBe(false);
  });
});

/** The app's dependencies, the process dying right after a resolve stored its decision. */
function crashingAfterDecision(): ImportDependencies {
  return {
    ...scenario.deps,
    checkpoint: (step) => {
      if (step === 'planned') throw new Error('simulated crash after the plan was stored');
    },
  };
}

/** The key of the desk's mail with this subject, and the bytes the Graph emulator delivered for it. */
/** Mails from one sender delivered to the desk at 08:MM on 1 December, then the desk imported over HTTP. */
async function deliverAndImport(from: string, text: string, mails: Array<[minute: number, subject: string]>) {
  for (const [minute, subject] of mails) {
    scenario.local.graph.deliver(DESK, await rawMail({ from, to: DESK, subject, text }), {
      receivedDateTime: `2026-12-01T08:${minute}:00Z`,
    });
  }
  expect((await api('POST', `helpdesks/${desk.id}/import`)).status).toBe(200);
}

async function deskMail(subject: string): Promise<{ key: string; delivered: Buffer }> {
  const record = (await mailRecords(scenario, desk.id)).find((r) => r.subject === subject);
  if (!record) throw new Error(`no record for ${subject}`);
  return { key: record.id, delivered: scenario.local.graph.rawMime(DESK, record.graphMessageId) };
}

describe('GET …/messages/{key}/raw: the original mail', () => {
  it('streams the kept-aside copy as message/rfc822, byte-equal to what the mailbox delivered', async () => {
    const { key, delivered } = await deskMail('A legal question');
    const response = await api('GET', `helpdesks/${desk.id}/messages/${key}/raw`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('message/rfc822');
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="${key}.eml"; filename*=UTF-8''${key}.eml`,
    );
    expect(response.bytes.equals(delivered)).toBe(true);
  });

  it('streams the archived copy of an imported mail', async () => {
    const { key, delivered } = await deskMail('Printer');
    const response = await api('GET', `helpdesks/${desk.id}/messages/${key}/raw`);
    expect(response.status).toBe(200);
    expect(response.bytes.equals(delivered)).toBe(true);
  });

  it('404 with a clear message when no raw copy was kept', async () => {
    // A seeded record: its mail was never kept aside nor archived.
    const response = await api('GET', `helpdesks/${paged.id}/messages/seeded-keptAside-0001/raw`);
    expect(response.status).toBe(404);
    expect(response.json).toMatchObject({
      error: {
        code: 'notFound',
        message: expect.stringContaining('no raw copy of message seeded-keptAside-0001'),
      },
    });
  });

  it('refuses a key of one helpdesk under another, and a malformed key, without revealing the mail', async () => {
    const { key } = await deskMail('A legal question');
    const cross = await api('GET', `helpdesks/${paged.id}/messages/${key}/raw`);
    expect(cross.status).toBe(404);
    expect(JSON.stringify(cross.json)).not.toContain('legal');
    expect((await api('POST', `helpdesks/${paged.id}/messages/${key}/retry`)).status).toBe(404);
    expect((await api('GET', `helpdesks/${desk.id}/messages/not..a..key/raw`)).status).toBe(400);
  });
});

describe('GET …/importer/status: needsAttention', () => {
  it('counts the kept-aside and flagged mail of each mailbox, not the ignored or imported', async () => {
    const paging = await api('GET', `helpdesks/${paged.id}/importer/status`);
    expect(paging.status).toBe(200);
    const mailboxes = (paging.json as { mailboxes: Array<{ mailboxId: string; needsAttention: number }> })
      .mailboxes;
    // Even minutes went to a, odd to b: 125 kept aside and 10 flagged each.
    expect(mailboxes.map((m) => [m.mailboxId, m.needsAttention])).toEqual([
      ['a', 135],
      ['b', 135],
    ]);
    const deskStatus = await api('GET', `helpdesks/${desk.id}/importer/status`);
    expect(deskStatus.json).toMatchObject({ mailboxes: [{ mailboxId: 'main', needsAttention: 1 }] });
  });
});

describe('GET …/tickets/{number}/images/{name}: images to agents', () => {
  it('ticket HTML points at the app, which streams the image with its detected type, nosniff and a CSP', async () => {
    const ticket = (await scenario.deps.tickets.listTickets(desk.id)).find((t) => t.title === 'Screenshot');
    if (!ticket) throw new Error('no ticket Screenshot');
    const src = /<img src="([^"]+)"/.exec(ticket.requestHtml ?? '')?.[1] ?? '';
    expect(src).toMatch(
      new RegExp(`^/api/helpdesks/${desk.id}/tickets/${ticket.number}/images/[A-Za-z0-9_-]+\\.png$`),
    );
    const response = await fetch(`${host.httpUrl}${src}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('content-security-policy')).toBe("default-src 'none'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await response.arrayBuffer()).equals(pngImage(5))).toBe(true);

    const name = src.split('/').pop() ?? '';
    // Another helpdesk, another ticket, an unknown image, a name that is no image name.
    expect((await api('GET', `helpdesks/${paged.id}/tickets/${ticket.number}/images/${name}`)).status).toBe(
      404,
    );
    expect(
      (await api('GET', `helpdesks/${desk.id}/tickets/${ticket.number + 1}/images/${name}`)).status,
    ).toBe(404);
    const unknown = await api(
      'GET',
      `helpdesks/${desk.id}/tickets/${ticket.number}/images/${'A'.repeat(43)}.png`,
    );
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ error: { code: 'notFound' } });
    const bad = await api('GET', `helpdesks/${desk.id}/tickets/${ticket.number}/images/..%2Fsecret.png`);
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ error: { field: 'name' } });
  });
});

describe('GET …/tickets/{number}/images/{name}: other kept files (attachments.keep "all")', () => {
  it('serves a kept PDF only as a download: octet-stream, Content-Disposition attachment, nosniff', async () => {
    const pdf = Buffer.from(
      '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n',
    );
    scenario.local.graph.deliver(
      FILES,
      await rawMail({
        from: 'Karin <karin@customer.example>',
        to: FILES,
        subject: 'The signed offer',
        text: 'Attached.\n',
        attachments: [{ filename: 'offer.pdf', content: pdf, contentType: 'application/pdf' }],
      }),
      { receivedDateTime: '2026-12-01T09:00:00Z' },
    );
    expect((await api('POST', `helpdesks/${keepsAll.id}/import`)).status).toBe(200);
    const ticket = (await scenario.deps.tickets.listTickets(keepsAll.id)).find(
      (t) => t.title === 'The signed offer',
    );
    const file = ticket?.files?.[0];
    if (!file) throw new Error('the PDF was not kept');
    const response = await api('GET', ticketImageUrl(file.blobName).replace(/^\/api\//, ''));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="[0-9a-f]{64}\.pdf"$/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.bytes.equals(pdf)).toBe(true);
  });

  it('serves an image inline, without Content-Disposition', async () => {
    const ticket = (await scenario.deps.tickets.listTickets(desk.id)).find((t) => t.title === 'Screenshot');
    const src = /<img src="([^"]+)"/.exec(ticket?.requestHtml ?? '')?.[1] ?? '';
    const response = await fetch(`${host.httpUrl}${src}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBeNull();
  });
});

describe('GET …/messages/{key}: everything needed to decide', () => {
  it('the kept-aside mail parsed from its raw copy: headers, addresses, texts, safe HTML, attachments, the stored decision', async () => {
    const { key } = await deskMail('A legal question');
    const response = await api('GET', `helpdesks/${desk.id}/messages/${key}`);
    expect(response.status).toBe(200);
    const detail = response.json as Record<string, unknown> & { mail: Record<string, unknown> };
    expect(detail).toMatchObject({
      key,
      state: 'keptAside',
      reason: 'kept aside by rule legal for manual handling',
      attempts: expect.any(Number),
      rulesMatched: ['legal'],
      plan: null,
      rules: { matched: ['legal'] },
      mailUnavailable: null,
    });
    expect(detail.mail).toMatchObject({
      from: { address: 'karin@customer.example', name: 'Karin' },
      to: [{ address: DESK }],
      cc: [],
      subject: 'A legal question',
      headers: { subject: ['A legal question'], from: ['Karin <Karin@customer.example>'] },
      attachments: [
        {
          filename: 'contract.pdf',
          declaredType: 'application/pdf',
          detectedType: null,
          inline: false,
          kept: false,
          reason: 'not an image',
        },
      ],
    });
    expect(detail.mail.replyText).toContain('About the contract');
    expect(detail.mail.fullText).toContain('About the contract');
    expect(detail.mail.safeHtml).toContain('<b>contract</b>');
    expect(detail.mail.safeHtml).not.toContain('script');
  });

  it("the mail's inline image as a data: URL in displayHtml only, within the caps; safeHtml unchanged", async () => {
    const { key } = await deskMail('Screenshot');
    const response = await api('GET', `helpdesks/${desk.id}/messages/${key}`);
    expect(response.status).toBe(200);
    const mail = (response.json as { mail: { safeHtml: string; displayHtml: string } }).mail;
    const png = pngImage(5);
    expect(png.length).toBeLessThanOrEqual(PREVIEW_IMAGE_MAX_BYTES);
    expect(mail.displayHtml).toContain(`<img src="data:image/png;base64,${png.toString('base64')}" />`);
    expect(mail.displayHtml).not.toContain('images/');
    expect(mail.safeHtml).not.toContain('<img');
    expect(mail.displayHtml.replace(/<img [^>]*>/, '')).toBe(mail.safeHtml);
  });

  it('a mail without a raw copy: the record, and why the mail itself is missing', async () => {
    const response = await api('GET', `helpdesks/${paged.id}/messages/seeded-keptAside-0002`);
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({
      key: 'seeded-keptAside-0002',
      lastError: 'ticket store refused the write',
      mail: null,
      mailUnavailable: 'no raw copy is stored',
    });
  });

  it('a key of another helpdesk is 404', async () => {
    const { key } = await deskMail('A legal question');
    const response = await api('GET', `helpdesks/${paged.id}/messages/${key}`);
    expect(response.status).toBe(404);
    expect(JSON.stringify(response.json)).not.toContain('legal');
  });
});

describe('POST …/messages/{key}/resolve: discard', () => {
  const source = (subject: string) => scenario.local.graph.messages(DESK).find((m) => m.subject === subject);

  it('discards a kept-aside mail: decision stored naming the person, source handled, a second resolve 409', async () => {
    await deliverAndImport('Spam <spam@spam.example>', 'Buy.\n', [
      [10, 'legal spam'],
      [11, 'legal crash'],
    ]);
    const { key } = await deskMail('legal spam');
    expect(source('legal spam')?.isRead).toBe(false);

    // Refused input changes nothing.
    for (const [body, field] of [
      [{ action: 'forward', by: 'Eva' }, 'body.action'],
      [{ action: 'discard', note: 'spam' }, 'body.by'],
      [{ action: 'discard', note: ' ', by: 'Eva' }, 'body.note'],
    ] as const) {
      const refused = await api('POST', `helpdesks/${desk.id}/messages/${key}/resolve`, body);
      expect(refused.status, field).toBe(400);
      expect((refused.json as { error: { field: string } }).error.field).toBe(field);
    }
    expect((await deskMail('legal spam')).key).toBe(key);
    expect((await mailRecords(scenario, desk.id)).find((r) => r.id === key)?.state).toBe('keptAside');
    // Another helpdesk's key.
    const cross = await api('POST', `helpdesks/${paged.id}/messages/${key}/resolve`, {
      action: 'discard',
      note: 'spam',
      by: 'Eva',
    });
    expect(cross.status).toBe(404);

    const resolved = await api('POST', `helpdesks/${desk.id}/messages/${key}/resolve`, {
      action: 'discard',
      note: 'spam',
      by: 'Eva',
    });
    expect(resolved.status).toBe(200);
    expect(resolved.json).toEqual({ key, action: 'discard', by: 'Eva', ticketNumber: null, state: 'done' });
    const record = (await mailRecords(scenario, desk.id)).find((r) => r.id === key);
    expect(record).toMatchObject({
      state: 'skipped',
      plan: { action: 'skip', reason: 'discarded by Eva: spam' },
      resolution: { action: 'discard', note: 'spam', by: 'Eva' },
    });
    expect(source('legal spam')?.isRead).toBe(true);
    expect(source('legal spam')?.categories).not.toContain(IMPORT_FAILED);
    expect(source('legal crash')?.categories).toContain(IMPORT_FAILED);
    const again = await api('POST', `helpdesks/${desk.id}/messages/${key}/resolve`, {
      action: 'discard',
      note: 'again',
      by: 'Ben',
    });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ error: { message: expect.stringContaining('discard by Eva') } });
    const ignored = (await allPages(`helpdesks/${desk.id}/messages?state=ignored`)).messages;
    expect(ignored.map((m) => [m.key, m.reason])).toEqual([[key, 'discarded by Eva: spam']]);
  });

  it('a crash between storing the decision and handling the source: the next resolve finishes that decision, once', async () => {
    const { key } = await deskMail('legal crash');
    await expect(
      resolveMessage(crashingAfterDecision(), {
        helpdeskId: desk.id,
        key,
        request: { action: 'discard', note: 'spam too', by: 'Eva' },
        importMailbox: () => Promise.reject(new Error('a discard imports nothing')),
      }),
    ).rejects.toThrow('simulated crash');
    expect((await mailRecords(scenario, desk.id)).find((r) => r.id === key)).toMatchObject({
      state: 'planned',
      resolution: { by: 'Eva' },
    });
    expect(source('legal crash')?.isRead).toBe(false);

    // Someone else tries again: the stored decision is finished, not theirs.
    const finished = await api('POST', `helpdesks/${desk.id}/messages/${key}/resolve`, {
      action: 'discard',
      note: 'other note',
      by: 'Ben',
    });
    expect(finished.status).toBe(200);
    expect(finished.json).toMatchObject({ by: 'Eva' });
    expect((await mailRecords(scenario, desk.id)).find((r) => r.id === key)).toMatchObject({
      state: 'skipped',
      plan: { reason: 'discarded by Eva: spam too' },
    });
    expect(source('legal crash')?.isRead).toBe(true);
    expect(
      (
        await api('POST', `helpdesks/${desk.id}/messages/${key}/resolve`, {
          action: 'discard',
          note: 'x',
          by: 'Ben',
        })
      ).status,
    ).toBe(409);
  });
});

describe('POST …/messages/{key}/resolve: link to a ticket', () => {
  const source = (subject: string) => scenario.local.graph.messages(DESK).find((m) => m.subject === subject);
  const resolve = (key: string, body: unknown) =>
    api('POST', `helpdesks/${desk.id}/messages/${key}/resolve`, body);

  async function printerTicket() {
    const ticket = (await scenario.deps.tickets.listTickets(desk.id)).find((t) => t.title === 'Printer');
    if (!ticket) throw new Error('no ticket Printer');
    const everything = await scenario.deps.tickets.ticketWithEverything(desk.id, ticket.number);
    if (!everything) throw new Error('no ticket Printer');
    return everything;
  }

  it('adds the mail to the ticket with a history entry naming the person; 404 for an unknown ticket first; 409 after', async () => {
    await deliverAndImport('Karin <karin@customer.example>', 'Still broken.\n', [
      [20, 'legal printer follow-up'],
      [21, 'legal printer crash'],
    ]);
    const { key } = await deskMail('legal printer follow-up');
    const before = await printerTicket();
    // Arrives meanwhile and waits for the next run: the resolve imports the mail it is about, no other.
    scenario.local.graph.deliver(
      DESK,
      await rawMail({
        from: 'Piet <piet@customer.example>',
        to: DESK,
        subject: 'Waiting its turn',
        text: 'Hi.\n',
      }),
      { receivedDateTime: '2026-12-01T08:22:00Z' },
    );

    const unknown = await resolve(key, { action: 'linkToTicket', ticketNumber: 999, by: 'Eva' });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({
      error: { message: 'ticket 999 does not exist in helpdesk messages' },
    });
    const untouched = (await mailRecords(scenario, desk.id)).find((r) => r.id === key);
    expect(untouched).toMatchObject({ state: 'keptAside', plan: null });
    expect(untouched?.resolution).toBeUndefined();

    const linked = await resolve(key, {
      action: 'linkToTicket',
      ticketNumber: before.ticket.number,
      by: 'Eva',
    });
    expect(linked.status).toBe(200);
    expect(linked.json).toEqual({
      key,
      action: 'linkToTicket',
      by: 'Eva',
      ticketNumber: before.ticket.number,
      state: 'done',
    });
    const after = await printerTicket();
    expect(after.supplements.length).toBe(before.supplements.length + 1);
    const entry = after.history.find((h) => h.messageKey === key);
    expect(entry?.text).toContain('Linked to this ticket by Eva.');
    expect((await mailRecords(scenario, desk.id)).find((r) => r.id === key)).toMatchObject({
      state: 'stored',
      plan: { action: 'supplement', via: 'person', ticketNumber: before.ticket.number },
    });
    expect(source('legal printer follow-up')?.isRead).toBe(true);
    expect(source('legal printer follow-up')?.categories).not.toContain(IMPORT_FAILED);
    expect(source('Waiting its turn')?.isRead).toBe(false);
    expect((await mailRecords(scenario, desk.id)).map((r) => r.subject)).not.toContain('Waiting its turn');
    expect((await resolve(key, { action: 'discard', note: 'x', by: 'Ben' })).status).toBe(409);
    expect((await resolve(key, { action: 'approve', by: 'Ben' })).status).toBe(409);
  });

  it('a crash after the decision is stored: the next resolve finishes it, one supplement', async () => {
    const { key } = await deskMail('legal printer crash');
    const before = await printerTicket();
    await expect(
      resolveMessage(crashingAfterDecision(), {
        helpdeskId: desk.id,
        key,
        request: { action: 'linkToTicket', ticketNumber: before.ticket.number, by: 'Eva' },
        importMailbox: () => Promise.reject(new Error('not reached')),
      }),
    ).rejects.toThrow('simulated crash');
    expect((await printerTicket()).supplements.length).toBe(before.supplements.length);

    const finished = await resolve(key, { action: 'discard', note: 'changed my mind', by: 'Ben' });
    expect(finished.status).toBe(200);
    expect(finished.json).toMatchObject({
      action: 'linkToTicket',
      by: 'Eva',
      ticketNumber: before.ticket.number,
    });
    const after = await printerTicket();
    expect(after.supplements.length).toBe(before.supplements.length + 1);
    expect(after.history.filter((h) => h.messageKey === key).length).toBe(1);
    expect((await resolve(key, { action: 'discard', note: 'x', by: 'Ben' })).status).toBe(409);
  });
});

describe('POST …/messages/{key}/resolve: a new ticket', () => {
  const source = (subject: string) => scenario.local.graph.messages(DESK).find((m) => m.subject === subject);

  it('makes a ticket of the mail with the fields given, the history naming the person; 409 after', async () => {
    await deliverAndImport('Karin <karin@customer.example>', 'New.\n', [[30, 'legal new matter']]);
    const { key } = await deskMail('legal new matter');
    const path = `helpdesks/${desk.id}/messages/${key}/resolve`;
    // Checked against the helpdesk's lists like a rule's setField; approving is for flagged mail only.
    for (const [body, status, message] of [
      [{ action: 'createTicket', fields: { assigneeId: 'x' }, by: 'Eva' }, 400, 'no such employee'],
      [{ action: 'createTicket', fields: { statusId: 'gone' }, by: 'Eva' }, 400, 'no such status'],
      [{ action: 'approve', by: 'Eva' }, 409, 'not flagged'],
    ] as const) {
      const refused = await api('POST', path, body);
      expect(refused.status, message).toBe(status);
      expect(refused.json).toMatchObject({ error: { message: expect.stringContaining(message) } });
    }
    expect((await mailRecords(scenario, desk.id)).find((r) => r.id === key)).toMatchObject({
      state: 'keptAside',
      plan: null,
    });

    const created = await api('POST', path, {
      action: 'createTicket',
      fields: { priorityId: 'urgent', assigneeId: 'emp-7' },
      by: 'Eva',
    });
    expect(created.status).toBe(200);
    const ticketNumber = (created.json as { ticketNumber: number }).ticketNumber;
    expect(created.json).toEqual({ key, action: 'createTicket', by: 'Eva', ticketNumber, state: 'done' });
    const everything = await scenario.deps.tickets.ticketWithEverything(desk.id, ticketNumber);
    expect(everything?.ticket).toMatchObject({
      title: 'legal new matter',
      priorityId: 'urgent',
      assignee: { id: 'emp-7', name: 'Eva Expert' },
    });
    expect(everything?.history.find((h) => h.messageKey === key)?.text).toContain(
      'Created from this mail by Eva.',
    );
    expect(source('legal new matter')).toMatchObject({ isRead: true, categories: [] });
    expect((await api('POST', path, { action: 'discard', note: 'x', by: 'Ben' })).status).toBe(409);
    expect(
      (await scenario.deps.tickets.listTickets(desk.id)).filter((t) => t.title === 'legal new matter').length,
    ).toBe(1);
  });
});

/** A helpdesk that moves kept-aside mail to a folder of its own, and has mail flagged as from strangers (R18). */
const REVIEW = 'desk@review.test';
const review: Helpdesk = testHelpdesk('review', REVIEW, {
  mailboxes: [{ id: 'main', userId: REVIEW, rules: [legal] }],
  keepAside: { folder: 'Needs a person' },
});

async function reviewImport(mails: Array<[from: string, subject: string]>) {
  for (const [from, subject] of mails) {
    scenario.local.graph.deliver(REVIEW, await rawMail({ from, to: REVIEW, subject, text: `${subject}.\n` }));
  }
  expect((await api('POST', `helpdesks/${review.id}/import`)).status).toBe(200);
}

async function reviewRecord(subject: string): Promise<MailRecord> {
  const record = (await mailRecords(scenario, review.id)).find((r) => r.subject === subject);
  if (!record) throw new Error(`no record for ${subject}`);
  return record;
}

const reviewSource = (subject: string) =>
  scenario.local.graph.messages(REVIEW).find((m) => m.subject === subject);

const resolveReview = (key: string, body: unknown) =>
  api('POST', `helpdesks/${review.id}/messages/${key}/resolve`, body);

async function reviewTicket(title: string) {
  const ticket = (await scenario.deps.tickets.listTickets(review.id)).find((t) => t.title === title);
  const everything = ticket && (await scenario.deps.tickets.ticketWithEverything(review.id, ticket.number));
  if (!everything) throw new Error(`no ticket ${title}`);
  return everything;
}

describe('POST …/messages/{key}/resolve: the mailbox busy, and the keep-aside folder', () => {
  it('202 while another run holds the mailbox, the decision stored; the next resolve finishes it, out of the keep-aside folder', async () => {
    await seedHelpdesk(scenario, review);
    await reviewImport([['Karin <karin@customer.example>', 'legal in a folder']]);
    const { id: key } = await reviewRecord('legal in a folder');
    expect(reviewSource('legal in a folder')).toMatchObject({
      folder: 'Needs a person',
      categories: [IMPORT_FAILED],
      isRead: false,
    });

    const lease = await scenario.deps.helpdesks.acquireLease(
      { helpdeskId: review.id, mailboxId: 'main' },
      'another run',
      60_000,
    );
    if (!lease) throw new Error('the mailbox is busy');
    const busy = await resolveReview(key, { action: 'createTicket', by: 'Eva' });
    expect(busy.status).toBe(202);
    const ticketNumber = (busy.json as { ticketNumber: number }).ticketNumber;
    expect(busy.json).toEqual({ key, action: 'createTicket', by: 'Eva', ticketNumber, state: 'planned' });
    expect(await reviewRecord('legal in a folder')).toMatchObject({
      state: 'planned',
      plan: { action: 'createTicket', ticketNumber },
    });
    // Back where a run of the mailbox looks, still unread: the run that holds the mailbox, or the next, may find it.
    expect(reviewSource('legal in a folder')).toMatchObject({ folder: 'inbox', isRead: false });
    expect(await scenario.deps.tickets.getTicket(review.id, ticketNumber)).toBeNull();
    await lease.release();

    const finished = await resolveReview(key, { action: 'discard', note: 'too late', by: 'Ben' });
    expect(finished.status).toBe(200);
    expect(finished.json).toEqual({ key, action: 'createTicket', by: 'Eva', ticketNumber, state: 'done' });
    expect((await reviewTicket('legal in a folder')).ticket.number).toBe(ticketNumber);
    expect(reviewSource('legal in a folder')).toMatchObject({
      folder: 'inbox',
      isRead: true,
      categories: [],
    });
    expect((await resolveReview(key, { action: 'discard', note: 'x', by: 'Ben' })).status).toBe(409);
  });
});

describe('POST …/messages/{key}/resolve: flagged mail (R18)', () => {
  let printer: number;
  let other: number;
  const strangers = {
    approve: 'Sam <sam@stranger.example>',
    link: 'Lou <lou@stranger.example>',
    create: 'Cas <cas@stranger.example>',
    discard: 'Dee <dee@stranger.example>',
    crash: 'Cy <cy@stranger.example>',
  };

  beforeAll(async () => {
    await reviewImport([
      ['Karin <karin@customer.example>', 'Printer'],
      ['Karin <karin@customer.example>', 'Other matter'],
    ]);
    printer = (await reviewTicket('Printer')).ticket.number;
    other = (await reviewTicket('Other matter')).ticket.number;
    await reviewImport(
      Object.entries(strangers).map(([what, from]) => [
        from,
        `RE: ${formatTicketReference(printer)} Printer (${what})`,
      ]),
    );
  });

  const flaggedKey = async (what: string) => (await reviewRecord(`RE: [#${printer}] Printer (${what})`)).id;
  const supplementsOf = async (number: number) =>
    (await scenario.deps.tickets.ticketWithEverything(review.id, number))?.supplements ?? [];

  it('each is imported as an internal supplement, flagged and listed', async () => {
    const supplements = await supplementsOf(printer);
    expect(supplements.map((s) => [s.visibleToCustomer, !!s.flagged])).toEqual(
      Object.keys(strangers).map(() => [false, true]),
    );
    const listed = (await allPages(`helpdesks/${review.id}/messages?state=flagged`)).messages;
    expect(listed).toHaveLength(5);
  });

  it('approve: the supplement visible and unflagged, the sender a participant, the history naming the person; 409 after', async () => {
    const key = await flaggedKey('approve');
    const approved = await resolveReview(key, { action: 'approve', note: 'our new contact', by: 'Eva' });
    expect(approved.status).toBe(200);
    expect(approved.json).toEqual({
      key,
      action: 'approve',
      by: 'Eva',
      ticketNumber: printer,
      state: 'done',
    });
    const everything = await reviewTicket('Printer');
    expect(everything.supplements.find((s) => s.source.messageKey === key)).toMatchObject({
      flagged: null,
      visibleToCustomer: true,
    });
    expect(everything.ticket.participants).toContain('sam@stranger.example');
    expect(everything.history.find((h) => h.event === 'mailResolvedByPerson')?.text).toBe(
      'Mail from sam@stranger.example approved by Eva: visible to the customer, the sender a participant. Note: our new contact',
    );
    expect(await reviewRecord(`RE: [#${printer}] Printer (approve)`)).toMatchObject({
      state: 'stored',
      plan: { flagged: null, internal: false },
      resolution: { action: 'approve', by: 'Eva' },
    });
    expect((await resolveReview(key, { action: 'discard', note: 'x', by: 'Ben' })).status).toBe(409);
    const listed = (await allPages(`helpdesks/${review.id}/messages?state=flagged`)).messages;
    expect(listed.map((m) => m.key)).not.toContain(key);
  });

  it('linkToTicket: taken out of its ticket and added to the other, both histories naming the person', async () => {
    const key = await flaggedKey('link');
    const sameTicket = await resolveReview(key, { action: 'linkToTicket', ticketNumber: printer, by: 'Eva' });
    expect(sameTicket.status).toBe(409);
    const linked = await resolveReview(key, { action: 'linkToTicket', ticketNumber: other, by: 'Eva' });
    expect(linked.status).toBe(200);
    expect(linked.json).toMatchObject({ action: 'linkToTicket', ticketNumber: other, state: 'done' });
    expect((await supplementsOf(printer)).map((s) => s.source.messageKey)).not.toContain(key);
    const moved = await reviewTicket('Other matter');
    expect(moved.supplements.find((s) => s.source.messageKey === key)).toMatchObject({ flagged: null });
    expect(moved.history.find((h) => h.messageKey === key)?.text).toContain('Linked to this ticket by Eva.');
    expect(
      (await reviewTicket('Printer')).history.find(
        (h) => h.messageKey === key && h.event === 'mailResolvedByPerson',
      )?.text,
    ).toBe(`Mail from lou@stranger.example taken out of this ticket by Eva: moved to ticket ${other}.`);
    expect(await reviewRecord(`RE: [#${printer}] Printer (link)`)).toMatchObject({
      state: 'stored',
      plan: { action: 'supplement', ticketNumber: other, via: 'person' },
    });
  });

  it('createTicket: a ticket of its own; discard: taken out, the record ignored', async () => {
    const createKey = await flaggedKey('create');
    const created = await resolveReview(createKey, { action: 'createTicket', by: 'Eva' });
    expect(created.status).toBe(200);
    const number = (created.json as { ticketNumber: number }).ticketNumber;
    expect((await reviewTicket(`RE: [#${printer}] Printer (create)`)).ticket.number).toBe(number);

    const discardKey = await flaggedKey('discard');
    const discarded = await resolveReview(discardKey, { action: 'discard', note: 'phishing', by: 'Eva' });
    expect(discarded.status).toBe(200);
    expect(discarded.json).toMatchObject({ action: 'discard', ticketNumber: null, state: 'done' });
    const keys = (await supplementsOf(printer)).map((s) => s.source.messageKey);
    expect(keys).not.toContain(createKey);
    expect(keys).not.toContain(discardKey);
    expect(await reviewRecord(`RE: [#${printer}] Printer (discard)`)).toMatchObject({
      state: 'skipped',
      plan: { action: 'skip', reason: 'discarded by Eva: phishing' },
    });
  });

  it('a crash after the decision is stored: the supplement still there; the next resolve finishes that decision', async () => {
    const key = await flaggedKey('crash');
    await expect(
      resolveMessage(crashingAfterDecision(), {
        helpdeskId: review.id,
        key,
        request: { action: 'linkToTicket', ticketNumber: other, by: 'Eva' },
        importMailbox: () => Promise.reject(new Error('not reached')),
      }),
    ).rejects.toThrow('simulated crash');
    expect(await reviewRecord(`RE: [#${printer}] Printer (crash)`)).toMatchObject({
      state: 'flagged',
      resolution: { action: 'linkToTicket', takenOutOf: printer },
    });
    expect((await supplementsOf(printer)).map((s) => s.source.messageKey)).toContain(key);

    const finished = await resolveReview(key, { action: 'approve', by: 'Ben' });
    expect(finished.status).toBe(200);
    expect(finished.json).toMatchObject({ action: 'linkToTicket', by: 'Eva', ticketNumber: other });
    expect((await supplementsOf(printer)).map((s) => s.source.messageKey)).not.toContain(key);
    expect((await supplementsOf(other)).filter((s) => s.source.messageKey === key)).toHaveLength(1);
    const status = await api('GET', `helpdesks/${review.id}/importer/status`);
    expect(status.json).toMatchObject({ mailboxes: [{ mailboxId: 'main', needsAttention: 0 }] });
  });
});

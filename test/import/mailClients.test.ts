import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoHelpdesk } from '../../local/demoHelpdesk.js';
import { importMailbox } from '../../shared/import/importMailbox.js';
import { previewMail } from '../../shared/import/previewMail.js';
import { testHelpdesk } from '../support/helpdeskFixtures.js';
import {
  type ImportScenario,
  seedHelpdesk,
  startImportScenario,
  testRunOptions,
} from '../support/importScenario.js';
import { pngImage, rawMail } from '../support/mail.js';
import { tinyPdf, tnef } from '../support/tnef.js';

/** Issue 19: mail from clients in other languages and charsets, through the preview and the import. */

let scenario: ImportScenario;

/** A mail as Outlook Express-era clients sent it: UTF-7 subject and body. */
function utf7Mail(to: string): Buffer {
  return Buffer.from(
    [
      'From: Ivan <ivan@customer.example>',
      `To: ${to}`,
      'Subject: =?utf-7?Q?+BB8EQAQ4BD0EQgQ1BEA-_Gr+APwA3w-e?=',
      'Message-ID: <utf7@customer.example>',
      'Date: Mon, 23 Nov 2026 08:00:00 +0000',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-7',
      'Content-Transfer-Encoding: 7bit',
      '',
      '+BB8EQAQ4BD0EQgQ1BEA- +BD0ENQ- +BD8ENQRHBDAEQgQwBDUEQg-.',
      '',
    ].join('\r\n'),
  );
}

/** A Russian Outlook reply to ticket 1: header block, no separator line. */
function russianReply(to: string): Promise<Buffer> {
  return rawMail({
    from: 'Ivan <ivan@customer.example>',
    to,
    subject: 'RE: [#1] Принтер',
    text: 'Спасибо, теперь печатает.\n\nОт: Helpdesk <desk@example.test>\nОтправлено: 23 ноября 2026 г. 9:00\nКому: Ivan <ivan@customer.example>\nТема: [#1] Принтер\n\nСтарый текст уведомления',
    messageId: '<ru-reply@customer.example>',
    inReplyTo: '<utf7@customer.example>',
  });
}

beforeAll(async () => {
  scenario = await startImportScenario();
}, 120_000);

afterAll(async () => {
  await scenario?.local.close();
});

describe('UTF-7 and a Russian Outlook reply', () => {
  it('preview decodes the UTF-7 mail and keeps only the reply of the Russian one', async () => {
    const utf7 = await previewMail(utf7Mail('desk@example.test'), demoHelpdesk());
    expect(utf7.subject).toBe('Принтер Grüße');
    expect(String(utf7.text).trim()).toBe('Принтер не печатает.');
    const reply = await previewMail(await russianReply('desk@example.test'), demoHelpdesk());
    expect(String(reply.replyText).trim()).toBe('Спасибо, теперь печатает.');
  });

  it('the import makes a ticket of the decoded UTF-7 mail and a supplement of the reply only', async () => {
    const userId = 'desk@clients.test';
    await seedHelpdesk(scenario, testHelpdesk('clients', userId));
    scenario.local.graph.deliver(userId, utf7Mail(userId), { receivedDateTime: '2026-11-23T08:00:00Z' });
    scenario.local.graph.deliver(userId, await russianReply(userId), {
      receivedDateTime: '2026-11-23T09:30:00Z',
    });
    const result = await importMailbox(
      scenario.deps,
      { helpdeskId: 'clients', mailboxId: 'main' },
      testRunOptions(),
    );
    expect(result.counts.created).toBe(1);
    const everything = await scenario.deps.tickets.ticketWithEverything('clients', 1);
    expect(everything?.ticket.mailSubject).toBe('Принтер Grüße');
    expect(everything?.ticket.requestText.trim()).toBe('Принтер не печатает.');
    expect(everything?.supplements).toHaveLength(1);
    expect(everything?.supplements[0]?.description.trim()).toBe('Спасибо, теперь печатает.');
    expect(everything?.supplements[0]?.fullText).toContain('Старый текст уведомления');
  });
});

/** Outlook's rich-text mail: no body of its own, everything in winmail.dat. */
function winmailMail(to: string): Promise<Buffer> {
  return rawMail({
    from: 'Karin <karin@customer.example>',
    to,
    subject: 'Printer prints stripes',
    messageId: '<winmail@customer.example>',
    attachments: [
      {
        filename: 'winmail.dat',
        contentType: 'application/ms-tnef',
        content: tnef({
          body: 'The printer prints stripes, see the photos and the quote.',
          files: [
            { filename: 'stripes 1.png', contentType: 'image/png', content: pngImage(3) },
            { filename: 'stripes 2.png', contentType: 'image/png', content: pngImage(4) },
            { filename: 'quote.pdf', contentType: 'application/pdf', content: tinyPdf },
          ],
        }),
      },
    ],
  });
}

describe('winmail.dat with two images and a PDF', () => {
  it('preview lists the files inside as attachments and shows the text inside', async () => {
    const result = await previewMail(await winmailMail('desk@example.test'), demoHelpdesk());
    expect(String(result.text).trim()).toBe('The printer prints stripes, see the photos and the quote.');
    const attachments = result.attachments as Array<{ filename: string; detectedType: string | null }>;
    expect(attachments.map((a) => [a.filename, a.detectedType])).toEqual([
      ['stripes 1.png', 'image/png'],
      ['stripes 2.png', 'image/png'],
      ['quote.pdf', null],
    ]);
  });

  it('the import stores both images on the ticket and lists the PDF', async () => {
    const userId = 'desk@winmail.test';
    await seedHelpdesk(scenario, testHelpdesk('winmail', userId));
    scenario.local.graph.deliver(userId, await winmailMail(userId), {
      receivedDateTime: '2026-11-23T08:00:00Z',
    });
    const result = await importMailbox(
      scenario.deps,
      { helpdeskId: 'winmail', mailboxId: 'main' },
      testRunOptions(),
    );
    expect(result.counts.created).toBe(1);
    const everything = await scenario.deps.tickets.ticketWithEverything('winmail', 1);
    expect(everything?.ticket.requestText.trim()).toBe(
      'The printer prints stripes, see the photos and the quote.',
    );
    expect(everything?.ticket.images.map((image) => [image.filename, image.contentType])).toEqual([
      ['stripes 1.png', 'image/png'],
      ['stripes 2.png', 'image/png'],
    ]);
    expect(JSON.stringify(everything?.history)).toContain('quote.pdf');
    expect(JSON.stringify(everything?.history)).not.toContain('winmail.dat');
  });
});

describe('attachments.keep "all" (seed 004: every file with the case)', () => {
  it('preview shows every file kept with its detected type', async () => {
    const helpdesk = demoHelpdesk();
    helpdesk.importer.attachments.keep = 'all';
    const result = await previewMail(await winmailMail('desk@example.test'), helpdesk);
    const attachments = result.attachments as Array<{
      filename: string;
      detectedType: string;
      kept: boolean;
    }>;
    expect(attachments.map((a) => [a.filename, a.detectedType, a.kept])).toEqual([
      ['stripes 1.png', 'image/png', true],
      ['stripes 2.png', 'image/png', true],
      ['quote.pdf', 'application/pdf', true],
    ]);
  });

  it('the import stores the PDF by content hash and lists it on the ticket', async () => {
    const userId = 'desk@keepall.test';
    await seedHelpdesk(scenario, testHelpdesk('keepall', userId, { attachments: { keep: 'all' } }));
    scenario.local.graph.deliver(userId, await winmailMail(userId), {
      receivedDateTime: '2026-11-23T08:00:00Z',
    });
    const result = await importMailbox(
      scenario.deps,
      { helpdeskId: 'keepall', mailboxId: 'main' },
      testRunOptions(),
    );
    expect(result.counts.created).toBe(1);
    const ticket = await scenario.deps.tickets.getTicket('keepall', 1);
    expect(ticket?.images).toHaveLength(2);
    expect(ticket?.files).toEqual([
      {
        blobName: expect.stringMatching(/^keepall\/1\/[0-9a-f]{64}\.pdf$/),
        detectedType: 'application/pdf',
        contentType: 'application/pdf',
        size: tinyPdf.length,
        sha256: createHash('sha256').update(tinyPdf).digest('hex'),
        filename: 'quote.pdf',
      },
    ]);
    const everything = await scenario.deps.tickets.ticketWithEverything('keepall', 1);
    expect(JSON.stringify(everything?.history)).not.toContain('quote.pdf');
  });
});

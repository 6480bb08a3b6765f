import { randomBytes } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionLocalResources } from '../../local/provision.js';
import { type LocalGraph, startLocalGraph } from '../../local/stack.js';
import { appServices } from '../../shared/app/services.js';
import { readEnvironment } from '../../shared/config/environment.js';
import { importHelpdesk } from '../../shared/import/importHelpdesk.js';
import { createTelemetry } from '../../shared/observability/telemetry.js';
import { testContacts, testHelpdesk } from '../support/helpdeskFixtures.js';
import { pngImage, rawMail } from '../support/mail.js';
import { testEnvironment } from '../support/testEnvironment.js';

const DESK = 'desk@large.test';
const ARCHIVE_DESK = 'desk@archive.test';
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
let local: LocalGraph;

beforeAll(async () => {
  local = await startLocalGraph();
  const env = { ...testEnvironment(), ...local.env };
  Object.assign(process.env, env);
  await provisionLocalResources(readEnvironment(env));
  const deps = appServices().dependencies(quiet);
  await deps.helpdesks.put(testHelpdesk('large', DESK));
  await deps.helpdesks.put(
    testHelpdesk('archive', ARCHIVE_DESK, { attachments: { archiveAttachments: true } }),
  );
  for (const contact of [...testContacts('large'), ...testContacts('archive')])
    await deps.contacts.put(contact);
});

afterAll(async () => {
  await local?.close();
});

function largeMail(to: string, attachment: Buffer) {
  return rawMail({
    from: 'karin@customer.example',
    to,
    subject: 'Database dump',
    text: 'The dump is attached.',
    attachments: [
      { filename: 'dump.bin', content: attachment, contentType: 'application/octet-stream' },
      { filename: 'chart.png', content: pngImage(9), contentType: 'image/png' },
    ],
  });
}

function importNow(helpdeskId: string) {
  return importHelpdesk(
    appServices().dependencies(quiet),
    { helpdeskId },
    { deadline: Date.now() + 120_000, telemetry: createTelemetry(quiet) },
  );
}

describe('a mail with a 30 MB attachment', () => {
  it('is imported without holding the message several times over', async () => {
    const raw = await largeMail(DESK, randomBytes(30 * 1024 * 1024));
    local.graph.deliver(DESK, raw);
    const sizeMb = raw.length / 1024 / 1024;
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    const [result] = await importNow('large');
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    const overMb = (peak - baseline) / 1024 / 1024;
    // This process also runs the Graph emulator, which serves the message from memory over TLS.
    console.log(
      `30 MB attachment: message ${sizeMb.toFixed(1)} MB, peak RSS ${overMb.toFixed(1)} MB over baseline`,
    );

    expect(result?.created).toEqual([1]);
    const ticket = await appServices().dependencies(quiet).tickets.getTicket('large', 1);
    expect(ticket?.images).toHaveLength(1);
    expect(overMb).toBeLessThan(3 * sizeMb);
  }, 180_000);

  it('has every attachment archived, streamed, when the helpdesk asks for it (R12)', async () => {
    const attachment = randomBytes(30 * 1024 * 1024);
    local.graph.deliver(ARCHIVE_DESK, await largeMail(ARCHIVE_DESK, attachment));
    const [result] = await importNow('archive');
    expect(result?.created).toEqual([1]);
    const ticket = await appServices().dependencies(quiet).tickets.getTicket('archive', 1);
    expect(ticket?.source.attachments.map((a) => [a.filename, a.size])).toEqual([
      ['dump.bin', attachment.length],
      ['chart.png', pngImage(9).length],
    ]);
    const env = readEnvironment(process.env);
    const blob = BlobServiceClient.fromConnectionString(env.AzureWebJobsStorage ?? '')
      .getContainerClient(env.RAW_MAIL_CONTAINER)
      .getBlobClient(ticket?.source.attachments[0]?.blobName ?? '');
    expect((await blob.getProperties()).contentLength).toBe(attachment.length);
  }, 180_000);
});

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { BlobServiceClient } from '@azure/storage-blob';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionLocalResources } from '../../local/provision.js';
import { appServices } from '../../shared/app/services.js';
import { readEnvironment } from '../../shared/config/environment.js';
import { importHelpdesk } from '../../shared/import/importHelpdesk.js';
import { createTelemetry } from '../../shared/observability/telemetry.js';
import { repoRoot } from '../support/fixtures.js';
import { testContacts, testHelpdesk } from '../support/helpdeskFixtures.js';
import { pngImage, rawMail } from '../support/mail.js';
import { testEnvironment } from '../support/testEnvironment.js';

const DESK = 'desk@large.test';
const ARCHIVE_DESK = 'desk@archive.test';
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
let emulator: ChildProcess;
let graphEnv: Record<string, string>;

/** The Graph emulator runs in a process of its own, so this process's memory is the importer's alone. */
async function startEmulatorProcess(): Promise<Record<string, string>> {
  emulator = spawn(
    path.join(repoRoot, 'node_modules', '.bin', 'tsx'),
    [path.join(repoRoot, 'local', 'graphEmulatorProcess.ts')],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: emulator.stdout as NodeJS.ReadableStream });
  for await (const line of lines) return JSON.parse(line) as Record<string, string>;
  throw new Error('the Graph emulator process ended before it started');
}

/** Delivers through the emulator's control API, as the bench does. */
async function deliver(userId: string, raw: Buffer): Promise<void> {
  const dispatcher = new Agent({ connect: { ca: readFileSync(graphEnv.GRAPH_CA_CERT_PATH ?? '', 'utf8') } });
  const response = await fetch(
    `${graphEnv.GRAPH_BASE_URL}/_emulator/mailboxes/${encodeURIComponent(userId)}/messages`,
    {
      method: 'POST',
      body: raw,
      dispatcher,
    },
  );
  expect(response.status).toBe(201);
  await dispatcher.close();
}

beforeAll(async () => {
  graphEnv = await startEmulatorProcess();
  const env = { ...testEnvironment(), ...graphEnv };
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

afterAll(() => {
  emulator?.stdin?.end();
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
    await deliver(DESK, raw);
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
    await deliver(ARCHIVE_DESK, await largeMail(ARCHIVE_DESK, attachment));
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

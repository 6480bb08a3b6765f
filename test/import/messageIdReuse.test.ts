import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Helpdesk } from '../../shared/helpdesk/settings.js';
import { mailboxKey, messageKey } from '../../shared/import/mailRecord.js';
import { runTimerAndDrainQueue } from '../support/functionRuns.js';
import { testHelpdesk } from '../support/helpdeskFixtures.js';
import {
  type ImportScenario,
  mailRecords,
  seedHelpdesk,
  startImportScenario,
} from '../support/importScenario.js';
import { rawMail } from '../support/mail.js';

/**
 * Two different mails under one Message-ID (some mailers and scripts reuse one) are two mails; one mail
 * delivered twice is one. Through the whole import: timer, queue, Graph emulator, Cosmos DB.
 */

/** The same mail as it arrives along another path: one more transport header on top. */
function viaAnotherPath(raw: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(
      'Received: from relay2.customer.example (192.0.2.77) by mx.reuse.test; Mon, 23 Nov 2026 08:01:00 +0000\r\n',
    ),
    raw,
  ]);
}

const REUSED = '<notification@scanner.customer.example>';

let scenario: ImportScenario;

beforeAll(async () => {
  scenario = await startImportScenario();
});

afterAll(async () => {
  await scenario?.local.close();
});

/**
 * Both ways the import meets a mail: received before the mailbox's last run ended, its record is read
 * first; received after every run, it is taken to be new and its record created first, a conflict there
 * sending it down the same path.
 */
describe.each([
  { path: 'record read first', id: 'reuse', receivedFrom: '2026-11-23T08:00:00Z' },
  { path: 'record created first', id: 'reuse-new', receivedFrom: '2099-11-23T08:00:00Z' },
])('Message-ID reuse ($path)', ({ id, receivedFrom }) => {
  const DESK = `desk@${id}.test`;
  const helpdesk: Helpdesk = testHelpdesk(id, DESK);
  let minute = 0;

  function deliver(raw: Buffer): string {
    minute += 1;
    return scenario.local.graph.deliver(DESK, raw, {
      receivedDateTime: new Date(Date.parse(receivedFrom) + minute * 60_000).toISOString(),
    });
  }

  function scannerMail(subject: string, text: string): Promise<Buffer> {
    return rawMail({
      from: 'Scanner <scanner@customer.example>',
      to: DESK,
      subject,
      text,
      messageId: REUSED,
    });
  }

  async function ticketTitles(): Promise<string[]> {
    return (await scenario.deps.tickets.listTickets(helpdesk.id)).map((t) => t.title).sort();
  }

  let first: Buffer;
  let second: Buffer;

  beforeAll(async () => {
    await seedHelpdesk(scenario, helpdesk);
    first = await scannerMail('Scan 0001', 'Scanned document 1.\n');
    second = await scannerMail('Scan 0002', 'Scanned document 2.\n');
    deliver(first);
    await runTimerAndDrainQueue(scenario.env);
    deliver(second);
    await runTimerAndDrainQueue(scenario.env);
  });

  it('attack: a different mail under a known Message-ID is imported (under a derived key), not marked read unseen', async () => {
    expect(await ticketTitles()).toEqual(['Scan 0001', 'Scan 0002']);
    const records = await mailRecords(scenario, helpdesk.id);
    expect(records).toHaveLength(2);
    expect(records[0]?.id).toBe(messageKey(REUSED));
    expect(records[1]?.id).not.toBe(messageKey(REUSED));
    expect(records.every((r) => r.state === 'stored' && r.internetMessageId === REUSED)).toBe(true);
    expect(new Set(records.map((r) => r.fingerprint)).size).toBe(2);
    expect(scenario.local.graph.messages(DESK, 'inbox').every((m) => m.isRead)).toBe(true);
  });

  it('a true duplicate delivery of either mail, along another path too, is still imported once', async () => {
    deliver(first);
    deliver(viaAnotherPath(second));
    deliver(viaAnotherPath(first));
    await runTimerAndDrainQueue(scenario.env);
    expect(await ticketTitles()).toEqual(['Scan 0001', 'Scan 0002']);
    expect(await mailRecords(scenario, helpdesk.id)).toHaveLength(2);
    const inbox = scenario.local.graph.messages(DESK, 'inbox');
    expect(inbox).toHaveLength(5);
    expect(inbox.every((m) => m.isRead)).toBe(true);
  });

  it('a third different mail under the same Message-ID gets a key of its own', async () => {
    deliver(await scannerMail('Scan 0003', 'Scanned document 3.\n'));
    await runTimerAndDrainQueue(scenario.env);
    expect(await ticketTitles()).toEqual(['Scan 0001', 'Scan 0002', 'Scan 0003']);
    const keys = (await mailRecords(scenario, helpdesk.id)).map((r) => r.id);
    expect(new Set(keys).size).toBe(3);
    const base = await scenario.deps.records.get(mailboxKey(helpdesk.id, 'main'), messageKey(REUSED));
    expect(base?.record.plan).toMatchObject({ action: 'createTicket' });
  });

  it('a broken copy under the imported mail’s Message-ID is kept aside on its own, the imported mail untouched', async () => {
    const depth = 40;
    const opening = Array.from(
      { length: depth },
      (_, level) => `--b${level}\r\nContent-Type: multipart/mixed; boundary=b${level + 1}\r\n\r\n`,
    ).join('');
    deliver(
      Buffer.from(
        `Message-ID: ${REUSED}\r\nFrom: scanner@customer.example\r\nTo: ${DESK}\r\nSubject: Deeply nested\r\n` +
          `Content-Type: multipart/mixed; boundary=b0\r\n\r\n${opening}--b${depth}--\r\n`,
      ),
    );
    await runTimerAndDrainQueue(scenario.env);
    const base = await scenario.deps.records.get(mailboxKey(helpdesk.id, 'main'), messageKey(REUSED));
    expect(base?.record.state).toBe('stored');
    const records = await mailRecords(scenario, helpdesk.id);
    expect(records.filter((r) => r.state === 'keptAside')).toHaveLength(1);
    expect(await ticketTitles()).toEqual(['Scan 0001', 'Scan 0002', 'Scan 0003']);
  });
});

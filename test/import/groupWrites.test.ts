import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportDependencies } from '../../shared/import/dependencies.js';
import { importMailbox } from '../../shared/import/importMailbox.js';
import type { MailRecord } from '../../shared/import/mailRecord.js';
import {
  type ImportScenario,
  mailRecords,
  seedDesk,
  startImportScenario,
  testRunOptions,
} from '../support/importScenario.js';
import { rawMail } from '../support/mail.js';

/**
 * Issue 18: the thread entries and the `stored` records of a post-processing group (up to 20 mails) are
 * written with one request each, just before the group is post-processed at Graph.
 */

let scenario: ImportScenario;

beforeAll(async () => {
  scenario = await startImportScenario();
}, 120_000);

afterAll(async () => {
  await scenario?.local.close();
});

async function deliver(
  userId: string,
  minute: number,
  mail: { subject: string; messageId: string; inReplyTo?: string; from?: string },
) {
  const raw = await rawMail({
    from: mail.from ?? 'Karin Klant <karin@customer.example>',
    to: userId,
    subject: mail.subject,
    text: 'Hallo.',
    messageId: mail.messageId,
    inReplyTo: mail.inReplyTo,
  });
  scenario.local.graph.deliver(userId, raw, { receivedDateTime: `2026-12-05T10:${minute}:00Z` });
}

/** The app's dependencies, counting record writes one by one and by group. */
function counting() {
  const writes = { single: 0, groups: [] as number[] };
  const records = Object.create(scenario.deps.records) as ImportDependencies['records'];
  records.replace = (record: MailRecord, etag: string) => {
    if (record.state === 'stored') writes.single++;
    return scenario.deps.records.replace(record, etag);
  };
  records.replaceGroup = (entries) => {
    writes.groups.push(entries.length);
    return scenario.deps.records.replaceGroup(entries);
  };
  return { deps: { ...scenario.deps, records }, writes };
}

describe('the writes of a post-processing group', () => {
  it('marks a group of mails stored with one write, and 25 mails in two groups', async () => {
    const { ref, userId } = await seedDesk(scenario, 'groups');
    for (let index = 0; index < 25; index++) {
      await deliver(userId, 10 + index, {
        subject: `Question ${index}`,
        messageId: `<q${index}@customer.example>`,
      });
    }
    const { deps, writes } = counting();

    const result = await importMailbox(deps, ref, testRunOptions());

    expect(result.counts.created).toBe(25);
    expect(writes).toEqual({ single: 0, groups: [20, 5] });
    const records = await mailRecords(scenario, 'groups');
    expect(records.every((record) => record.state === 'stored')).toBe(true);
  });

  it('threads a reply to a mail of the same group by its In-Reply-To before the group is written', async () => {
    const { ref, userId } = await seedDesk(scenario, 'samegroup');
    await deliver(userId, 10, { subject: 'Printer broken', messageId: '<request@customer.example>' });
    // Another person of the customer answers without the ticket number: only the thread relates it.
    await deliver(userId, 11, {
      subject: 'Re: Printer broken',
      messageId: '<answer@customer.example>',
      inReplyTo: '<request@customer.example>',
      from: 'Cees Collega <cees@customer.example>',
    });

    const result = await importMailbox(scenario.deps, ref, testRunOptions());

    expect(result.counts).toMatchObject({ created: 1, supplemented: 1 });
    expect(result.supplemented).toEqual(result.created);
    // Both entries are in the thread index afterwards.
    const ticketNumber = result.created[0];
    for (const messageId of ['<request@customer.example>', '<answer@customer.example>']) {
      expect(await scenario.deps.tickets.ticketForMessageIds('samegroup', [messageId])).toBe(ticketNumber);
    }
  });

  it('reports a mail whose record could not be written as failed, and the next run completes it once', async () => {
    const { ref, userId } = await seedDesk(scenario, 'groupdown');
    await deliver(userId, 10, { subject: 'One', messageId: '<one@customer.example>' });
    await deliver(userId, 11, { subject: 'Two', messageId: '<two@customer.example>' });
    const records = Object.create(scenario.deps.records) as ImportDependencies['records'];
    records.replaceGroup = async () => {
      throw new Error('Service unavailable');
    };
    records.replace = async (record, etag) => {
      if (record.subject === 'Two' && record.state === 'stored') throw new Error('Service unavailable');
      return scenario.deps.records.replace(record, etag);
    };

    const first = await importMailbox({ ...scenario.deps, records }, ref, testRunOptions());

    expect(first.counts).toMatchObject({ created: 1, failed: 1 });
    expect(
      (await mailRecords(scenario, 'groupdown')).map((record) => [record.subject, record.state]),
    ).toEqual([
      ['One', 'stored'],
      ['Two', 'planned'],
    ]);
    const second = await importMailbox(scenario.deps, ref, testRunOptions());
    expect(second.counts).toMatchObject({ created: 1, failed: 0 });
    const tickets = await scenario.deps.tickets.listTickets('groupdown');
    expect(tickets).toHaveLength(2);
  });
});
